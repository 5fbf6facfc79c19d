//! `oibus plugins new NAME --south|--north`: a ready plugin crate that builds and loads unchanged,
//! for a vendor to fill in.

use anyhow::{Context as _, bail};
use std::{fs, path::Path};

/// Which kind of connector the crate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A South with a last-point query.
    South,
    /// A North that handles values.
    North,
}

/// Where the API crate is when none is given: the sources this `oibus` was built from, if they
/// are still there (a developer's machine); else the crate's version.
fn default_api_dependency() -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oibus-plugin-api");
    match here.canonicalize() {
        Ok(p) if p.join("Cargo.toml").is_file() => {
            format!("{{ path = {:?} }}", p.display().to_string())
        }
        _ => format!("\"{}\"", oibus_plugin_api::API_VERSION),
    }
}

/// `acme-gauge` → `AcmeGauge`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Writes the crate `dir/name`; `api` is the path of `oibus-plugin-api` (default: see
/// [`default_api_dependency`]).
pub fn new(name: &str, kind: Kind, dir: &Path, api: Option<&Path>) -> anyhow::Result<i32> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!(
            "{name:?} is not a plugin name: lower-case letters, digits and '-', starting with a \
             letter (it becomes the crate's and the plugin's id), for example \"acme-gauge\""
        );
    }
    let Some((vendor, _)) = name.split_once('-') else {
        eprintln!(
            "warning: {name:?} has no vendor prefix: plugin and connector type ids are global in \
             a gateway, so a name such as \"acme-{name}\" avoids clashes with other vendors"
        );
        return write(name, name, kind, dir, api);
    };
    if vendor == "oibus" {
        eprintln!(
            "warning: the \"oibus-\" prefix is the project's own; prefix {name:?} with your name"
        );
    }
    write(name, vendor, kind, dir, api)
}

fn write(
    name: &str,
    vendor: &str,
    kind: Kind,
    dir: &Path,
    api: Option<&Path>,
) -> anyhow::Result<i32> {
    let root = dir.join(name);
    if root.exists() {
        bail!("{} exists already: nothing was written", root.display());
    }
    let api = match api {
        Some(p) => {
            let p = p
                .canonicalize()
                .with_context(|| format!("--api {}: no such folder", p.display()))?;
            format!("{{ path = {:?} }}", p.display().to_string())
        }
        None => default_api_dependency(),
    };
    let (template, what) = match kind {
        Kind::South => (SOUTH, "South"),
        Kind::North => (NORTH, "North"),
    };
    let peer = match kind {
        Kind::South => "device",
        Kind::North => "destination",
    };
    let fill = |text: &str| {
        text.replace("{{SETTINGS}}", SETTINGS)
            .replace("{{PEER}}", peer)
            .replace("{{NAME}}", name)
            .replace("{{TYPE}}", &type_name(name))
            .replace("{{VENDOR}}", vendor)
            .replace("{{API}}", &api)
            .replace("{{KIND}}", what)
            .replace("{{LIB}}", &name.replace('-', "_"))
    };
    fs::create_dir_all(root.join("src"))
        .with_context(|| format!("cannot create {}", root.display()))?;
    fs::write(root.join("Cargo.toml"), fill(CARGO_TOML))?;
    fs::write(root.join("src/lib.rs"), fill(template))?;
    fs::write(root.join("README.md"), fill(README))?;
    fs::write(root.join(".gitignore"), "/target\n")?;
    fs::create_dir_all(root.join(".cargo"))
        .with_context(|| format!("cannot create {}", root.join(".cargo").display()))?;
    fs::write(root.join(".cargo/config.toml"), CARGO_CONFIG)?;
    println!(
        "{}: a {what} plugin crate. Build it with `cargo build --release` there, copy \
         target/release/lib{}.so into a plugins folder and check it with `oibus plugins list`; \
         its README builds it for Linux ARM64 and Windows too.",
        root.display(),
        name.replace('-', "_")
    );
    Ok(0)
}

/// The settings type both templates start from; `{{PEER}}` is what the connector talks to.
const SETTINGS: &str = r#"/// Settings of a `{{NAME}}` connector.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Settings {
    /// Address of the {{PEER}}.
    #[serde(default = "default_address")]
    pub address: String,
}

fn default_address() -> String {
    "127.0.0.1".into()
}
"#;

const CARGO_TOML: &str = r#"[package]
name = "{{NAME}}"
version = "0.1.0"
edition = "2024"
rust-version = "1.85"
publish = false

[lib]
# cdylib: the plugin file the engine loads (`cargo test` runs the unit tests of src/ with it
# alone). Add "rlib" for integration tests in tests/ or doc tests.
crate-type = ["cdylib"]

[dependencies]
oibus-plugin-api = {{API}}

# Its own workspace, even inside another project's folder.
[workspace]

# Plugins must unwind on a panic (the SDK turns it into an error), never abort. The file shipped
# has no debug sections (~2 MB instead of ~20 MB; symbols stay, so backtraces name functions):
# `cargo build --profile release-debug` keeps file and line numbers.
[profile.release]
panic = "unwind"
debug = false
strip = "debuginfo"

[profile.release-debug]
inherits = "release"
debug = "line-tables-only"
strip = "none"
"#;

/// The cross linkers, for the builds of every platform from one Linux machine (README).
const CARGO_CONFIG: &str = r#"# The linker of each platform this crate is built for from Linux that Rust does not find on its
# own (see README.md, "Every platform"). Windows' (x86_64-w64-mingw32-gcc, package
# gcc-mingw-w64-x86-64) is found by its name.
[target.aarch64-unknown-linux-gnu]
linker = "aarch64-linux-gnu-gcc"
"#;

const README: &str = r#"# {{NAME}}

An oibus-rs {{KIND}} connector plugin (connector type `{{NAME}}`), made by `oibus plugins new`.

```sh
cargo test                # the unit test with the SDK's test host (a debug build)
cargo build               # target/debug/lib{{LIB}}.so, to try in a plugins folder
cp target/debug/lib{{LIB}}.so /path/to/plugins/
oibus plugins list --dir /path/to/plugins --data /path/to/oibus-data
```

`cargo build --release` makes the file you ship (target/release/), once it works.

Fill in `src/lib.rs`: the settings (every field documented: the doc comments become the JSON
Schema the gateway shows), then the calls to your device or destination. The vendor guide,
`docs/writing-a-connector.md` of oibus-rs, says what each call must do, and how to sign the file
you ship (`oibus plugins keygen` and `sign`).

## Every platform

Gateways run on Linux x86-64, Linux ARM64 and Windows; build and sign one file for each from
this Linux machine (`.cargo/config.toml` names the ARM64 linker):

```sh
# Once: the Rust targets and the cross linkers.
rustup target add aarch64-unknown-linux-gnu x86_64-pc-windows-gnu
sudo apt-get install gcc-aarch64-linux-gnu gcc-mingw-w64-x86-64

# At each release: one file per platform, each signed (a signature covers one file's bytes).
cargo build --release                                     # target/release/lib{{LIB}}.so
cargo build --release --target aarch64-unknown-linux-gnu  # target/aarch64-unknown-linux-gnu/release/lib{{LIB}}.so
cargo build --release --target x86_64-pc-windows-gnu      # target/x86_64-pc-windows-gnu/release/{{LIB}}.dll
for f in target/release/lib{{LIB}}.so \
         target/aarch64-unknown-linux-gnu/release/lib{{LIB}}.so \
         target/x86_64-pc-windows-gnu/release/{{LIB}}.dll; do
    oibus plugins sign "$f" --key keys/{{VENDOR}}.key
done
```

Ship one folder per platform (`linux-x86_64/`, `linux-arm64/`, `windows-x86_64/`), each with
its file and its `.minisig`: the plant drops the folder's two files into its gateway's plugins
folder; an engine refuses a file of another platform with one line that says which.
"#;

const SOUTH: &str = r#"//! `{{NAME}}`: a South connector that reads items on a schedule. Replace the example reading in
//! `last_point_query` with your device's.

use oibus_plugin_api::prelude::*;

{{SETTINGS}}
/// Settings of one item.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ItemSettings {
    /// The value this example reads for the item (replace it with the item's address).
    #[serde(default)]
    pub value: f64,
}

/// The connector.
pub struct {{TYPE}} {
    settings: Settings,
    ctx: Context,
}

impl Connector for {{TYPE}} {
    type Settings = Settings;

    fn new(settings: Settings, ctx: Context) -> Result<Self> {
        // Nothing connects here: `connect` does.
        Ok(Self { settings, ctx })
    }

    async fn connect(&mut self) -> Result<()> {
        tracing::info!("connected to {}", self.settings.address);
        Ok(())
    }
}

impl South for {{TYPE}} {
    type ItemSettings = ItemSettings;
}

impl QueriesLastPoint for {{TYPE}} {
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let now = Timestamp::now();
        let values = items
            .iter()
            .map(|item| OibusValue::new(item.name.as_str(), now, item.settings.value))
            .collect();
        // Returns once the engine has the values durably: only then acknowledge at the source.
        self.ctx.add_values(values).await
    }
}

/// The plugin: its connector types. A second type in this crate is another struct implementing
/// `Connector` (and its capabilities), declared with one more `.connector(…)` below, under a
/// type id of its own with your prefix (`{{VENDOR}}-…`).
fn plugin() -> Plugin {
    Plugin::new("{{TYPE}}", "{{VENDOR}}")
        .description("{{NAME}}: describe what it reads")
        .connector(
            ConnectorType::<{{TYPE}}>::south("{{NAME}}", "{{TYPE}}")
                .description("Reads items on a schedule")
                .queries_last_point(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::sdk::testing::TestHost;

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn every_item_is_read_once_per_query() {
        let (ctx, recorded) = TestHost::new(std::env::temp_dir()).context("test");
        let settings = Settings {
            address: default_address(),
        };
        let mut south = {{TYPE}}::new(settings, ctx).unwrap();
        let item = SouthItem {
            name: "level".into(),
            enabled: true,
            scan_mode: "every-second".into(),
            settings: ItemSettings { value: 4.5 },
        };
        south.last_point_query(&[item]).await.unwrap();
        let values = recorded.values();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].point_id.as_str(), "level");
        assert_eq!(values[0].value, DataValue::Float(4.5));
    }
}
"#;

const NORTH: &str = r#"//! `{{NAME}}`: a North connector that sends values to a destination. Replace the example in
//! `handle_values` with your destination's client.

use oibus_plugin_api::prelude::*;

{{SETTINGS}}
/// The connector.
pub struct {{TYPE}} {
    settings: Settings,
    sent: u64,
}

impl Connector for {{TYPE}} {
    type Settings = Settings;

    fn new(settings: Settings, _ctx: Context) -> Result<Self> {
        // Nothing connects here: `connect` does.
        Ok(Self { settings, sent: 0 })
    }

    async fn connect(&mut self) -> Result<()> {
        tracing::info!("connected to {}", self.settings.address);
        Ok(())
    }
}

impl HandlesValues for {{TYPE}} {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        // Return Ok only once the destination has the values: the engine then forgets them.
        // A lost connection: PluginError::connection_lost; a value it will never take:
        // PluginError::permanent; anything else: PluginError::transient (retried).
        self.sent += values.len() as u64;
        tracing::debug!("{} values sent to {}", values.len(), self.settings.address);
        Ok(())
    }
}

/// The plugin: its connector types. A second type in this crate is another struct implementing
/// `Connector` (and its capabilities), declared with one more `.connector(…)` below, under a
/// type id of its own with your prefix (`{{VENDOR}}-…`).
fn plugin() -> Plugin {
    Plugin::new("{{TYPE}}", "{{VENDOR}}")
        .description("{{NAME}}: describe where it sends")
        .connector(
            ConnectorType::<{{TYPE}}>::north("{{NAME}}", "{{TYPE}}")
                .description("Sends values")
                .handles_values(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::sdk::testing::TestHost;

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn a_batch_is_sent_whole() {
        let (ctx, _recorded) = TestHost::new(std::env::temp_dir()).context("test");
        let settings = Settings {
            address: default_address(),
        };
        let mut north = {{TYPE}}::new(settings, ctx).unwrap();
        let values = vec![OibusValue::new("p", Timestamp::now(), 1.0); 3];
        north.handle_values(values).await.unwrap();
        assert_eq!(north.sent, 3);
    }
}
"#;

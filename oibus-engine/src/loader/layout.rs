//! abi_stable's layout check of a library's root module, in the direction of the plugin-API
//! rule.
//!
//! abi_stable accepts a library whose prefix types (the root module, the vtables of the connector
//! and of the host context) are as long as the loader's or longer: a library built against a
//! newer interface than the loader's. The plugin API promises the opposite: a plugin built
//! against API `1.m` loads in every host `1.n` with `n >= m` (checked before this, from the
//! declaration). So the check runs the other way round: the plugin's layout is the interface and
//! the host's the implementation. Every type must then be the same on both sides except that the
//! host's prefix types may have more fields, the ones appended by later minors. At run time each
//! prefix-type access is checked against the fields the vtable really has: a function a plugin
//! lacks runs its default body (`not-supported`), and an older plugin never sees the host's newer
//! functions.

use abi_stable::{
    StableAbi, abi_stability::abi_checking::check_layout_compatibility, library::LibHeader,
};
use oibus_plugin_api::ffi::PluginModuleRef;

/// Checks that the root module of `header` fits this host. `Err` is abi_stable's diagnosis,
/// summarised to the types and counts at fault.
pub fn check(header: &LibHeader) -> Result<(), String> {
    let Some(plugin) = header.layout() else {
        return Err("the library does not record the layout of its root module".into());
    };
    check_layout_compatibility(plugin, <PluginModuleRef as StableAbi>::LAYOUT)
        .map_err(|e| summarise(&e.to_string()))
}

/// The errors of abi_stable's report (which runs to a thousand lines of layouts), each with the
/// type it was found in: `VTable in oibus_plugin_api::ffi::host::FfiHost_trait: too many fields
/// (expected 11, found 12)`.
fn summarise(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let mut found = Vec::new();
    let mut at = String::new();
    for (i, line) in lines.iter().enumerate() {
        if *line == "Layout of expected type:" {
            let field = |prefix: &str| {
                lines[i + 1..]
                    .iter()
                    .take(6)
                    .find_map(|l| l.strip_prefix(prefix))
                    .unwrap_or("?")
                    .trim()
                    .to_string()
            };
            let module = field("line:");
            let module = module.split("mod:").nth(1).unwrap_or(&module).to_string();
            at = format!("{} in {module}", field("type:"));
        }
        if let Some(error) = line.strip_prefix("Error:") {
            let value = |label: &str| {
                lines[i + 1..]
                    .iter()
                    .position(|l| *l == label)
                    .and_then(|p| lines.get(i + 2 + p))
                    .copied()
                    .unwrap_or("?")
            };
            found.push(format!(
                "{at}: {} (expected {}, found {})",
                error.trim(),
                value("Expected:"),
                value("Found:")
            ));
        }
    }
    if found.is_empty() {
        return lines
            .iter()
            .filter(|l| !l.is_empty())
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" / ");
    }
    found.join("; ")
}

#[cfg(test)]
mod tests {
    use super::summarise;

    #[test]
    fn a_report_is_summarised_to_its_errors_and_their_types() {
        let report = "Compared <this>:\n  --- Type Layout ---\n  type:PrefixRef\n\
            1 error(s)inside:\n    <other>\nLayout of expected type:\n    --- Type Layout ---\n\
            \x20   type:VTable\n    size:80 align:8\n    package:'oibus-plugin-api' version:'1.0.0'\n\
            \x20   line:34 mod:oibus_plugin_api::ffi::host::FfiHost_trait\n    data:\n\
            Layout of found type:\n    type:VTable\nError:too many fields\nExpected:\n    11\n\
            Found:\n    12\n";
        assert_eq!(
            summarise(report),
            "VTable in oibus_plugin_api::ffi::host::FfiHost_trait: too many fields (expected 11, found 12)"
        );
        assert_eq!(summarise("a\n\nb\nc\nd"), "a / b / c");
    }
}

//! `oibus plugins keygen | sign | verify`: the vendor's side of signed plugins, in minisign's
//! formats (a vendor may as well use the `minisign` tool itself; the engine only verifies).

use anyhow::{Context as _, bail};
use oibus_engine::loader::{Signer, Trust, inspect, trust, trust::TrustedKey};
use std::{
    fs,
    path::{Path, PathBuf},
};

/// The environment variable a secret key's password is read from (else it is asked for).
pub const PASSWORD_ENV: &str = "OIBUS_SIGNING_PASSWORD";

fn password() -> Option<String> {
    std::env::var(PASSWORD_ENV).ok()
}

fn write_new(path: &Path, text: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let open = if private {
        oibus_platform::private::create_file(path, oibus_platform::private::Existing::Refuse)
    } else {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = open.with_context(|| {
        format!(
            "cannot create {} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(text)?;
    Ok(file.sync_all()?)
}

/// Writes `<dir>/<name>.pub` and `<dir>/<name>.key` (mode 0600). The secret key is encrypted with
/// the password of `OIBUS_SIGNING_PASSWORD`, else one asked for, unless `no_password`.
pub fn keygen(dir: &Path, name: &str, no_password: bool) -> anyhow::Result<i32> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (public, secret) = (
        dir.join(format!("{name}.pub")),
        dir.join(format!("{name}.key")),
    );
    if public.exists() || secret.exists() {
        bail!(
            "{} or {} exists already: an existing key is never overwritten",
            public.display(),
            secret.display()
        );
    }
    let pair = if no_password {
        minisign::KeyPair::generate_unencrypted_keypair()
    } else {
        minisign::KeyPair::generate_encrypted_keypair(password())
    }
    .map_err(|e| anyhow::anyhow!("cannot generate a key pair: {e}"))?;
    let pk_text = pair
        .pk
        .to_box()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_string();
    let sk_text = pair
        .sk
        .to_box(Some(&format!("oibus plugin signing key {name}")))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_string();
    write_new(&secret, sk_text.as_bytes(), true)?;
    write_new(&public, pk_text.as_bytes(), false)?;
    let id =
        TrustedKey::parse(&pk_text, &public.display().to_string()).map_err(anyhow::Error::msg)?;
    println!("key id {}", id.id);
    println!(
        "public key: {} (give it to the gateways' operators: <data>/trusted-keys/)",
        public.display()
    );
    println!("secret key: {} (keep it private)", secret.display());
    Ok(0)
}

fn secret_key(path: &Path) -> anyhow::Result<minisign::SecretKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret key {}", path.display()))?;
    let parse = || minisign::SecretKeyBox::from_string(&text);
    let bad = |e: minisign::PError| anyhow::anyhow!("{}: {e}", path.display());
    if let Ok(sk) = parse().map_err(bad)?.into_unencrypted_secret_key() {
        return Ok(sk);
    }
    parse()
        .map_err(bad)?
        .into_secret_key(password())
        .map_err(bad)
}

/// Signs `file` with the secret key `key`: writes `<file>.minisig`, whose trusted (signed) comment
/// names the plugin, its version and the file.
pub fn sign(file: &Path, key: &Path) -> anyhow::Result<i32> {
    let declaration = inspect::read_declaration_file_any_platform(file)?;
    let sk = secret_key(key)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let comment = format!(
        "oibus plugin {} {} file {name} timestamp {}",
        declaration.plugin_id(),
        declaration.plugin_version(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let content =
        fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let signature = minisign::sign(None, &sk, content, Some(&comment), None)
        .map_err(|e| anyhow::anyhow!("cannot sign {}: {e}", file.display()))?;
    let out = trust::signature_file(file);
    fs::write(&out, signature.into_string())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}: signed ({comment})", out.display());
    Ok(0)
}

/// Verifies `file` against the public keys `keys` (files) and those of `<data>/trusted-keys`:
/// exit code 0 when a trusted key signed exactly these bytes, 1 otherwise.
pub fn verify(file: &Path, keys: &[PathBuf], data: Option<&Path>) -> anyhow::Result<i32> {
    let mut inline = Vec::new();
    for k in keys {
        inline.push(fs::read_to_string(k).with_context(|| format!("cannot read {}", k.display()))?);
    }
    let folder = data.map(|d| d.join("trusted-keys"));
    let trust = Trust::load(
        oibus_engine::loader::SignaturePolicy::Require,
        folder.as_deref(),
        &inline,
    )
    .map_err(anyhow::Error::msg)?;
    if trust.keys().is_empty() {
        bail!("no public key to verify with: give --key FILE.pub or --data with trusted-keys/");
    }
    match trust.check(file, file) {
        Ok(Signer::Trusted { key_id, comment }) => {
            println!(
                "{}: good signature by key {key_id} ({comment})",
                file.display()
            );
            Ok(0)
        }
        Ok(other) => {
            println!("{}: {}", file.display(), other.short());
            Ok(1)
        }
        Err(e) => {
            println!("{e}");
            Ok(1)
        }
    }
}

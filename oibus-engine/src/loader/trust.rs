//! Signed plugins: the signature policy, the trusted public keys, and the check of a file's
//! detached minisign signature (`<file>.minisig`, ed25519 over the file's BLAKE2b-512 hash).
//!
//! The check runs on the shadow copy that will be loaded, so the bytes verified are the bytes the
//! system loader opens: nothing can change between the check and the use.

use super::error::LoadError;
use base64::Engine as _;
use minisign_verify::{PublicKey, Signature};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::{
    fs,
    io::Read as _,
    path::{Path, PathBuf},
};

/// What the engine does with plugin files that are not signed by a trusted key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignaturePolicy {
    /// Only files signed by a trusted key load.
    Require,
    /// Unsigned files and files signed by an unknown key load with a warning (their first load
    /// runs in a throwaway process); a signature that does not verify is always refused.
    #[default]
    Warn,
    /// Signatures are not looked at.
    Off,
}

/// Who signed a loaded plugin file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "signature", rename_all = "kebab-case")]
pub enum Signer {
    /// Signed by a trusted key; the signature verifies on the loaded bytes.
    Trusted {
        /// The key id (16 hex digits, as minisign prints it).
        key_id: String,
        /// The signature's trusted comment (signed with the file).
        comment: String,
    },
    /// Signed by a key that is not in the trust store (allowed by the `warn` policy).
    UnknownKey {
        /// The key id.
        key_id: String,
    },
    /// No signature beside the file (allowed by the `warn` policy).
    Unsigned,
    /// The policy is `off`.
    NotChecked,
}

impl Signer {
    /// Whether the file is signed by a trusted key.
    pub fn is_trusted(&self) -> bool {
        matches!(self, Self::Trusted { .. })
    }

    /// One word or two for tables: the key id, `unsigned`, `unknown key X`, `-`.
    pub fn short(&self) -> String {
        match self {
            Self::Trusted { key_id, .. } => key_id.clone(),
            Self::UnknownKey { key_id } => format!("untrusted {key_id}"),
            Self::Unsigned => "unsigned".into(),
            Self::NotChecked => "-".into(),
        }
    }
}

/// One trusted public key.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// Its key id.
    pub id: String,
    /// Where it was read from (a file, or the configuration).
    pub source: String,
    key: PublicKey,
}

/// The signature policy and the trusted keys.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The policy.
    pub policy: SignaturePolicy,
    keys: Vec<TrustedKey>,
}

/// The file a plugin's signature is read from.
pub fn signature_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".minisig");
    PathBuf::from(name)
}

/// The key id of a minisign public key or signature: bytes 2..10 of its binary form, shown as
/// minisign does (a little-endian u64 in 16 upper-case hex digits).
fn key_id_of(binary: &[u8]) -> Option<String> {
    let id: [u8; 8] = binary.get(2..10)?.try_into().ok()?;
    Some(format!("{:016X}", u64::from_le_bytes(id)))
}

/// The base64 line of a public key: the text itself, or the second line of a `.pub` file.
fn key_line(text: &str) -> &str {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [comment, key, ..] if comment.starts_with("untrusted comment:") => key,
        [key, ..] => key,
        [] => "",
    }
}

impl TrustedKey {
    /// Parses a public key, in minisign's `.pub` form or as its base64 line.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let line = key_line(text);
        let bad = |why: &str| format!("{source}: not a minisign public key: {why}");
        let binary = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(|e| bad(&e.to_string()))?;
        let key = PublicKey::from_base64(line).map_err(|e| bad(&e.to_string()))?;
        let id = key_id_of(&binary).ok_or_else(|| bad("too short"))?;
        Ok(Self {
            id,
            source: source.to_string(),
            key,
        })
    }
}

impl Trust {
    /// No keys, policy `off`.
    pub fn off() -> Self {
        Self {
            policy: SignaturePolicy::Off,
            keys: Vec::new(),
        }
    }

    /// The policy with the keys of `folder` (every `*.pub` file; a missing folder has none) and
    /// those given in the configuration. A key that does not parse is an error naming it: a trust
    /// store the operator believes complete must not silently miss a key.
    pub fn load(
        policy: SignaturePolicy,
        folder: Option<&Path>,
        inline: &[String],
    ) -> Result<Self, String> {
        let mut keys = Vec::new();
        if let Some(folder) = folder
            && folder.is_dir()
        {
            let entries = fs::read_dir(folder).map_err(|e| {
                format!("cannot read the trusted keys in {}: {e}", folder.display())
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pub"))
                .collect();
            files.sort();
            for file in files {
                let text = fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read the trusted key {}: {e}", file.display()))?;
                keys.push(TrustedKey::parse(&text, &file.display().to_string())?);
            }
        }
        for (i, text) in inline.iter().enumerate() {
            keys.push(TrustedKey::parse(
                text,
                &format!("engine.plugins.trusted_keys[{i}]"),
            )?);
        }
        Ok(Self { policy, keys })
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Checks the signature of `file` (the plugins folder's file, beside which the signature
    /// lies) against `content` (the copy that will be loaded). Refuses under the policy, or
    /// whatever the policy when a signature is there but does not verify.
    pub fn check(&self, file: &Path, content: &Path) -> Result<Signer, LoadError> {
        if self.policy == SignaturePolicy::Off {
            return Ok(Signer::NotChecked);
        }
        let refused = |key_id: Option<String>, reason: String| LoadError::Signature {
            file: file.to_path_buf(),
            key_id,
            reason,
        };
        let sig_file = signature_file(file);
        let text = match fs::read_to_string(&sig_file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match self.policy {
                    SignaturePolicy::Require => Err(refused(
                        None,
                        format!(
                            "unsigned (no {} beside it) and engine.plugins.signatures = \"require\"",
                            display_name(&sig_file)
                        ),
                    )),
                    _ => Ok(Signer::Unsigned),
                };
            }
            Err(e) => {
                return Err(refused(
                    None,
                    format!("cannot read its signature {}: {e}", sig_file.display()),
                ));
            }
        };
        let signature = Signature::decode(&text).map_err(|e| {
            refused(
                None,
                format!(
                    "{} is not a minisign signature: {e}",
                    display_name(&sig_file)
                ),
            )
        })?;
        let key_id = text
            .lines()
            .nth(1)
            .and_then(|l| {
                base64::engine::general_purpose::STANDARD
                    .decode(l.trim())
                    .ok()
            })
            .and_then(|b| key_id_of(&b))
            .unwrap_or_default();
        let Some(key) = self.keys.iter().find(|k| k.id == key_id) else {
            return match self.policy {
                SignaturePolicy::Require => Err(refused(
                    Some(key_id.clone()),
                    format!(
                        "signed by key {key_id}, which is not trusted (put its public key in the \
                         data folder's trusted-keys/ or in engine.plugins.trusted_keys)"
                    ),
                )),
                _ => Ok(Signer::UnknownKey { key_id }),
            };
        };
        verify(&key.key, &signature, content).map_err(|e| {
            refused(
                Some(key_id.clone()),
                format!(
                    "bad signature by key {key_id}: {e} (the file was modified after it was \
                     signed, or {} is not its signature)",
                    display_name(&sig_file)
                ),
            )
        })?;
        Ok(Signer::Trusted {
            key_id,
            comment: signature.trusted_comment().to_string(),
        })
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Verifies `signature` of the bytes of `content` with `key`, reading the file in chunks.
pub fn verify(key: &PublicKey, signature: &Signature, content: &Path) -> Result<(), String> {
    let mut verifier = key.verify_stream(signature).map_err(|e| e.to_string())?;
    let mut file = fs::File::open(content).map_err(|e| format!("cannot read: {e}"))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    verifier
        .finalize()
        .map_err(|_| "the signature does not match the content".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A key and a signature made with the reference `minisign` tool's format (by `oibus plugins
    // keygen` and `sign`, which use the minisign crate).
    fn keypair() -> (String, minisign::SecretKey) {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        (kp.pk.to_base64(), kp.sk)
    }

    fn sign(sk: &minisign::SecretKey, data: &[u8]) -> String {
        minisign::sign(None, sk, data, Some("oibus test"), None)
            .unwrap()
            .into_string()
    }

    #[test]
    fn each_case_under_each_policy() {
        let dir = tempfile::tempdir().unwrap();
        let (pk, sk) = keypair();
        let (_, other_sk) = keypair();
        let file = dir.path().join("libx.so");
        fs::write(&file, b"plugin bytes").unwrap();
        let trust = |policy| Trust::load(policy, None, std::slice::from_ref(&pk)).unwrap();
        let key_id = trust(SignaturePolicy::Warn).keys()[0].id.clone();

        // Unsigned.
        assert_eq!(
            trust(SignaturePolicy::Warn).check(&file, &file).unwrap(),
            Signer::Unsigned
        );
        let e = trust(SignaturePolicy::Require)
            .check(&file, &file)
            .unwrap_err();
        assert!(e.to_string().contains("unsigned"), "{e}");
        // Signed by a trusted key.
        fs::write(signature_file(&file), sign(&sk, b"plugin bytes")).unwrap();
        for policy in [SignaturePolicy::Warn, SignaturePolicy::Require] {
            let signer = trust(policy).check(&file, &file).unwrap();
            assert!(
                matches!(&signer, Signer::Trusted { key_id: k, comment } if *k == key_id && comment == "oibus test"),
                "{signer:?}"
            );
        }
        // Modified after signing: refused even under `warn`, naming the key.
        fs::write(&file, b"plugin bytes, patched").unwrap();
        for policy in [SignaturePolicy::Warn, SignaturePolicy::Require] {
            let e = trust(policy).check(&file, &file).unwrap_err().to_string();
            assert!(e.contains("bad signature") && e.contains(&key_id), "{e}");
        }
        assert_eq!(
            trust(SignaturePolicy::Off).check(&file, &file).unwrap(),
            Signer::NotChecked
        );
        // Signed by an unknown key.
        fs::write(
            signature_file(&file),
            sign(&other_sk, b"plugin bytes, patched"),
        )
        .unwrap();
        assert!(matches!(
            trust(SignaturePolicy::Warn).check(&file, &file).unwrap(),
            Signer::UnknownKey { .. }
        ));
        let e = trust(SignaturePolicy::Require)
            .check(&file, &file)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not trusted"), "{e}");
        // Garbage signature.
        fs::write(signature_file(&file), "not a signature").unwrap();
        let e = trust(SignaturePolicy::Warn)
            .check(&file, &file)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a minisign signature"), "{e}");
    }

    #[test]
    fn keys_are_read_from_pub_files_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        fs::write(
            dir.path().join("vendor.pub"),
            kp.pk.to_box().unwrap().into_string(),
        )
        .unwrap();
        let trust = Trust::load(SignaturePolicy::Require, Some(dir.path()), &[]).unwrap();
        assert_eq!(trust.keys().len(), 1);
        assert_eq!(
            trust.keys()[0].id,
            format!(
                "{:016X}",
                u64::from_le_bytes(kp.pk.keynum().try_into().unwrap())
            )
        );
        fs::write(dir.path().join("broken.pub"), "hello").unwrap();
        let e = Trust::load(SignaturePolicy::Require, Some(dir.path()), &[]).unwrap_err();
        assert!(e.contains("broken.pub"), "{e}");
    }
}

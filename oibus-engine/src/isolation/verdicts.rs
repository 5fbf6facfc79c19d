//! What probes found, per file content (its SHA-256): a known file costs no throwaway process at
//! the next start, a known-bad one least of all (a constructor that hangs cost a whole
//! `probe_timeout`). A verdict holds for this version of `oibus` and, for a hang, this
//! `probe_timeout`; replacing the file gives new content and a new check.

use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// What opening a file in a throwaway process gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its manifest's JSON.
    Manifest(String),
    /// Why it was refused.
    Refused(String),
}

#[derive(Serialize, Deserialize)]
struct Verdict {
    oibus: String,
    timeout_ms: u64,
    outcome: Outcome,
}

/// The verdicts kept in a folder.
#[derive(Debug, Clone)]
pub struct Verdicts {
    dir: PathBuf,
    timeout: Duration,
}

/// The largest verdict file read (a manifest is a few kilobytes).
const MAX_VERDICT: u64 = 4 << 20;

impl Verdicts {
    /// Verdicts in `dir`, for probes allowed `timeout`.
    pub fn new(dir: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self {
            dir: dir.into(),
            timeout,
        }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        // A content hash names the file: nothing else may reach the folder's paths.
        (sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir.join(format!("{sha256}.json")))
    }

    /// The verdict on the content `sha256`, if one holds.
    pub fn get(&self, sha256: &str) -> Option<Outcome> {
        let path = self.path(sha256)?;
        if std::fs::metadata(&path).ok()?.len() > MAX_VERDICT {
            return None;
        }
        let verdict: Verdict = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let timeout_ms = self.timeout.as_millis() as u64;
        (verdict.oibus == env!("CARGO_PKG_VERSION") && verdict.timeout_ms == timeout_ms)
            .then_some(verdict.outcome)
    }

    /// Keeps the verdict on the content `sha256` (written aside, then renamed: a reader never
    /// sees half of one). A verdict that cannot be kept only costs a probe next time.
    pub fn put(&self, sha256: &str, outcome: &Outcome) {
        let Some(path) = self.path(sha256) else {
            return;
        };
        let verdict = Verdict {
            oibus: env!("CARGO_PKG_VERSION").to_string(),
            timeout_ms: self.timeout.as_millis() as u64,
            outcome: outcome.clone(),
        };
        let aside = path.with_extension(format!("{}.tmp", std::process::id()));
        let written = serde_json::to_vec(&verdict)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                std::fs::create_dir_all(&self.dir)?;
                std::fs::write(&aside, bytes)?;
                std::fs::rename(&aside, &path)
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&aside);
            tracing::debug!("cannot keep the probe's verdict in {}: {e}", path.display());
        }
    }
}

/// The content hash a shadow copy is named by (`<sha256>.<ext>`).
pub fn sha256_of(shadow: &Path) -> Option<&str> {
    shadow.file_stem().and_then(|s| s.to_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_verdict_holds_for_its_content_and_probe_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let v = Verdicts::new(dir.path(), Duration::from_secs(10));
        assert_eq!(v.get(SHA), None);
        v.put(SHA, &Outcome::Refused("its code hangs".into()));
        assert_eq!(v.get(SHA), Some(Outcome::Refused("its code hangs".into())));
        // Another timeout: checked again.
        assert_eq!(
            Verdicts::new(dir.path(), Duration::from_secs(30)).get(SHA),
            None
        );
        v.put(SHA, &Outcome::Manifest("{}".into()));
        assert_eq!(v.get(SHA), Some(Outcome::Manifest("{}".into())));
    }

    #[test]
    fn only_a_content_hash_names_a_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let v = Verdicts::new(dir.path(), Duration::from_secs(10));
        v.put("../../etc/x", &Outcome::Refused("no".into()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::write(dir.path().join(format!("{SHA}.json")), "not json").unwrap();
        assert_eq!(v.get(SHA), None);
        assert_eq!(sha256_of(Path::new(&format!("/cache/{SHA}.so"))), Some(SHA));
    }
}

//! How plugin files are loaded: where their copies go, which signatures are trusted, and what
//! opens a file that is not trusted.

use super::{error::LoadError, trust::Signer, trust::Trust};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// Opens a library in a throwaway process and returns its manifest's JSON, so that a constructor
/// that aborts, exits or hangs is a refusal instead of the end of the calling process.
/// Implemented by the engine's process isolation (`isolation::probe`).
pub trait Prober: Send + Sync {
    /// Opens `shadow` (the checked copy of `file`, declaring `plugin`) and reads its manifest.
    fn probe(&self, file: &Path, shadow: &Path, plugin: &str) -> Result<String, LoadError>;

    /// The process stops: probes in progress end at once, refused, and no new one starts.
    fn cancel(&self) {}
}

/// Which files go through the [`Prober`] before this process opens them.
#[derive(Clone)]
pub struct Probe {
    /// The prober.
    pub prober: Arc<dyn Prober>,
    /// Every file (`plugins list`, `plugins inspect`), or only those not signed by a trusted key.
    pub always: bool,
}

impl Probe {
    /// Whether a file with this signer is probed.
    pub fn wanted(&self, signer: &Signer) -> bool {
        self.always || !signer.is_trusted()
    }

    /// Probes.
    pub fn probe(&self, file: &Path, shadow: &Path, plugin: &str) -> Result<String, LoadError> {
        self.prober.probe(file, shadow, plugin)
    }
}

/// Everything the loader needs besides the file.
#[derive(Clone)]
pub struct LoadOptions {
    /// The private folder of shadow copies.
    pub cache_dir: PathBuf,
    /// The signature policy and trusted keys.
    pub trust: Arc<Trust>,
    /// What opens files first in a throwaway process; `None`: this process opens every file.
    pub probe: Option<Probe>,
}

impl LoadOptions {
    /// Copies into `cache_dir`, no signature checks, no probe: every file opens in this process.
    pub fn unchecked(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            trust: Arc::new(Trust::off()),
            probe: None,
        }
    }
}

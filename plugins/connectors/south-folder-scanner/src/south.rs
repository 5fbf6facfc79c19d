//! The `south-folder-scanner` connector: its lifecycle and data calls.

use crate::settings::ScannerSettings;
use oibus_folder_common::{
    AfterRead, Candidate, ItemSettings, Listed, Selector, SentFiles, listing::FileStamp,
    remote::unique_name,
};
use oibus_plugin_api::prelude::*;
use std::{
    fs,
    path::{Path, PathBuf},
    time::Instant,
};
use tokio::task::JoinSet;

/// How many files are handed to the engine at once (the engine's cache group-commits them).
pub(crate) const IN_FLIGHT: usize = 32;

/// The folder-scanner South connector.
pub struct FolderScanner {
    pub(crate) folder: PathBuf,
    pub(crate) ctx: Context,
    pub(crate) selector: Selector,
    pub(crate) sent: SentFiles,
}

impl FolderScanner {
    fn check_folder(&self) -> Result<()> {
        fs::read_dir(&self.folder).map(drop).map_err(|e| {
            PluginError::transient(format!(
                "input_folder {}: cannot read: {e}",
                self.folder.display()
            ))
        })
    }

    /// The regular files of the folder.
    fn list(&self) -> Result<Vec<Listed>> {
        let entries = fs::read_dir(&self.folder).map_err(|e| {
            PluginError::transient(format!(
                "input_folder {}: cannot read: {e}",
                self.folder.display()
            ))
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Ok(meta) = entry.metadata() else { continue };
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!("skipping {:?}: the name is not UTF-8", entry.file_name());
                continue;
            };
            if meta.is_file() {
                files.push(Listed::new(name, FileStamp::of(&meta), 0));
            }
        }
        Ok(files)
    }

    /// The files of the folder the items select now, oldest first.
    fn candidates(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<Vec<Candidate>> {
        let listing = self.list()?;
        let now = Timestamp::now().as_nanos();
        self.selector
            .choose(&listing, items, &self.sent, now, Instant::now())
    }

    /// What happens to the original once the engine has its copy.
    fn release(&mut self, c: &Candidate) -> Result<()> {
        let path = self.folder.join(&c.name);
        match &c.after_read {
            AfterRead::Delete => fs::remove_file(&path).map_err(|e| {
                PluginError::transient(format!("cannot delete {}: {e}", path.display()))
            }),
            AfterRead::Preserve { .. } => {
                self.sent.record(&c.name, c.stamp);
                Ok(())
            }
            AfterRead::Move { folder } => move_into(&path, Path::new(folder), &c.name),
        }
    }
}

/// Moves `path` into `folder`, never overwriting a file already there.
pub(crate) fn move_into(path: &Path, folder: &Path, name: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        PluginError::transient(format!(
            "cannot move {} to {}: {e}",
            path.display(),
            folder.display()
        ))
    };
    fs::create_dir_all(folder).map_err(fail)?;
    let mut target = folder.join(name);
    if target.exists() {
        target = folder.join(unique_name(name));
    }
    if fs::rename(path, &target).is_err() {
        // Another file system: copy, then remove.
        fs::copy(path, &target).map_err(fail)?;
        fs::remove_file(path).map_err(fail)?;
    }
    Ok(())
}

impl Connector for FolderScanner {
    type Settings = ScannerSettings;

    fn new(settings: ScannerSettings, ctx: Context) -> Result<Self> {
        let sent = SentFiles::load(&ctx.state_dir())?;
        Ok(Self {
            folder: PathBuf::from(settings.input_folder),
            ctx,
            selector: Selector::new(),
            sent,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.check_folder()?;
        tracing::info!("scanning {}", self.folder.display());
        Ok(())
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.check_folder()
    }
}

impl South for FolderScanner {
    type ItemSettings = ItemSettings;
}

impl QueriesFile for FolderScanner {
    async fn file_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let candidates = self.candidates(items)?;
        if candidates.is_empty() {
            return Ok(());
        }
        tracing::debug!("{} file(s) to send", candidates.len());
        let mut first_error = None;
        let mut pending = candidates.into_iter().enumerate();
        let mut chosen = Vec::new();
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < IN_FLIGHT {
                let Some((i, c)) = pending.next() else { break };
                let ctx = self.ctx.clone();
                let path = self.folder.join(&c.name);
                chosen.push(c);
                in_flight.spawn(async move { (i, ctx.add_file(&path).await) });
            }
            let Some(done) = in_flight.join_next().await else {
                break;
            };
            let (i, result) = done.map_err(|e| PluginError::transient(e.to_string()))?;
            let outcome = result.and_then(|()| self.release(&chosen[i]));
            if let Err(e) = outcome {
                tracing::warn!("{}: {e}", self.folder.join(&chosen[i].name).display());
                first_error.get_or_insert(e);
            }
        }
        self.sent.save()?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

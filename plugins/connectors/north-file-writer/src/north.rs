//! The `north-file-writer` connector: its lifecycle and data calls.

use crate::settings::*;
use oibus_folder_common::naming::Names;
use oibus_plugin_api::prelude::*;
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

/// The file-writer North connector.
pub struct FileWriter {
    pub(crate) folder: PathBuf,
    pub(crate) names: Names,
    pub(crate) sync: BatchSync,
}

impl FileWriter {
    fn check_folder(&self) -> Result<()> {
        fs::create_dir_all(&self.folder).map_err(|e| {
            PluginError::transient(format!(
                "output_folder {}: cannot create: {e}",
                self.folder.display()
            ))
        })?;
        let probe = self
            .folder
            .join(format!(".oibus-write-test-{}", std::process::id()));
        fs::write(&probe, b"").map_err(|e| {
            PluginError::transient(format!(
                "output_folder {}: not writable: {e}",
                self.folder.display()
            ))
        })?;
        let _ = fs::remove_file(probe);
        Ok(())
    }
}

/// Writes `bytes` to `target` atomically: temporary file in the same folder, fsync, rename.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_atomically(target, |f| f.write_all(bytes))
}

/// Writes `target` atomically with `write`: a temporary file in the same folder, fsync, rename.
pub(crate) fn replace_atomically(
    target: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temporary(target);
    {
        let mut f = fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, target)
}

impl Connector for FileWriter {
    type Settings = FileWriterSettings;

    fn new(settings: FileWriterSettings, _ctx: Context) -> Result<Self> {
        Ok(Self {
            folder: PathBuf::from(&settings.output_folder),
            names: Names::new(&settings.prefix, &settings.suffix, settings.unique_names),
            sync: settings.sync,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.check_folder()?;
        tracing::info!("writing to {}", self.folder.display());
        Ok(())
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.check_folder()
    }
}

impl HandlesValues for FileWriter {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let json = oibus_plugin_api::serde_json::to_vec(&values)?;
        let target = self.folder.join(self.names.of_values());
        write_atomically(&target, &json).map_err(|e| {
            PluginError::transient(format!("cannot write {}: {e}", target.display()))
        })?;
        tracing::debug!("wrote {} values to {}", values.len(), target.display());
        Ok(())
    }
}

impl FileWriter {
    /// Where a file received from the engine is written.
    fn target_of(&self, path: &Path) -> PathBuf {
        self.folder.join(self.names.of_file(path))
    }
}

pub(crate) fn open_source(path: &Path) -> Result<fs::File> {
    fs::File::open(path)
        .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.display())))
}

/// The temporary name a file is written under before it is renamed to `target`.
pub(crate) fn temporary(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(Names::temporary(&name))
}

/// Most threads that fsync the files of one batch: fsyncs in flight together are what lets
/// the disk complete several in one flush.
pub(crate) const SYNC_THREADS: usize = 16;

/// A file of a batch, written under its temporary name.
pub(crate) struct Written<'a> {
    pub(crate) file: fs::File,
    pub(crate) tmp: PathBuf,
    pub(crate) target: &'a Path,
}

/// fsyncs every file, on up to [`SYNC_THREADS`] threads; the first failure is returned.
pub(crate) fn sync_all(files: &[Written<'_>]) -> std::io::Result<()> {
    let per_thread = files.len().div_ceil(SYNC_THREADS).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || -> std::io::Result<()> {
                    for w in chunk {
                        w.file.sync_all().map_err(|e| {
                            std::io::Error::new(e.kind(), format!("{}: {e}", w.tmp.display()))
                        })?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a sync thread panicked")))
        })
    })
}

impl HandlesFileBatches for FileWriter {
    /// Writes every file under its temporary name, makes them durable together (`sync`),
    /// renames them, and fsyncs the folder once: one round of syncs for the batch.
    async fn handle_files(&mut self, paths: &[PathBuf]) -> Result<()> {
        let targets: Vec<PathBuf> = paths.iter().map(|p| self.target_of(p)).collect();
        let mut written = Vec::with_capacity(paths.len());
        for (i, (path, target)) in paths.iter().zip(&targets).enumerate() {
            // A later file of the same name replaces this one, as it would one at a time.
            if targets[i + 1..].contains(target) {
                continue;
            }
            let tmp = temporary(target);
            let fail = |e: std::io::Error| {
                PluginError::transient(format!("cannot write {}: {e}", target.display()))
            };
            let mut file = fs::File::create(&tmp).map_err(fail)?;
            std::io::copy(&mut open_source(path)?, &mut file).map_err(fail)?;
            written.push(Written { file, tmp, target });
        }
        match self.sync {
            BatchSync::EachFile => sync_all(&written),
            BatchSync::FileSystem => {
                let files: Vec<&fs::File> = written.iter().map(|w| &w.file).collect();
                oibus_platform::durable::sync_files_in(&self.folder, &files).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", self.folder.display()))
                })
            }
        }
        .map_err(|e| PluginError::transient(format!("cannot sync {e}")))?;
        for Written { tmp, target, .. } in &written {
            fs::rename(tmp, target).map_err(|e| {
                PluginError::transient(format!("cannot write {}: {e}", target.display()))
            })?;
        }
        oibus_platform::durable::sync_dir(&self.folder).map_err(|e| {
            PluginError::transient(format!("cannot sync {}: {e}", self.folder.display()))
        })?;
        tracing::debug!(
            "copied {} files to {}",
            written.len(),
            self.folder.display()
        );
        Ok(())
    }
}

impl HandlesFile for FileWriter {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let mut source = open_source(path)?;
        let target = self.target_of(path);
        // Streamed (the kernel copies where it can): memory stays small whatever the size.
        replace_atomically(&target, |f| std::io::copy(&mut source, f).map(drop)).map_err(|e| {
            PluginError::transient(format!("cannot write {}: {e}", target.display()))
        })?;
        tracing::debug!("copied {} to {}", path.display(), target.display());
        Ok(())
    }
}

//! `north-file-writer`: writes values as JSON files (OIBus shape) and copies files into an output
//! folder. Every file appears atomically: written under a hidden temporary name, synced, renamed.

use oibus_plugin_api::prelude::*;
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

/// Connector settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct FileWriterSettings {
    /// Folder the files are written to (created if missing).
    #[schemars(length(min = 1))]
    pub output_folder: String,
    /// Text put before each file name.
    #[serde(default)]
    pub prefix: String,
    /// Text put after each file name, before the extension.
    #[serde(default)]
    pub suffix: String,
    /// Files keep their own name (`prefix + name + suffix + extension`, as OIBus writes them),
    /// and a file of the same name already in the folder is replaced, so that a file delivered
    /// twice after a crash is written twice to the same place. Set `unique_names` to add a
    /// timestamp and sequence number to every file name instead (`report-1796116399104-12.csv`).
    #[serde(default)]
    pub unique_names: bool,
}

/// The file-writer North connector.
pub struct FileWriter {
    settings: FileWriterSettings,
    folder: PathBuf,
    sequence: AtomicU64,
}

impl FileWriter {
    /// A unique base name: milliseconds since the epoch and a sequence number.
    fn unique(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", Timestamp::now().as_millis())
    }

    fn target(&self, stem: &str, ext: &str) -> PathBuf {
        let ext = if ext.is_empty() {
            String::new()
        } else {
            format!(".{ext}")
        };
        self.folder.join(format!(
            "{}{stem}{}{ext}",
            self.settings.prefix, self.settings.suffix
        ))
    }

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
fn replace_atomically(
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
            settings,
            sequence: AtomicU64::new(0),
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
        let target = self.target(&self.unique(), "json");
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
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = path
            .extension()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = if self.settings.unique_names {
            format!("{stem}-{}", self.unique())
        } else {
            stem
        };
        self.target(&stem, &ext)
    }
}

fn open_source(path: &Path) -> Result<fs::File> {
    fs::File::open(path)
        .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.display())))
}

/// The temporary name a file is written under before it is renamed to `target`.
fn temporary(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.tmp"))
}

/// Most threads that fsync the files of one batch: fsyncs in flight together are what lets
/// the disk complete several in one flush.
const SYNC_THREADS: usize = 16;

/// A file of a batch, written under its temporary name.
struct Written<'a> {
    file: fs::File,
    tmp: PathBuf,
    target: &'a Path,
}

/// fsyncs every file, on up to [`SYNC_THREADS`] threads; the first failure is returned.
fn sync_all(files: &[Written<'_>]) -> std::io::Result<()> {
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
    /// Writes every file under its temporary name, fsyncs them together, renames them, and
    /// fsyncs the folder once: one round of syncs for the batch.
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
        sync_all(&written).map_err(|e| PluginError::transient(format!("cannot sync {e}")))?;
        for Written { tmp, target, .. } in &written {
            fs::rename(tmp, target).map_err(|e| {
                PluginError::transient(format!("cannot write {}: {e}", target.display()))
            })?;
        }
        fs::File::open(&self.folder)
            .and_then(|d| d.sync_all())
            .map_err(|e| {
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

fn plugin() -> Plugin {
    Plugin::new("File writer", "oibus-rs")
        .description("Writes values as JSON files and copies files to a folder")
        .connector(
            ConnectorType::<FileWriter>::north("file-writer", "File writer")
                .description("Values as JSON files in OIBus shape; files copied; atomic writes")
                .handles_values()
                .handles_file()
                .handles_file_batches(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::sdk::testing::TestHost;

    fn writer(dir: &Path, prefix: &str, suffix: &str) -> FileWriter {
        writer_with(dir, prefix, suffix, false)
    }

    fn writer_with(dir: &Path, prefix: &str, suffix: &str, unique_names: bool) -> FileWriter {
        let (ctx, _) = TestHost::new(dir).context("fw");
        FileWriter::new(
            FileWriterSettings {
                output_folder: dir.join("out").to_string_lossy().into_owned(),
                prefix: prefix.into(),
                suffix: suffix.into(),
                unique_names,
            },
            ctx,
        )
        .unwrap()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn values_become_one_json_file_in_oibus_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "pre-", "-suf");
        w.connect().await.unwrap();
        let values = vec![
            OibusValue::new("a", Timestamp::from_millis(1_000), 1.5),
            OibusValue::new("b", Timestamp::from_millis(2_000), "on").with_quality(Quality::Bad),
        ];
        w.handle_values(values.clone()).await.unwrap();
        let files = listing(&dir.path().join("out"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(
            files[0].starts_with("pre-") && files[0].ends_with("-suf.json"),
            "{files:?}"
        );
        let text = fs::read_to_string(dir.path().join("out").join(&files[0])).unwrap();
        let back: Vec<OibusValue> = oibus_plugin_api::serde_json::from_str(&text).unwrap();
        assert_eq!(back, values);
        assert!(text.contains("\"pointId\":\"a\""), "{text}");
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn files_keep_their_name_with_prefix_and_suffix_and_a_resend_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "pre-", "-suf");
        w.connect().await.unwrap();
        let src = dir.path().join("f00041.bin");
        fs::write(&src, b"first").unwrap();
        w.handle_file(&src).await.unwrap();
        fs::write(&src, b"second").unwrap();
        w.handle_file(&src).await.unwrap();
        let noext = dir.path().join("README");
        fs::write(&noext, b"text").unwrap();
        w.handle_file(&noext).await.unwrap();
        let out = dir.path().join("out");
        assert_eq!(listing(&out), ["pre-README-suf", "pre-f00041-suf.bin"]);
        assert_eq!(fs::read(out.join("pre-f00041-suf.bin")).unwrap(), b"second");
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn with_unique_names_files_are_copied_apart_and_no_temp_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer_with(dir.path(), "", "", true);
        w.connect().await.unwrap();
        let src = dir.path().join("report.csv");
        fs::write(&src, b"a,b\n1,2\n").unwrap();
        w.handle_file(&src).await.unwrap();
        w.handle_file(&src).await.unwrap();
        let files = listing(&dir.path().join("out"));
        assert_eq!(files.len(), 2, "{files:?}");
        for f in &files {
            assert!(f.starts_with("report-") && f.ends_with(".csv"), "{f}");
            assert_eq!(
                fs::read(dir.path().join("out").join(f)).unwrap(),
                b"a,b\n1,2\n"
            );
        }
        assert!(
            src.exists(),
            "the source file belongs to the engine and must stay"
        );
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn a_batch_is_written_whole_under_the_names_and_the_last_of_a_name_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "", "");
        w.connect().await.unwrap();
        let mut paths = Vec::new();
        for i in 0..40 {
            let sub = dir.path().join(format!("in/{}", i % 2));
            fs::create_dir_all(&sub).unwrap();
            // Two folders: every name but one comes twice, the later one must win.
            let name = format!("f{:02}.bin", i / 2);
            fs::write(sub.join(&name), format!("{i}")).unwrap();
            paths.push(sub.join(name));
        }
        w.handle_files(&paths).await.unwrap();
        let out = dir.path().join("out");
        let files = listing(&out);
        assert_eq!(files.len(), 20, "{files:?}");
        for (k, f) in files.iter().enumerate() {
            assert_eq!(
                fs::read_to_string(out.join(f)).unwrap(),
                format!("{}", 2 * k + 1)
            );
        }
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn a_batch_with_a_missing_file_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "", "");
        w.connect().await.unwrap();
        let there = dir.path().join("there.bin");
        fs::write(&there, "x").unwrap();
        let gone = dir.path().join("gone.bin");
        let e = w.handle_files(&[there, gone]).await.unwrap_err();
        assert!(e.message().contains("gone.bin"), "{e}");
    }

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn unwritable_folder_fails_test_connection_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("out"), b"a file, not a folder").unwrap();
        let mut w = writer(dir.path(), "", "");
        let e = w.test_connection().await.unwrap_err();
        assert!(e.message().contains("output_folder"), "{e}");
    }
}

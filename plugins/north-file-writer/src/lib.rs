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
    let folder = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = folder.join(format!(".{name}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
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

impl HandlesFile for FileWriter {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = path
            .extension()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = fs::read(path)
            .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.display())))?;
        let target = self.target(&format!("{stem}-{}", self.unique()), &ext);
        write_atomically(&target, &bytes).map_err(|e| {
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
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::sdk::testing::TestHost;

    fn writer(dir: &Path, prefix: &str, suffix: &str) -> FileWriter {
        let (ctx, _) = TestHost::new(dir).context("fw");
        FileWriter::new(
            FileWriterSettings {
                output_folder: dir.join("out").to_string_lossy().into_owned(),
                prefix: prefix.into(),
                suffix: suffix.into(),
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
    async fn files_are_copied_with_unique_names_and_no_temp_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path(), "", "");
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
    async fn unwritable_folder_fails_test_connection_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("out"), b"a file, not a folder").unwrap();
        let mut w = writer(dir.path(), "", "");
        let e = w.test_connection().await.unwrap_err();
        assert!(e.message().contains("output_folder"), "{e}");
    }
}

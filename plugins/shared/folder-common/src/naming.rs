//! The names a North gives the files it writes, as OIBus does: `prefix + name + suffix + .ext`.

use oibus_plugin_api::Timestamp;
use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
};

/// Names of written files: a received file keeps its own name (between `prefix` and `suffix`,
/// before its extension), optionally made unique; a batch of values is named by the time and a
/// sequence number.
#[derive(Debug, Default)]
pub struct Names {
    prefix: String,
    suffix: String,
    unique: bool,
    sequence: AtomicU64,
}

impl Names {
    /// Names with this prefix and suffix; `unique` adds `-<milliseconds>-<sequence>` to the
    /// names of received files.
    pub fn new(prefix: &str, suffix: &str, unique: bool) -> Self {
        Self {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            unique,
            sequence: AtomicU64::new(0),
        }
    }

    /// `<milliseconds since the epoch>-<sequence number>`, unique within this process.
    fn stamp(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", Timestamp::now().as_millis())
    }

    fn name(&self, stem: &str, ext: &str) -> String {
        let ext = if ext.is_empty() {
            String::new()
        } else {
            format!(".{ext}")
        };
        format!("{}{stem}{}{ext}", self.prefix, self.suffix)
    }

    /// The name of the file `path` received from the engine.
    pub fn of_file(&self, path: &Path) -> String {
        let part = |s: Option<&std::ffi::OsStr>| {
            s.map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let (stem, ext) = (part(path.file_stem()), part(path.extension()));
        let stem = if self.unique {
            format!("{stem}-{}", self.stamp())
        } else {
            stem
        };
        self.name(&stem, &ext)
    }

    /// The name of a new JSON file of values.
    pub fn of_values(&self) -> String {
        self.name(&self.stamp(), "json")
    }

    /// The temporary name a file is written under before it is renamed to `name`: hidden
    /// (`.name.tmp`), so that readers of the folder that skip dot files never see it half-written.
    pub fn temporary(name: &str) -> String {
        format!(".{name}.tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_keep_their_names_between_prefix_and_suffix() {
        let n = Names::new("site-", "-raw", false);
        assert_eq!(
            n.of_file(Path::new("/cache/report.csv")),
            "site-report-raw.csv"
        );
        assert_eq!(n.of_file(Path::new("/cache/README")), "site-README-raw");
        let v = n.of_values();
        assert!(v.starts_with("site-") && v.ends_with("-raw.json"), "{v}");
        assert_ne!(v, n.of_values());
        let u = Names::new("", "", true).of_file(Path::new("a.csv"));
        assert!(
            u.starts_with("a-") && u.ends_with(".csv") && u.len() > 8,
            "{u}"
        );
        assert_eq!(Names::temporary("a.csv"), ".a.csv.tmp");
    }
}

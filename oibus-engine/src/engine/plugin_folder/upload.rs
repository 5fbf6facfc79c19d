//! A plugin file arriving through a front end: streamed into a hidden file of the plugins folder
//! (never held in memory), checked, synced, then renamed into place, so that no scan sees half a
//! library and no upload of any size costs more memory than a chunk. A file that is not a plugin
//! library at all (a script, a program, a system library) is refused before it takes a name in
//! the folder; an upload that is abandoned leaves nothing behind.

use crate::loader::{LIBRARY_EXTENSIONS, inspect};
use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};
use tokio::io::AsyncWriteExt as _;

/// Why an upload could not be written.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// More bytes arrived than the limit.
    #[error("the file is larger than the {limit} bytes a plugin file may have")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The hidden file could not be written.
    #[error("cannot write {}: {source}", file.display())]
    Io {
        /// The file being written.
        file: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// An upload in progress: a hidden file of the plugins folder, removed unless the engine takes
/// it (`Command::InstallPluginFile`).
#[derive(Debug)]
pub struct PluginUpload {
    /// The name the file will have.
    pub(super) name: String,
    /// The hidden file written.
    pub(super) part: PathBuf,
    file: Option<tokio::fs::File>,
    written: u64,
    limit: u64,
}

/// Whether `name` is a plain file name ending in a library extension, or that with `.minisig`;
/// `Err` says what a plugin file name is.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let library = |n: &str| {
        Path::new(n)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| LIBRARY_EXTENSIONS.contains(&e))
    };
    // Control characters (a line break among them) would forge lines in the log and confuse
    // every listing; no plugin needs them. Neither does it need what Windows reads otherwise:
    // `:` (an alternate data stream: `a:b.dll` writes into a file `a`), a device name (`NUL`,
    // `COM1`…), a name ending in a dot or a space (Windows drops them).
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name)
        && !name.contains(['/', '\\', '\0', ':', '<', '>', '"', '|', '?', '*'])
        && !name.chars().any(char::is_control)
        && !name.ends_with(['.', ' '])
        && !device;
    let signature = name.strip_suffix(".minisig").is_some_and(library);
    if plain && (library(name) || signature) {
        return Ok(());
    }
    Err(format!(
        "{} is not a plugin file name: a plain file name ending in {} (the library), or that \
         name with .minisig (its signature), without control characters or what Windows reserves \
         (: < > \" | ? *, device names)",
        crate::config::limits::quoted(name),
        LIBRARY_EXTENSIONS
            .iter()
            .map(|e| format!(".{e}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl PluginUpload {
    /// Starts an upload of `name` into `dir`, of at most `limit` bytes.
    pub(super) async fn open(dir: &Path, name: &str, limit: u64) -> Result<Self, String> {
        check_name(name)?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let part = dir.join(format!(
            ".{name}.{}-{}.upload",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = tokio::fs::File::create(&part)
            .await
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        Ok(Self {
            name: name.to_string(),
            part,
            file: Some(file),
            written: 0,
            limit,
        })
    }

    /// The name the file will have in the plugins folder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends `chunk`; past the limit, nothing more is written.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        let len = chunk.len() as u64;
        if self.written.saturating_add(len) > self.limit {
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        let io = |source| UploadError::Io {
            file: self.part.clone(),
            source,
        };
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io(std::io::Error::other("the upload was already finished")))?;
        file.write_all(chunk).await.map_err(io)?;
        self.written += len;
        Ok(())
    }

    /// Syncs the hidden file and checks that a library is one: `Err` says why it is not kept
    /// (naming the file as the folder would have it).
    pub(super) async fn finish(&mut self, target: &Path) -> Result<(), String> {
        let io = |e: std::io::Error| format!("cannot write {}: {e}", target.display());
        if self.written == 0 {
            return Err(format!("{}: the file is empty", self.name));
        }
        if let Some(mut f) = self.file.take() {
            f.flush().await.map_err(io)?;
            f.sync_all().await.map_err(io)?;
        }
        if self.name.ends_with(".minisig") {
            return Ok(());
        }
        // A file built for another platform the engine ships for is a plugin (the engine of that
        // platform takes it; this one refuses it with one line): it is kept.
        let part = self.part.clone();
        let checked =
            tokio::task::spawn_blocking(move || inspect::read_declaration_file_any_platform(&part))
                .await
                .map_err(|e| format!("the check of {} stopped: {e}", target.display()))?;
        checked.map(|_| ()).map_err(|e| {
            let why = e.to_string().replace(
                &self.part.display().to_string(),
                &target.display().to_string(),
            );
            format!(
                "{} is not a plugin library, so it was not kept: {why}",
                self.name
            )
        })
    }
}

impl Drop for PluginUpload {
    fn drop(&mut self) {
        // Renamed into place when taken; otherwise (refused, abandoned) it must not stay. It is
        // closed first: Windows does not remove an open file.
        if let Some(f) = self.file.take()
            && let Ok(f) = f.try_into_std()
        {
            drop(f);
        }
        let _ = std::fs::remove_file(&self.part);
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn plugin_file_names_are_plain_on_every_platform() {
        for ok in [
            "libacme.so",
            "acme.dll",
            "acme.dll.minisig",
            "lib-acme_2.so",
            "console.dll",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".hidden.so",
            "../x.so",
            "a/b.so",
            "a\\b.dll",
            "ab:x.dll",
            "x.so\n",
            "NUL.dll",
            "com1.dll",
            "LPT9.so",
            "acme.dll ",
            "notes.txt",
            "a*b.so",
            "a?.so",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}

//! Content-addressed shadow copies of plugin files.
//!
//! glibc's `dlopen` returns the already-loaded handle for a path it has seen, so loading a replaced
//! file at the same path would silently run the old code, and Windows locks a loaded DLL. The engine
//! therefore loads `<cache>/<sha256>.<ext>`: the user may overwrite the original at any time, and two
//! versions of a plugin can be loaded side by side.

use sha2::{Digest, Sha256};
use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `<cache_dir>/<sha256>.<ext>` unless it is already there, and returns that path.
/// The copy is written to a temporary name and renamed, so a crash never leaves a partial copy
/// under the final name.
pub fn shadow_copy(
    cache_dir: &Path,
    original: &Path,
    bytes: &[u8],
    sha256: &str,
) -> io::Result<PathBuf> {
    let ext = original
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("so");
    let target = cache_dir.join(format!("{sha256}.{ext}"));
    if let Ok(meta) = fs::metadata(&target)
        && meta.len() == bytes.len() as u64
    {
        return Ok(target);
    }
    fs::create_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!(".{sha256}.{}.tmp", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_copy_new_content_new_copy() {
        let dir = tempfile::tempdir().unwrap();
        let a = shadow_copy(
            dir.path(),
            Path::new("/x/p.so"),
            b"one",
            &sha256_hex(b"one"),
        )
        .unwrap();
        let b = shadow_copy(
            dir.path(),
            Path::new("/y/q.so"),
            b"one",
            &sha256_hex(b"one"),
        )
        .unwrap();
        let c = shadow_copy(
            dir.path(),
            Path::new("/x/p.so"),
            b"two",
            &sha256_hex(b"two"),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(fs::read(&c).unwrap(), b"two");
        assert!(a.to_str().unwrap().ends_with(".so"));
    }
}

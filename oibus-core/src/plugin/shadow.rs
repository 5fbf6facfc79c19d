//! Content-addressed shadow copies of plugin files.
//!
//! glibc's `dlopen` returns the already-loaded handle for a path it has seen, so loading a replaced
//! file at the same path would silently run the old code, and Windows locks a loaded DLL. The engine
//! therefore loads `<cache>/<sha256>.<ext>`: the user may overwrite the original at any time, and two
//! versions of a plugin can be loaded side by side. An index keyed by file identity (device, inode,
//! size, change time) remembers which copy a file version has, so a restart neither reads nor
//! hashes plugins that did not change.

use sha2::{Digest, Sha256};
use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

/// Copies `original` into `cache_dir` under the SHA-256 of its content, reading it once in
/// chunks (hashing while copying, never holding the file in memory). Returns the copy, its hash
/// and its size. An existing copy of the same content is kept.
pub fn copy_hashed(cache_dir: &Path, original: &Path) -> io::Result<(PathBuf, String, u64)> {
    use std::io::Read;
    fs::create_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!(
        ".incoming.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut source = fs::File::open(original)?;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    {
        let mut out = fs::File::create(&tmp)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            len += n as u64;
        }
        out.sync_all()?;
    }
    let sha256 = hex::encode(hasher.finalize());
    let ext = original
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("so");
    let target = cache_dir.join(format!("{sha256}.{ext}"));
    if fs::metadata(&target).is_ok_and(|m| m.len() == len) {
        fs::remove_file(&tmp)?;
    } else {
        fs::rename(&tmp, &target)?;
    }
    Ok((target, sha256, len))
}

/// What identifies one version of a file without reading it: device, inode, size and change time
/// (which no one can set back). `None` where the platform does not say.
pub fn identity(meta: &fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some(format!(
            "{:x}-{:x}-{:x}-{:x}.{:x}",
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.ctime(),
            meta.ctime_nsec()
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

fn index_entry(cache_dir: &Path, identity: &str) -> PathBuf {
    cache_dir.join("index").join(identity)
}

/// The checked copy of the file version `identity`, if it was made before: `(copy, sha256)`.
pub fn lookup(cache_dir: &Path, identity: &str, len: u64) -> Option<(PathBuf, String)> {
    let text = fs::read_to_string(index_entry(cache_dir, identity)).ok()?;
    let copy = PathBuf::from(text.trim());
    let sha = copy.file_stem()?.to_str()?.to_string();
    (fs::metadata(&copy).ok()?.len() == len).then_some((copy, sha))
}

/// Remembers that the file version `identity` was checked and copied to `copy`.
pub fn remember(cache_dir: &Path, identity: &str, copy: &Path) -> io::Result<()> {
    let entry = index_entry(cache_dir, identity);
    fs::create_dir_all(entry.parent().unwrap_or(cache_dir))?;
    fs::write(entry, copy.to_string_lossy().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_copy_new_content_new_copy() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let (p, q) = (dir.path().join("p.so"), dir.path().join("q.so"));
        fs::write(&p, b"one").unwrap();
        fs::write(&q, b"one").unwrap();
        let (a, ..) = copy_hashed(&cache, &p).unwrap();
        let (b, ..) = copy_hashed(&cache, &q).unwrap();
        fs::write(&p, b"two").unwrap();
        let (c, ..) = copy_hashed(&cache, &p).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(fs::read(&c).unwrap(), b"two");
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert!(a.to_str().unwrap().ends_with(".so"));
    }

    #[test]
    fn streamed_copy_is_named_by_its_hash_and_remembered_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("p.so");
        let content = vec![7u8; 3 << 20];
        fs::write(&original, &content).unwrap();
        let cache = dir.path().join("cache");
        let (copy, sha, len) = copy_hashed(&cache, &original).unwrap();
        assert_eq!(sha, hex::encode(Sha256::digest(&content)));
        assert_eq!(len, content.len() as u64);
        assert_eq!(fs::read(&copy).unwrap(), content);
        let id = identity(&fs::metadata(&original).unwrap());
        if let Some(id) = id {
            assert!(lookup(&cache, &id, len).is_none());
            remember(&cache, &id, &copy).unwrap();
            assert_eq!(lookup(&cache, &id, len), Some((copy.clone(), sha.clone())));
            // Rewritten: another identity.
            fs::write(&original, b"other").unwrap();
            let id2 = identity(&fs::metadata(&original).unwrap()).unwrap();
            assert_ne!(id, id2);
        }
        let leftovers = fs::read_dir(&cache)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}

//! Content-addressed shadow copies of plugin files.
//!
//! glibc's `dlopen` returns the already-loaded handle for a path it has seen, so loading a replaced
//! file at the same path would silently run the old code, and Windows locks a loaded DLL. The engine
//! therefore loads `<cache>/<sha256>.<ext>`: the user may overwrite the original at any time, and two
//! versions of a plugin can be loaded side by side. An index keyed by file identity (device, inode,
//! size, change time) remembers which copy a file version has, so a restart neither reads nor
//! hashes plugins that did not change.
//!
//! Whatever is in this folder is loaded into the engine, so it must be the engine user's alone:
//! [`ensure_private`] checks its owner and mode before each use, a copy is trusted only by its
//! content hash (or, through the index, by the identity it had when it was made), never by its
//! size or name.

use sha2::{Digest, Sha256};
use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

/// Makes sure `dir` exists and is private to this user (created private; an existing folder of
/// this user made private); a folder of another user, a link or a file is refused, naming both
/// users.
pub fn ensure_private(dir: &Path) -> io::Result<()> {
    use oibus_platform::private::{PrivateError, ensure_dir};
    ensure_dir(dir).map_err(|e| match e {
        PrivateError::NotAFolder(_) => io::Error::other(format!(
            "the plugin cache {} is not a folder (a link or a file): refusing to load plugins through it",
            dir.display()
        )),
        PrivateError::OtherOwner { owner, me, .. } => io::Error::other(format!(
            "the plugin cache {} belongs to user {owner} and this engine runs as user {me}: another user could plant code there; refusing to load plugins through it (give --data, or remove that folder)",
            dir.display()
        )),
        PrivateError::Io { source, .. } => source,
    })
}

/// The SHA-256 of the file at `path`, read in chunks.
fn hash_file(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut f = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Copies `original` into `cache_dir` under the SHA-256 of its content, reading it once in
/// chunks (hashing while copying, never holding the file in memory). Returns the copy, its hash
/// and its size. An existing copy of the same content is kept.
pub fn copy_hashed(cache_dir: &Path, original: &Path) -> io::Result<(PathBuf, String, u64)> {
    use std::io::Read;
    ensure_private(cache_dir)?;
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
    // An existing copy is kept only if its content is this content.
    if fs::metadata(&target).is_ok_and(|m| m.len() == len)
        && hash_file(&target).is_ok_and(|h| h == sha256)
    {
        fs::remove_file(&tmp)?;
    } else {
        fs::rename(&tmp, &target)?;
    }
    Ok((target, sha256, len))
}

/// What identifies one version of a file without reading it (device, inode, size and change
/// time on Linux). `None` where the platform does not say.
pub fn identity(meta: &fs::Metadata) -> Option<String> {
    oibus_platform::file_marks::identity(meta)
}

fn index_entry(cache_dir: &Path, identity: &str) -> PathBuf {
    cache_dir.join("index").join(identity)
}

/// The checked copy of the file version `identity`, if it was made before: `(copy, sha256)`.
/// The copy must still be the very file that was made (same identity: any change to it, even
/// of the same size, changes its change time), else it is not used.
pub fn lookup(cache_dir: &Path, identity: &str, len: u64) -> Option<(PathBuf, String)> {
    ensure_private(cache_dir).ok()?;
    let text = fs::read_to_string(index_entry(cache_dir, identity)).ok()?;
    let (copy, made) = text.trim().split_once('\n')?;
    let copy = PathBuf::from(copy);
    let sha = copy.file_stem()?.to_str()?.to_string();
    let meta = fs::symlink_metadata(&copy).ok()?;
    let same =
        meta.is_file() && meta.len() == len && self::identity(&meta).as_deref() == Some(made);
    same.then_some((copy, sha))
}

/// Remembers that the file version `identity` was checked and copied to `copy`.
pub fn remember(cache_dir: &Path, identity: &str, copy: &Path) -> io::Result<()> {
    let entry = index_entry(cache_dir, identity);
    fs::create_dir_all(entry.parent().unwrap_or(cache_dir))?;
    let made = self::identity(&fs::metadata(copy)?).unwrap_or_default();
    fs::write(entry, format!("{}\n{made}", copy.to_string_lossy()))
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

    #[test]
    fn a_planted_copy_of_the_right_size_is_replaced_and_a_changed_copy_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let original = dir.path().join("p.so");
        fs::write(&original, b"the real library").unwrap();
        let sha = hex::encode(Sha256::digest(b"the real library"));
        // Someone put other code of the same length under the expected name.
        ensure_private(&cache).unwrap();
        fs::write(cache.join(format!("{sha}.so")), b"planted code!!!!").unwrap();
        let (copy, ..) = copy_hashed(&cache, &original).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), b"the real library");
        // Indexed, then changed in place (same size): the index no longer vouches for it.
        if let Some(id) = identity(&fs::metadata(&original).unwrap()) {
            remember(&cache, &id, &copy).unwrap();
            assert!(lookup(&cache, &id, 16).is_some());
            std::thread::sleep(std::time::Duration::from_millis(20));
            fs::write(&copy, b"planted code!!!!").unwrap();
            assert!(lookup(&cache, &id, 16).is_none());
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_made_private_and_a_folder_of_another_user_is_refused() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        ensure_private(&open).unwrap();
        assert_eq!(fs::metadata(&open).unwrap().mode() & 0o777, 0o700);
        let fresh = dir.path().join("a/b/cache");
        ensure_private(&fresh).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
        // Another user's folder (as root, the tests can make one: CI runs as root).
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let theirs = dir.path().join("theirs");
            fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            let e = ensure_private(&theirs).unwrap_err();
            assert!(e.to_string().contains("belongs to user 65534"), "{e}");
        }
    }
}

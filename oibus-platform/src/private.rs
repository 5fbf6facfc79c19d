//! Files and folders only their owner can read: the admin token, signing keys, OPC UA private
//! keys, the plugin cache (whatever is there is loaded into the engine).
//!
//! Linux: modes 0600 and 0700, and the owner's user id. Windows: a protected access list (no
//! inherited entries) granting everything to the owner alone, and the owner's SID.

use std::{fs::File, io, path::Path};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Why a folder cannot be used as a private one.
#[derive(Debug, thiserror::Error)]
pub enum PrivateError {
    /// The path is a link or a file.
    #[error("{0} is not a folder (a link or a file)")]
    NotAFolder(String),
    /// Another user owns it: that user could put files there.
    #[error("{path} belongs to user {owner} and this process runs as user {me}")]
    OtherOwner {
        /// The folder.
        path: String,
        /// Its owner (a user id on Unix, a SID on Windows).
        owner: String,
        /// This process's user.
        me: String,
    },
    /// Reading or changing it failed.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: String,
        /// What the system said.
        source: io::Error,
    },
}

/// How [`create_file`] treats an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Fail: an existing file is never overwritten (keys).
    Refuse,
    /// Truncate and replace its content (a token written anew).
    Replace,
}

/// Creates the file `path` for writing, readable and writable by this user alone.
///
/// On Windows the access list is set right after creation, before anything is written.
pub fn create_file(path: &Path, existing: Existing) -> io::Result<File> {
    let mut options = File::options();
    options.write(true);
    match existing {
        Existing::Refuse => options.create_new(true),
        Existing::Replace => options.create(true).truncate(true),
    };
    imp::owner_only_on_create(&mut options);
    let file = options.open(path)?;
    imp::restrict_file(path)?;
    Ok(file)
}

/// Makes sure `dir` exists, belongs to this user and is private to it: created private when
/// missing; an existing folder of this user is made private; a folder of another user, a link
/// or a file is refused.
pub fn ensure_dir(dir: &Path) -> Result<(), PrivateError> {
    let io = |source| PrivateError::Io {
        path: dir.display().to_string(),
        source,
    };
    if !dir.exists() {
        imp::create_dir(dir).map_err(io)?;
    }
    let meta = std::fs::symlink_metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(PrivateError::NotAFolder(dir.display().to_string()));
    }
    if let Some((owner, me)) = imp::foreign_owner(dir, &meta).map_err(io)? {
        return Err(PrivateError::OtherOwner {
            path: dir.display().to_string(),
            owner,
            me,
        });
    }
    imp::restrict_dir(dir, &meta).map_err(io)
}

/// Makes the existing file or folder `path` private to its owner (files read-write, folders
/// also listable; on Windows, what is created in a folder inherits its access list).
pub fn restrict(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        imp::restrict_dir(path, &meta)
    } else {
        imp::restrict_file(path)
    }
}

/// This process's user, as a name fit for a file name (the user id on Unix, the user name on
/// Windows).
pub fn user_tag() -> String {
    imp::user_tag()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_private_file_is_refused_when_it_exists_or_replaced_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        create_file(&path, Existing::Refuse)
            .unwrap()
            .write_all(b"one")
            .unwrap();
        let again = create_file(&path, Existing::Refuse).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        create_file(&path, Existing::Replace)
            .unwrap()
            .write_all(b"two")
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_owner_only(&path);
    }

    /// Checks that `path` is its owner's alone, where the system keeps what was set (Wine, which
    /// the Windows tests run under here, derives access lists from Unix modes: there the calls
    /// are checked to succeed, and the lists are not read back).
    fn assert_owner_only(path: &Path) {
        if imp::keeps_access_lists() {
            assert!(imp::is_owner_only(path).unwrap(), "{}", path.display());
        } else {
            eprintln!(
                "not read back (Wine keeps no access lists): {}",
                path.display()
            );
        }
    }

    #[test]
    fn a_private_folder_is_made_and_an_open_one_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("a").join("b");
        ensure_dir(&made).unwrap();
        assert!(made.is_dir());
        assert_owner_only(&made);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        imp::open_to_everyone(&open).unwrap();
        if imp::keeps_access_lists() {
            assert!(!imp::is_owner_only(&open).unwrap());
        }
        ensure_dir(&open).unwrap();
        assert_owner_only(&open);
        std::fs::write(open.join("f"), b"x").unwrap();
        restrict(&open.join("f")).unwrap();
        assert_owner_only(&open.join("f"));
    }

    #[test]
    fn a_file_is_not_a_private_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let e = ensure_dir(&file).unwrap_err();
        assert!(matches!(e, PrivateError::NotAFolder(_)), "{e}");
        assert!(e.to_string().contains("not a folder"), "{e}");
    }

    #[test]
    fn the_user_tag_is_a_plain_name() {
        let tag = user_tag();
        assert!(!tag.is_empty());
        assert!(!tag.contains(['/', '\\']), "{tag}");
    }
}

//! Cached file copies in slot folders (`0/`, `1/`…) of a North's files folder: a copy is written
//! whole under its real name in the first slot without a file of that name, made durable with
//! its folder, and removed at the next start-up if no record refers to it (a crash between the
//! copy and its record).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub(super) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Places a file called `name` in the first slot folder of `files_dir` (`0`, `1`…) where
/// `place` succeeds: `place` is given the path to create and must fail with `AlreadyExists`
/// rather than replace a file (a name still handed out to a North stays untouched). Returns
/// the path and what `place` returned. With `durable`, a slot folder created here is made
/// durable in `files_dir`, so that a file's own folder entry is all a caller needs to sync.
pub(super) fn place_in_slot<T>(
    files_dir: &Path,
    name: &str,
    durable: bool,
    mut place: impl FnMut(&Path) -> std::io::Result<T>,
) -> std::io::Result<(PathBuf, T)> {
    for slot in 0u32.. {
        let folder = files_dir.join(slot.to_string());
        if !folder.is_dir() {
            std::fs::create_dir_all(&folder)?;
            if durable {
                oibus_platform::durable::sync_dir(files_dir)?;
            }
        }
        let target = folder.join(name);
        match place(&target) {
            Ok(placed) => return Ok((target, placed)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("slots are unbounded")
}

/// Writes a new file called `name` with `write` into the first slot folder of `files_dir`
/// without one (see [`place_in_slot`]); returns its path and what `write` returned (its
/// size). With `durable`, the file and its folder entry are synced before it returns.
pub(super) fn copy_into_slot(
    files_dir: &Path,
    name: &str,
    durable: bool,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<u64>,
) -> std::io::Result<(PathBuf, u64)> {
    let (target, mut f) = place_in_slot(files_dir, name, durable, |target| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(target)
    })?;
    // Until its record is committed the copy is an orphan, removed at the next start-up if a
    // crash comes first.
    let size = write(&mut f)?;
    if durable {
        f.sync_all()?;
        if let Some(folder) = target.parent() {
            oibus_platform::durable::sync_dir(folder)?;
        }
    }
    Ok((target, size))
}

/// When this process first opened a queue (before it could copy any file).
pub(super) fn process_start() -> std::time::SystemTime {
    static START: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::SystemTime::now)
}

/// Removes the copies in the slot folders of `files_dir` that no record refers to (left by a
/// crash between the copy and its record). Returns how many.
pub(super) fn remove_orphans(
    files_dir: &Path,
    known: &std::collections::HashSet<PathBuf>,
) -> usize {
    let mut removed = 0;
    let Ok(slots) = std::fs::read_dir(files_dir) else {
        return 0;
    };
    for slot in slots.flatten() {
        let is_slot = slot.file_name().to_string_lossy().parse::<u32>().is_ok();
        if !is_slot || !slot.path().is_dir() {
            continue;
        }
        let Ok(files) = std::fs::read_dir(slot.path()) else {
            continue;
        };
        for f in files.flatten() {
            // Only what an earlier process left: a copy this process is making has no record
            // yet either. (The margin covers the coarse clock of file times.)
            let earlier = f
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t + Duration::from_secs(2) < process_start());
            if earlier && !known.contains(&f.path()) && std::fs::remove_file(f.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

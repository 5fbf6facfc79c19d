//! Unix: folders are synced through a handle of their own; on Linux, a batch of files by one
//! `syncfs` of their file system.

use std::{fs::File, io, path::Path};

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)?;
    match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

#[cfg(target_os = "linux")]
pub fn sync_files_in(dir: &Path, _files: &[&File]) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let folder = File::open(dir)?;
    // SAFETY: the descriptor is open for the whole call (`folder` lives past it).
    if unsafe { libc::syncfs(folder.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub fn sync_files_in(dir: &Path, files: &[&File]) -> io::Result<()> {
    File::open(dir)?;
    files.iter().try_for_each(|f| f.sync_all())
}

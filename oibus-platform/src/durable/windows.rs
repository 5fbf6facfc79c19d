//! Windows: no folder sync (a folder cannot be opened for flushing; NTFS journals its entries, and
//! a file's own flush covers its metadata, which is how SQLite treats Windows too), and renames
//! written through.

use std::{io, os::windows::ffi::OsStrExt as _, path::Path};
use windows_sys::Win32::Storage::FileSystem::{
    MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW,
};

pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Windows has no flush of a whole volume short of administrator rights: each file's own.
pub fn sync_files_in(dir: &Path, files: &[&std::fs::File]) -> io::Result<()> {
    std::fs::metadata(dir)?;
    files.iter().try_for_each(|f| f.sync_all())
}

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain([0]).collect() };
    let (from, to) = (wide(from), wide(to));
    // SAFETY: both strings are NUL-terminated and live across the call.
    let ok = unsafe {
        MoveFileExW(
            from.as_ptr(),
            to.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

//! Unix: modes 0600 and 0700, owners by user id.

use std::{
    fs, io,
    os::unix::fs::{
        DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
    },
    path::Path,
};

fn me() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub fn owner_only_on_create(options: &mut fs::OpenOptions) {
    options.mode(0o600);
}

pub fn restrict_file(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

pub fn create_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub fn foreign_owner(_dir: &Path, meta: &fs::Metadata) -> io::Result<Option<(String, String)>> {
    let me = me();
    Ok((meta.uid() != me).then(|| (meta.uid().to_string(), me.to_string())))
}

pub fn restrict_dir(dir: &Path, meta: &fs::Metadata) -> io::Result<()> {
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

pub fn user_tag() -> String {
    me().to_string()
}

#[cfg(test)]
pub fn keeps_access_lists() -> bool {
    true
}

#[cfg(test)]
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    Ok(fs::metadata(path)?.mode() & 0o077 == 0)
}

#[cfg(test)]
pub fn open_to_everyone(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o777))
}

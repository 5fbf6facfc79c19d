//! Files written whole: a temporary file beside the target, synced, then renamed over it, so that
//! a crash leaves the old file or the new one, never half of one.

use std::path::Path;

/// `bytes` written to a temporary file beside `path` (extension `tmp_extension`), synced, then
/// renamed over `path` durably: a crash leaves the old file or the new one, never half of one.
pub fn write(path: &Path, bytes: &[u8], tmp_extension: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension(tmp_extension);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    oibus_platform::durable::rename(&tmp, path)
}

//! The bearer token of the admin API: from the configuration, or generated at first start and kept
//! in `<data>/admin-token`, readable by its owner only.

use std::{io::Write, path::Path};

/// The token file's name in the data folder.
pub const TOKEN_FILE: &str = "admin-token";

/// The configured token, else the one stored in `data`, else a new one stored there.
pub fn load_or_create(configured: Option<&str>, data: &Path) -> std::io::Result<String> {
    if let Some(t) = configured.filter(|t| !t.is_empty()) {
        return Ok(t.to_string());
    }
    let path = data.join(TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let token = hex::encode(bytes);
    let mut f =
        oibus_platform::private::create_file(&path, oibus_platform::private::Existing::Replace)?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    Ok(token)
}

/// Compares without leaking, through timing, how much of the token was right.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(None, dir.path()).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(load_or_create(None, dir.path()).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create(Some("set"), dir.path()).unwrap(), "set");
        assert!(matches(&a, &a) && !matches(&a, "x") && !matches(&a, &a[..63]));
    }
}

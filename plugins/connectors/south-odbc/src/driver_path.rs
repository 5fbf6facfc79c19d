//! Where the driver of a connection string is, for the driver manager the plugin carries.
//!
//! Linux distributions register drivers by bare file name (`Driver=psqlodbcw.so` in
//! `/etc/odbcinst.ini`) and patch their own unixODBC to look in their `odbc` library folder; the
//! built-in driver manager only asks the dynamic loader, which does not look there. So before
//! connecting, a driver named by registration or by bare file name is resolved to the full path
//! of the file found in the usual folders, and the connection string names that path. On Windows
//! the system's driver manager finds its drivers itself: the string is left as it is.

#[cfg(unix)]
mod unix {
    use std::path::{Path, PathBuf};

    /// The folders searched for a driver named by file name only, in order.
    fn folders() -> Vec<PathBuf> {
        let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
        [
            format!("/usr/lib/{triple}/odbc"),
            format!("/usr/lib/{triple}"),
            "/usr/lib64".into(),
            "/usr/lib/odbc".into(),
            "/usr/lib".into(),
            "/usr/local/lib".into(),
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect()
    }

    /// The `odbcinst.ini` the driver manager reads.
    fn registry() -> PathBuf {
        if let Some(file) = std::env::var_os("ODBCINSTINI").filter(|f| Path::new(f).is_absolute()) {
            return PathBuf::from(file);
        }
        let folder = std::env::var_os("ODBCSYSINI").unwrap_or_else(|| "/etc".into());
        Path::new(&folder).join("odbcinst.ini")
    }

    /// The `Driver` of section `name` of an INI text.
    pub fn registered(ini: &str, name: &str) -> Option<String> {
        let mut in_section = false;
        for line in ini.lines().map(str::trim) {
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_section = section.trim().eq_ignore_ascii_case(name);
            } else if in_section
                && let Some((key, value)) = line.split_once('=')
                && key.trim().eq_ignore_ascii_case("driver")
            {
                return Some(value.trim().to_string());
            }
        }
        None
    }

    /// The value of the `Driver` keyword of a connection string, with its span.
    pub fn driver_keyword(cs: &str) -> Option<(usize, usize, String)> {
        let mut at = 0;
        for part in cs.split_inclusive(';') {
            let trimmed = part.trim_start();
            let lead = part.len() - trimmed.len();
            if let Some((key, value)) = trimmed.split_once('=')
                && key.trim().eq_ignore_ascii_case("driver")
            {
                let raw = value.trim_end_matches(';');
                let start = at + lead + key.len() + 1 + (raw.len() - raw.trim_start().len());
                let value = raw.trim();
                let end = start + value.len();
                let name = value.trim_start_matches('{').trim_end_matches('}');
                return Some((start, end, name.to_string()));
            }
            at += part.len();
        }
        None
    }

    /// The connection string with its driver resolved to a full path where it can be.
    pub fn resolve(cs: &str, ini: Option<&str>, exists: &dyn Fn(&Path) -> bool) -> String {
        let Some((start, end, name)) = driver_keyword(cs) else {
            return cs.to_string();
        };
        let file = if name.contains('/') {
            return cs.to_string();
        } else if name.ends_with(".so") || name.contains(".so.") {
            name
        } else {
            match ini.and_then(|text| registered(text, &name)) {
                Some(f) => f,
                None => return cs.to_string(),
            }
        };
        let path = if file.starts_with('/') {
            Some(PathBuf::from(&file))
        } else {
            folders()
                .into_iter()
                .map(|d| d.join(&file))
                .find(|p| exists(p))
        };
        match path {
            Some(p) => format!("{}{}{}", &cs[..start], p.display(), &cs[end..]),
            None => cs.to_string(),
        }
    }

    /// [`resolve`] against this machine's registry and files.
    pub fn resolved(cs: &str) -> String {
        let ini = std::fs::read_to_string(registry()).ok();
        resolve(cs, ini.as_deref(), &|p: &Path| p.is_file())
    }
}

/// The connection string the driver manager is given.
#[cfg(unix)]
pub fn resolved(connection_string: &str) -> String {
    unix::resolved(connection_string)
}

/// The connection string the driver manager is given.
#[cfg(windows)]
pub fn resolved(connection_string: &str) -> String {
    connection_string.to_string()
}

#[cfg(all(test, unix))]
mod tests {
    use super::unix::*;
    use std::path::Path;

    const INI: &str = "[PostgreSQL Unicode]\nDescription=x\nDriver=psqlodbcw.so\n\n[Full]\nDriver = /opt/x/libx.so\n";

    #[test]
    fn registered_names_and_bare_files_become_full_paths() {
        let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
        let odbc = format!("/usr/lib/{triple}/odbc/psqlodbcw.so");
        let exists = |p: &Path| p.to_str() == Some(odbc.as_str());
        assert_eq!(
            resolve("Driver={PostgreSQL Unicode};Server=h", Some(INI), &exists),
            format!("Driver={odbc};Server=h")
        );
        assert_eq!(
            resolve("Server=h; driver = psqlodbcw.so ;Uid=u", Some(INI), &exists),
            format!("Server=h; driver = {odbc} ;Uid=u")
        );
        assert_eq!(
            resolve("Driver=Full;Server=h", Some(INI), &exists),
            "Driver=/opt/x/libx.so;Server=h"
        );
        // Unknown names, absolute paths, DSNs and files not found are left to the manager.
        for cs in [
            "Driver={Nope};S=h",
            "Driver=/a/b.so",
            "DSN=plant",
            "Driver=missing.so",
        ] {
            assert_eq!(resolve(cs, Some(INI), &exists), cs);
        }
        assert_eq!(
            registered(INI, "postgresql unicode").as_deref(),
            Some("psqlodbcw.so")
        );
    }
}

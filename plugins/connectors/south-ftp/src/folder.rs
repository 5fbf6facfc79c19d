//! The remote folder over an FTP session: `MLSD`/`MLST` where the server offers them (exact
//! times), `LIST` otherwise (times to the minute), `RETR` into the local copy, `DELE`, and
//! `RNFR`/`RNTO` to move.

use crate::session::{Connection, is_missing};
use oibus_folder_common::{
    Listed, RemoteFolder,
    listing::FileStamp,
    remote::{copy_until_idle, join, unique_name},
};
use oibus_plugin_api::{PluginError, Result};
use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};
use suppaftp::list::{File, ListParser};
use tokio::io::AsyncReadExt;

const SECOND: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * SECOND;
const DAY: i64 = 24 * 60 * MINUTE;

/// A folder of an FTP server.
pub struct FtpFolder<'a> {
    /// The logged-in session.
    pub conn: &'a mut Connection,
    /// The folder's path on the server.
    pub folder: &'a str,
}

/// A parsed listing line, its time's precision: a second for `MLSD`; for `LIST`, a minute for
/// recent files (`Dec  5 12:34`) and a day for those older than six months (`Dec  5  2025`).
fn listed(file: &File, mlsd: bool) -> Listed {
    let modified = file
        .modified()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let precision = if mlsd {
        SECOND
    } else {
        let age = SystemTime::now()
            .duration_since(file.modified())
            .map_or(0, |d| d.as_secs());
        if age > 180 * 24 * 3600 { DAY } else { MINUTE }
    };
    let stamp = FileStamp {
        modified,
        size: file.size() as u64,
    };
    let name = file
        .name()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Listed::new(name, stamp, precision)
}

fn parse(line: &str, mlsd: bool) -> Option<File> {
    let parsed = if mlsd {
        ListParser::parse_mlsd(line)
    } else {
        // Unix servers, then Windows (IIS) ones; `total 12` and such lines are not files.
        ListParser::parse_posix(line).or_else(|_| ListParser::parse_dos(line))
    };
    parsed.ok().filter(File::is_file)
}

impl RemoteFolder for FtpFolder<'_> {
    async fn list(&mut self) -> Result<Vec<Listed>> {
        let c = &mut *self.conn;
        let what = format!("cannot list remote_folder {}", self.folder);
        let lines = if c.mlsd {
            c.bounds.run(&what, c.ftp.mlsd(Some(self.folder))).await?
        } else {
            c.bounds.run(&what, c.ftp.list(Some(self.folder))).await?
        };
        let mlsd = c.mlsd;
        Ok(lines
            .iter()
            .filter_map(|l| parse(l, mlsd))
            .map(|f| listed(&f, mlsd))
            .collect())
    }

    async fn stat(&mut self, name: &str) -> Result<Option<FileStamp>> {
        let c = &mut *self.conn;
        let path = join(self.folder, name);
        let what = format!("cannot stat {path}");
        let line = if c.mlsd {
            match c.bounds.answer(&what, c.ftp.mlst(Some(&path))).await? {
                Err(e) if is_missing(&e) => return Ok(None),
                result => vec![result.map_err(|e| c.bounds.error(&what, e))?],
            }
        } else {
            // `LIST <file>` lists that one file (and nothing when it is gone).
            c.bounds.run(&what, c.ftp.list(Some(&path))).await?
        };
        let mlsd = c.mlsd;
        Ok(line
            .iter()
            .filter_map(|l| parse(l.trim(), mlsd))
            .map(|f| listed(&f, mlsd))
            .find(|f| f.name == name)
            .map(|f| f.stamp))
    }

    async fn download(&mut self, name: &str, to: &Path, limit: u64) -> Result<u64> {
        let path = join(self.folder, name);
        let c = &mut *self.conn;
        let what = format!("cannot read {path}");
        let mut data = c.bounds.run(&what, c.ftp.retr_as_stream(&path)).await?;
        let mut local = tokio::fs::File::create(to)
            .await
            .map_err(|e| PluginError::transient(format!("cannot create {}: {e}", to.display())))?;
        let copied =
            copy_until_idle(&mut (&mut data).take(limit), &mut local, c.bounds.timeout).await;
        let bytes = match copied {
            Ok(bytes) => bytes,
            // The control connection is in the middle of a transfer: only a new one is usable.
            Err(e) => {
                return Err(PluginError::connection_lost(format!(
                    "{}: {what}: {e}",
                    c.bounds.server
                )));
            }
        };
        c.bounds.run(&what, data.finish()).await?;
        Ok(bytes)
    }

    async fn remove(&mut self, name: &str) -> Result<()> {
        let path = join(self.folder, name);
        let c = &mut *self.conn;
        c.bounds
            .run(&format!("cannot delete {path}"), c.ftp.rm(path.as_str()))
            .await
    }

    async fn move_into(&mut self, name: &str, folder: &str) -> Result<()> {
        let c = &mut *self.conn;
        // Made if missing; an error (it exists) is told apart by the rename below.
        let _ = tokio::time::timeout(c.bounds.timeout, c.ftp.mkdir(folder)).await;
        let from = join(self.folder, name);
        let mut to = join(folder, name);
        // Many servers (vsftpd among them) replace an existing target: never overwrite.
        let what = format!("cannot stat {to}");
        let exists = match c.bounds.answer(&what, c.ftp.size(&to)).await? {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(c.bounds.error(&what, e)),
        };
        if exists {
            to = join(folder, &unique_name(name));
        }
        c.bounds
            .run(
                &format!("cannot move {from} to {to}"),
                c.ftp.rename(from.as_str(), to.as_str()),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed_lines(lines: &[&str], mlsd: bool) -> Vec<Listed> {
        lines
            .iter()
            .filter_map(|l| parse(l, mlsd))
            .map(|f| listed(&f, mlsd))
            .collect()
    }

    #[test]
    fn unix_and_windows_listings_give_files_only_with_their_time_s_precision() {
        let files = listed_lines(
            &[
                "total 12",
                "-rw-r--r--    1 1001     1001            6 Dec 05 12:40 a b.csv",
                "-rw-r--r--    1 0        0            1234 Jan 02  2020 old.csv",
                "drwxr-xr-x    2 0        0            4096 Dec 05 12:40 sub",
                "lrwxrwxrwx    1 0        0               5 Dec 05 12:40 link -> a.csv",
                "12-05-26  12:40PM                    7 win.csv",
                "12-05-26  12:40PM       <DIR>          folder",
            ],
            false,
        );
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a b.csv", "old.csv", "win.csv"]);
        assert_eq!(files[0].stamp.size, 6);
        assert_eq!(files[0].precision, MINUTE);
        assert_eq!(files[1].precision, DAY);
        assert_eq!(files[2].stamp.size, 7);
    }

    #[test]
    fn mlsd_gives_exact_times_and_skips_folders() {
        let files = listed_lines(
            &[
                "type=cdir;modify=20261205124000; .",
                "type=dir;modify=20261205124000; sub",
                "type=file;size=42;modify=20261205124001; data.csv",
            ],
            true,
        );
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "data.csv");
        assert_eq!(files[0].stamp.size, 42);
        assert_eq!(files[0].precision, SECOND);
        assert_eq!(files[0].stamp.modified, 1_796_474_401 * SECOND);
    }

    #[test]
    fn a_listed_path_gives_only_its_last_component() {
        // What `LIST <file>` answers on some servers, and what a hostile one could list: the
        // parser keeps the last component, so no download leaves the folder.
        let files = listed_lines(
            &["-rw-r--r--    1 0        0               6 Dec 05 12:40 ../../etc/passwd"],
            false,
        );
        assert_eq!(files[0].name, "passwd");
    }
}

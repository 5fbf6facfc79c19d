//! The remote folder over an SFTP session: listing, download, delete and move, with the SFTP
//! errors sorted into "this file failed" and "the connection is gone".

use oibus_folder_common::{
    Listed, RemoteFolder,
    listing::FileStamp,
    remote::{copy_until_idle, join, unique_name},
};
use oibus_plugin_api::{PluginError, Result, tokio};
use russh_sftp::client::{SftpSession, error::Error as SftpError};
use russh_sftp::protocol::{FileAttributes, FileType, StatusCode};
use std::{path::Path, time::Duration};

/// A folder of an SFTP server.
pub struct SftpFolder<'a> {
    /// The open session.
    pub sftp: &'a SftpSession,
    /// The folder's path on the server.
    pub folder: &'a str,
    /// `host:port`, for messages.
    pub server: &'a str,
    /// The longest wait for data during a download.
    pub idle: Duration,
}

/// The SFTP time of a file: whole seconds.
const SECOND: i64 = 1_000_000_000;

fn stamp(attrs: &FileAttributes) -> FileStamp {
    FileStamp {
        modified: attrs.mtime.map_or(0, |s| i64::from(s) * SECOND),
        size: attrs.size.unwrap_or(0),
    }
}

fn is_missing(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// An SFTP error of `what` on `server`: a status of the server fails that operation; anything
/// else (time-out, closed channel, protocol error) means the connection is gone.
pub fn sftp_error(server: &str, what: &str, e: SftpError) -> PluginError {
    let message = format!("{server}: {what}: {e}");
    match e {
        SftpError::Status(s)
            if !matches!(
                s.status_code,
                StatusCode::NoConnection | StatusCode::ConnectionLost
            ) =>
        {
            PluginError::transient(message)
        }
        _ => PluginError::connection_lost(message),
    }
}

/// An I/O error of a transfer (`what`) on `server`: the server's status (`Other`) fails that
/// file; anything else means the connection is gone.
pub fn sftp_io_error(server: &str, what: &str, e: std::io::Error) -> PluginError {
    let message = format!("{server}: {what}: {e}");
    if e.kind() == std::io::ErrorKind::Other {
        PluginError::transient(message)
    } else {
        PluginError::connection_lost(message)
    }
}

impl SftpFolder<'_> {
    fn error(&self, what: &str, e: SftpError) -> PluginError {
        sftp_error(self.server, what, e)
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> PluginError {
        sftp_io_error(self.server, what, e)
    }

    async fn ensure_folder(&self, folder: &str) -> Result<()> {
        if let Err(e) = self.sftp.create_dir(folder).await {
            // It may exist already (OpenSSH answers "Failure" then).
            let exists = self
                .sftp
                .try_exists(folder)
                .await
                .map_err(|e| self.error(&format!("folder {folder}"), e))?;
            if !exists {
                return Err(self.error(&format!("cannot create the folder {folder}"), e));
            }
        }
        Ok(())
    }
}

impl RemoteFolder for SftpFolder<'_> {
    async fn list(&mut self) -> Result<Vec<Listed>> {
        let entries =
            self.sftp.read_dir(self.folder).await.map_err(|e| {
                self.error(&format!("cannot list remote_folder {}", self.folder), e)
            })?;
        Ok(entries
            .filter(|e| e.file_type() == FileType::File)
            .map(|e| Listed::new(e.file_name(), stamp(&e.metadata()), SECOND))
            .collect())
    }

    async fn stat(&mut self, name: &str) -> Result<Option<FileStamp>> {
        match self.sftp.metadata(join(self.folder, name)).await {
            Ok(attrs) => Ok(Some(stamp(&attrs))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(self.error(&format!("cannot stat {name}"), e)),
        }
    }

    async fn download(&mut self, name: &str, to: &Path, limit: u64) -> Result<u64> {
        let path = join(self.folder, name);
        let mut remote = self
            .sftp
            .open(path.as_str())
            .await
            .map_err(|e| self.error(&format!("cannot open {path}"), e))?;
        let mut local = tokio::fs::File::create(to)
            .await
            .map_err(|e| PluginError::transient(format!("cannot create {}: {e}", to.display())))?;
        let bytes = copy_until_idle(&mut (&mut remote).take(limit), &mut local, self.idle)
            .await
            .map_err(|e| self.io_error(&format!("cannot read {path}"), e))?;
        if let Err(e) = remote.shutdown().await {
            tracing::debug!("closing {path}: {e}");
        }
        Ok(bytes)
    }

    async fn remove(&mut self, name: &str) -> Result<()> {
        let path = join(self.folder, name);
        self.sftp
            .remove_file(path.as_str())
            .await
            .map_err(|e| self.error(&format!("cannot delete {path}"), e))
    }

    async fn move_into(&mut self, name: &str, folder: &str) -> Result<()> {
        self.ensure_folder(folder).await?;
        let from = join(self.folder, name);
        let mut to = join(folder, name);
        if self
            .sftp
            .try_exists(to.as_str())
            .await
            .map_err(|e| self.error(&format!("cannot stat {to}"), e))?
        {
            to = join(folder, &unique_name(name));
        }
        self.sftp
            .rename(from.as_str(), to.as_str())
            .await
            .map_err(|e| self.error(&format!("cannot move {from} to {to}"), e))
    }
}

use oibus_plugin_api::tracing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

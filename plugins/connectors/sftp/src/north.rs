//! The `sftp-north` connector: values (JSON) and files written into a folder of an SFTP server,
//! each under a hidden temporary name, flushed to the server's disk, then renamed: a reader of
//! the folder never sees a file half-written.

use crate::folder::{sftp_error, sftp_io_error};
use crate::host_key::HostKeys;
use crate::session::{self, Session};
use crate::settings::SftpNorthSettings;
use oibus_folder_common::{
    naming::Names,
    remote::{copy_until_idle, join},
};
use oibus_plugin_api::prelude::*;
use russh_sftp::protocol::StatusCode;
use std::{path::Path, time::Duration};
use tokio::io::AsyncWriteExt;

/// The SFTP North connector.
pub struct SftpNorth {
    settings: SftpNorthSettings,
    server: String,
    keys: HostKeys,
    names: Names,
    session: Option<Session>,
}

impl SftpNorth {
    /// Writes `source` (a local file, or bytes) as `name` in the remote folder.
    async fn upload(&mut self, name: &str, source: Source<'_>) -> Result<()> {
        let Some(session) = &self.session else {
            return Err(PluginError::connection_lost(format!(
                "{}: not connected",
                self.server
            )));
        };
        let (sftp, server) = (&session.sftp, self.server.as_str());
        let folder = &self.settings.remote_folder;
        let target = join(folder, name);
        let tmp = join(folder, &Names::temporary(name));
        let idle = Duration::from_millis(self.settings.timeout_ms);
        let mut remote = sftp
            .create(tmp.as_str())
            .await
            .map_err(|e| sftp_error(server, &format!("cannot create {tmp}"), e))?;
        let written = match source {
            Source::Bytes(bytes) => copy_until_idle(&mut &bytes[..], &mut remote, idle).await,
            Source::File(path) => {
                let mut local = tokio::fs::File::open(path).await.map_err(|e| {
                    PluginError::transient(format!("cannot read {}: {e}", path.display()))
                })?;
                copy_until_idle(&mut local, &mut remote, idle).await
            }
        };
        written.map_err(|e| sftp_io_error(server, &format!("cannot write {tmp}"), e))?;
        // On the server's disk before the rename (OpenSSH's fsync extension; a server without
        // it gets the rename alone).
        match remote.sync_all().await {
            Err(russh_sftp::client::error::Error::Status(s))
                if s.status_code == StatusCode::OpUnsupported => {}
            other => other.map_err(|e| sftp_error(server, &format!("cannot flush {tmp}"), e))?,
        }
        remote
            .shutdown()
            .await
            .map_err(|e| sftp_io_error(server, &format!("cannot close {tmp}"), e))?;
        // A file sent again (after a crash) replaces the one of the same name, as file-writer
        // does; SFTP's rename does not replace, so the old one goes first.
        if sftp
            .try_exists(target.as_str())
            .await
            .map_err(|e| sftp_error(server, &format!("cannot stat {target}"), e))?
        {
            sftp.remove_file(target.as_str())
                .await
                .map_err(|e| sftp_error(server, &format!("cannot replace {target}"), e))?;
        }
        sftp.rename(tmp.as_str(), target.as_str())
            .await
            .map_err(|e| sftp_error(server, &format!("cannot rename {tmp} to {target}"), e))
    }
}

/// What is uploaded.
enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl Connector for SftpNorth {
    type Settings = SftpNorthSettings;

    fn new(settings: SftpNorthSettings, ctx: Context) -> Result<Self> {
        let server = format!("{}:{}", settings.host, settings.port);
        Ok(Self {
            keys: HostKeys::new(
                settings.host_key_fingerprint.clone(),
                &ctx.state_dir(),
                server.clone(),
            ),
            names: Names::new(&settings.prefix, &settings.suffix, settings.unique_names),
            settings,
            server,
            session: None,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let session = session::open(&self.settings.endpoint(), &self.keys).await?;
        // The folder must exist and be a folder now, not at the first file.
        let folder = &self.settings.remote_folder;
        let attrs = session
            .sftp
            .metadata(folder.as_str())
            .await
            .map_err(|e| sftp_error(&self.server, &format!("remote_folder {folder}"), e))?;
        if !attrs.is_dir() {
            return Err(PluginError::invalid_settings(format!(
                "remote_folder {folder} on {} is not a folder",
                self.server
            )));
        }
        tracing::info!(
            "writing to sftp://{}@{}{folder}",
            self.settings.username,
            self.server
        );
        self.session = Some(session);
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(s) = self.session.take() {
            s.close().await;
        }
        Ok(())
    }
}

impl HandlesValues for SftpNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let json = oibus_plugin_api::serde_json::to_vec(&values)?;
        let name = self.names.of_values();
        self.upload(&name, Source::Bytes(&json)).await?;
        tracing::debug!("wrote {} values to {name}", values.len());
        Ok(())
    }
}

impl HandlesFile for SftpNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let name = self.names.of_file(path);
        self.upload(&name, Source::File(path)).await
    }
}

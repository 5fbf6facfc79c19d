//! The `sftp` South connector: its lifecycle and file queries.

use crate::folder::SftpFolder;
use crate::host_key::HostKeys;
use crate::session::{self, Session};
use crate::settings::SftpSettings;
use oibus_folder_common::{Collector, ItemSettings, RemoteFolder};
use oibus_plugin_api::prelude::*;
use std::time::Duration;

/// The SFTP South connector.
pub struct Sftp {
    settings: SftpSettings,
    server: String,
    keys: HostKeys,
    collector: Collector,
    session: Option<Session>,
}

impl Connector for Sftp {
    type Settings = SftpSettings;

    fn new(settings: SftpSettings, ctx: Context) -> Result<Self> {
        let server = format!("{}:{}", settings.host, settings.port);
        let keys = HostKeys::new(
            settings.host_key_fingerprint.clone(),
            &ctx.state_dir(),
            server.clone(),
        );
        Ok(Self {
            collector: Collector::new(ctx)?,
            settings,
            server,
            keys,
            session: None,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let session = session::open(&self.settings.endpoint(), &self.keys).await?;
        // The folder must be readable now, not at the first scan.
        SftpFolder {
            sftp: &session.sftp,
            folder: &self.settings.remote_folder,
            server: &self.server,
            idle: Duration::from_millis(self.settings.timeout_ms),
        }
        .list()
        .await?;
        tracing::info!(
            "collecting sftp://{}@{}{}",
            self.settings.username,
            self.server,
            self.settings.remote_folder
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

impl South for Sftp {
    type ItemSettings = ItemSettings;
}

impl QueriesFile for Sftp {
    async fn file_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let Some(session) = &self.session else {
            return Err(PluginError::connection_lost(format!(
                "{}: not connected",
                self.server
            )));
        };
        let mut folder = SftpFolder {
            sftp: &session.sftp,
            folder: &self.settings.remote_folder,
            server: &self.server,
            idle: Duration::from_millis(self.settings.timeout_ms),
        };
        self.collector.collect(&mut folder, items).await
    }
}

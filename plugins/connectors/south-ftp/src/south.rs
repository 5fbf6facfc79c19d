//! The `ftp` South connector: its lifecycle and file queries.

use crate::folder::FtpFolder;
use crate::session::{self, Connection};
use crate::settings::FtpSettings;
use oibus_folder_common::{Collector, ItemSettings, RemoteFolder};
use oibus_plugin_api::prelude::*;

/// The FTP South connector.
pub struct Ftp {
    settings: FtpSettings,
    collector: Collector,
    conn: Option<Connection>,
    /// The absolute path of `remote_folder`, found at connection.
    folder: String,
}

impl Connector for Ftp {
    type Settings = FtpSettings;

    fn new(settings: FtpSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            collector: Collector::new(ctx)?,
            settings,
            conn: None,
            folder: String::new(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let mut conn = session::open(&self.settings).await?;
        // The folder must be readable now, not at the first scan (and `LIST` of a folder that
        // does not exist answers an empty list on many servers: `CWD` tells).
        // The folder is resolved to its absolute path, and the session goes back home, so
        // that a relative `move` folder is relative to the home as documented.
        let folder = &self.settings.remote_folder;
        let what = format!("cannot list remote_folder {folder}");
        let home = conn.bounds.run(&what, conn.ftp.pwd()).await?;
        conn.bounds.run(&what, conn.ftp.cwd(folder)).await?;
        let absolute = conn.bounds.run(&what, conn.ftp.pwd()).await?;
        conn.bounds.run(&what, conn.ftp.cwd(&home)).await?;
        FtpFolder {
            conn: &mut conn,
            folder: &absolute,
        }
        .list()
        .await?;
        tracing::info!(
            "collecting {}://{}@{}{} (listing with {})",
            if self.settings.tls.is_some() {
                "ftps"
            } else {
                "ftp"
            },
            self.settings.username,
            conn.bounds.server,
            self.settings.remote_folder,
            if conn.mlsd { "MLSD" } else { "LIST" },
        );
        self.conn = Some(conn);
        self.folder = absolute;
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(c) = self.conn.take() {
            c.quit().await;
        }
        Ok(())
    }
}

impl South for Ftp {
    type ItemSettings = ItemSettings;
}

impl QueriesFile for Ftp {
    async fn file_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let Some(conn) = &mut self.conn else {
            return Err(PluginError::connection_lost("not connected"));
        };
        let mut folder = FtpFolder {
            conn,
            folder: &self.folder,
        };
        self.collector.collect(&mut folder, items).await
    }
}

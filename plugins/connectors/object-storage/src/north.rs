//! The `s3-north` and `azure-blob-north` connectors: the same uploader over two stores.

use crate::{
    settings::{AzureSettings, S3Settings},
    store,
    upload::Uploader,
};
use oibus_plugin_api::prelude::*;
use std::path::Path;

/// The S3 North connector.
pub struct S3North(Uploader);

/// The Azure Blob North connector.
pub struct AzureNorth(Uploader);

impl Connector for S3North {
    type Settings = S3Settings;

    fn new(settings: S3Settings, _ctx: Context) -> Result<Self> {
        Ok(Self(Uploader::new(
            store::s3(&settings)?,
            settings.objects.clone(),
            format!("S3 bucket {:?}", settings.bucket),
        )))
    }

    async fn connect(&mut self) -> Result<()> {
        self.0.connect().await
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.0.probe().await
    }
}

impl Connector for AzureNorth {
    type Settings = AzureSettings;

    fn new(settings: AzureSettings, _ctx: Context) -> Result<Self> {
        Ok(Self(Uploader::new(
            store::azure(&settings)?,
            settings.objects.clone(),
            format!("Azure container {:?}", settings.container),
        )))
    }

    async fn connect(&mut self) -> Result<()> {
        self.0.connect().await
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.0.probe().await
    }
}

impl HandlesValues for S3North {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        self.0.values(&values).await
    }
}

impl HandlesFile for S3North {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        self.0.file(path).await
    }
}

impl HandlesValues for AzureNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        self.0.values(&values).await
    }
}

impl HandlesFile for AzureNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        self.0.file(path).await
    }
}

//! The `rest-north` connector: each batch of values POSTed as JSON (optionally gzip), each file
//! POSTed raw or as a form; the answer's status decides what the engine does with the data.

use crate::fetch::Client;
use crate::request::join;
use crate::settings::{FileBody, RestNorthSettings};
use oibus_plugin_api::prelude::*;
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use std::{io::Write, path::Path};

/// The HTTP North connector.
pub struct RestNorth {
    settings: RestNorthSettings,
    client: Client,
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| PluginError::permanent(format!("gzip: {e}")))
}

impl Connector for RestNorth {
    type Settings = RestNorthSettings;

    fn new(settings: RestNorthSettings, _ctx: Context) -> Result<Self> {
        Ok(Self {
            client: Client::new(&settings.endpoint())?,
            settings,
        })
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.client.probe(&self.settings.base_url).await
    }
}

impl HandlesValues for RestNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let url = join(&self.settings.base_url, &self.settings.values_path);
        let json = oibus_plugin_api::serde_json::to_vec(&values)?;
        let mut request = self
            .client
            .request(reqwest::Method::POST, &url)
            .header(CONTENT_TYPE, "application/json");
        request = if self.settings.gzip {
            request.header(CONTENT_ENCODING, "gzip").body(gzip(&json)?)
        } else {
            request.body(json)
        };
        let what = format!("POST {url} ({} values)", values.len());
        self.client.deliver(&what, request).await
    }
}

impl HandlesFile for RestNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let url = join(&self.settings.base_url, &self.settings.files_path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unreadable = |e: std::io::Error| {
            PluginError::transient(format!("cannot read {}: {e}", path.display()))
        };
        let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
        // The length goes with the streamed body: some servers refuse a chunked upload (411).
        let size = file.metadata().await.map_err(unreadable)?.len();
        let body = reqwest::Body::from(file);
        let request = self.client.request(reqwest::Method::POST, &url);
        let request = match self.settings.file_body {
            FileBody::Raw => request
                .query(&[("filename", name.as_str())])
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size)
                .body(body),
            FileBody::Multipart => {
                let part = reqwest::multipart::Part::stream_with_length(body, size)
                    .file_name(name.clone())
                    .mime_str("application/octet-stream")
                    .map_err(|e| PluginError::permanent(e.to_string()))?;
                request.multipart(reqwest::multipart::Form::new().part("file", part))
            }
        };
        self.client
            .deliver(&format!("POST {url} ({name})"), request)
            .await
    }
}

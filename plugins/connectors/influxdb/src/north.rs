//! The `influxdb-north` connector: each batch of values written as line protocol in one request.

use crate::{
    line::Templates,
    settings::{Api, InfluxSettings},
};
use oibus_plugin_api::{prelude::*, with_causes};
use reqwest::StatusCode;
use std::time::Duration;

/// The most bytes of a server's answer quoted in an error.
const MAX_QUOTED: usize = 500;

/// The InfluxDB North connector.
pub struct InfluxNorth {
    settings: InfluxSettings,
    http: reqwest::Client,
    templates: Templates,
    /// A write failed for another reason than the data: the next connection checks the server
    /// takes writes again (credentials, database) before the data is sent again.
    suspect: bool,
}

impl InfluxNorth {
    fn base(&self) -> &str {
        self.settings.url.trim_end_matches('/')
    }

    /// The write request of the configured API.
    fn write(&self, body: String) -> reqwest::RequestBuilder {
        match &self.settings.api {
            Api::V1 {
                database,
                retention_policy,
                username,
                password,
            } => {
                let mut query = vec![("db", database.as_str()), ("precision", "ns")];
                if let Some(rp) = retention_policy {
                    query.push(("rp", rp.as_str()));
                }
                let mut r = self
                    .http
                    .post(format!("{}/write", self.base()))
                    .query(&query);
                if let Some(user) = username {
                    r = r.basic_auth(user, password.as_deref());
                }
                r.body(body)
            }
            Api::V2 { org, bucket, token } => self
                .http
                .post(format!("{}/api/v2/write", self.base()))
                .query(&[
                    ("org", org.as_str()),
                    ("bucket", bucket.as_str()),
                    ("precision", "ns"),
                ])
                .header("Authorization", format!("Token {token}"))
                .body(body),
        }
        .header("Content-Type", "text/plain; charset=utf-8")
        .timeout(Duration::from_millis(self.settings.timeout_ms))
    }

    /// Sends `body`; the answer's status decides what the engine does with the data.
    async fn send(&mut self, what: &str, body: String) -> Result<()> {
        let url = self.base().to_string();
        let answer = match self.write(body).send().await {
            Ok(a) => a,
            Err(e) => {
                self.suspect = true;
                return Err(PluginError::connection_lost(format!(
                    "{what}: InfluxDB {url}: {}",
                    with_causes(&e)
                )));
            }
        };
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        let quoted: String = text.chars().take(MAX_QUOTED).collect();
        let said = format!(
            "{what}: InfluxDB {url} answered {status}: {}",
            quoted.trim()
        );
        Err(match status {
            // The data: a line the server cannot parse, a field of another type than before, a
            // body too large. (1.x may have written the lines before the bad one: writes are
            // idempotent per series and instant, so sending them again adds nothing.)
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNPROCESSABLE_ENTITY => PluginError::permanent(said),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                self.suspect = true;
                PluginError::connection_lost(format!("{said} (check the credentials)"))
            }
            StatusCode::NOT_FOUND => {
                self.suspect = true;
                PluginError::connection_lost(format!("{said} (does the database or bucket exist?)"))
            }
            _ => {
                self.suspect = true;
                PluginError::connection_lost(said)
            }
        })
    }
}

impl Connector for InfluxNorth {
    type Settings = InfluxSettings;

    fn new(settings: InfluxSettings, _ctx: Context) -> Result<Self> {
        if !settings.url.starts_with("https://") && !settings.url.starts_with("http://") {
            return Err(PluginError::invalid_settings(format!(
                "url {:?}: http:// or https:// expected",
                settings.url
            )));
        }
        let tls = oibus_tls_common::for_url("url", &settings.url, settings.tls.as_ref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .connect_timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|e| PluginError::permanent(format!("HTTP client: {}", with_causes(&e))))?;
        let templates = Templates::new(
            &settings.measurement,
            &settings.tags,
            settings.point_pattern.as_deref(),
            settings.quality_tag,
        )?;
        Ok(Self {
            settings,
            http,
            templates,
            suspect: true,
        })
    }

    /// Writes nothing (an empty body) to check the server, the credentials and the database or
    /// bucket: InfluxDB answers 204 to an empty write it would accept.
    async fn connect(&mut self) -> Result<()> {
        if self.suspect {
            self.send("connection check (empty write)", String::new())
                .await?;
            self.suspect = false;
        }
        Ok(())
    }

    async fn test_connection(&mut self) -> Result<()> {
        self.suspect = true;
        self.connect().await
    }
}

impl HandlesValues for InfluxNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let mut body = String::with_capacity(values.len() * 64);
        for v in &values {
            self.templates.line(v, &mut body)?;
        }
        self.send(&format!("{} values", values.len()), body).await
    }
}

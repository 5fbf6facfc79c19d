//! The `north-nats` connector: its lifecycle and data calls.

use crate::settings::*;
use async_nats::{
    ConnectOptions, HeaderMap,
    jetstream::{self, context::PublishAckFuture, stream},
};
use futures_util::future::try_join_all;
use oibus_plugin_api::{prelude::*, serde_json};
use std::{path::Path, time::Duration};

/// The subject of a value: the template with `{pointId}` replaced, made a single NATS token.
pub fn subject_of(template: &str, point_id: &str) -> String {
    let token: String = point_id
        .chars()
        .map(|c| {
            if matches!(c, '.' | '*' | '>') || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    template.replace("{pointId}", &token)
}

/// Messages published before waiting for their acknowledgements.
pub(crate) const ACK_WINDOW: usize = 256;

/// The NATS North connector.
pub struct NatsNorth {
    pub(crate) settings: NatsSettings,
    pub(crate) js: Option<jetstream::Context>,
}

impl NatsNorth {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.settings.timeout_ms)
    }

    fn lost(&self, what: impl std::fmt::Display) -> PluginError {
        PluginError::connection_lost(format!("NATS server {}: {what}", self.settings.server))
    }

    fn context(&self) -> Result<jetstream::Context> {
        self.js.clone().ok_or_else(|| self.lost("not connected"))
    }

    /// The error model for a message JetStream did not store: a subject no stream takes, or a
    /// refusal of the stream, is the data's fault; a missing acknowledgement is a lost connection.
    fn not_stored(&self, subject: &str, e: &jetstream::context::PublishError) -> PluginError {
        use jetstream::context::PublishErrorKind as K;
        let text = format!(
            "NATS server {}: message to {subject} not stored: {}",
            self.settings.server,
            oibus_plugin_api::with_causes(e)
        );
        match e.kind() {
            K::StreamNotFound => PluginError::permanent(format!(
                "{text} (no stream takes subject {subject}; stream {:?} is configured)",
                self.settings.stream
            )),
            K::WrongLastMessageId | K::WrongLastSequence => PluginError::permanent(text),
            K::MaxAckPending => PluginError::transient(text),
            // No answer, a closed channel or socket: the connection.
            _ => PluginError::connection_lost(text),
        }
    }

    /// Refuses a message larger than the server's `max_payload` (it would never be stored).
    fn check_size(&self, js: &jetstream::Context, what: &str, size: usize) -> Result<()> {
        let max = js.client().server_info().max_payload;
        if max > 0 && size > max {
            return Err(PluginError::permanent(format!(
                "{what}: message of {size} bytes is over the max_payload of NATS server {} ({max} bytes)",
                self.settings.server
            )));
        }
        Ok(())
    }

    /// Waits for the server's acknowledgement of every message.
    async fn acknowledged(&self, acks: Vec<(String, PublishAckFuture)>) -> Result<()> {
        let all = try_join_all(acks.into_iter().map(|(subject, a)| async move {
            a.into_future()
                .await
                .map_err(|e| self.not_stored(&subject, &e))
        }));
        match tokio::time::timeout(self.timeout(), all).await {
            Ok(r) => r.map(drop),
            Err(_) => Err(self.lost(format!(
                "not every message acknowledged within {} ms",
                self.settings.timeout_ms
            ))),
        }
    }
}

/// Opens a connection with `settings` and checks (or creates) the stream.
pub(crate) async fn open(settings: NatsSettings) -> Result<jetstream::Context> {
    let server = settings.server.clone();
    let mut options = ConnectOptions::new()
        .connection_timeout(Duration::from_millis(settings.timeout_ms))
        .max_reconnects(Some(3));
    if let Some(user) = &settings.username {
        options =
            options.user_and_password(user.clone(), settings.password.clone().unwrap_or_default());
    }
    if let Some(tls) = &settings.tls {
        options = options
            .require_tls(true)
            .tls_client_config(std::sync::Arc::unwrap_or_clone(tls.client_config()?));
    }
    let client = options.connect(server.as_str()).await.map_err(|e| {
        let text = e.to_string();
        if text.to_lowercase().contains("authorization") {
            PluginError::invalid_settings(format!(
                "NATS server {server} refused the credentials: check username and password"
            ))
        } else {
            PluginError::transient(format!(
                "NATS server {server}: cannot connect: {}",
                oibus_plugin_api::with_causes(&e)
            ))
        }
    })?;
    let js = jetstream::new(client);
    let found = if settings.create_stream {
        js.get_or_create_stream(stream::Config {
            name: settings.stream.clone(),
            subjects: settings.stream_subjects.clone(),
            ..Default::default()
        })
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    } else {
        js.get_stream(&settings.stream)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    };
    found.map_err(|e| {
        PluginError::invalid_settings(format!(
            "NATS server {server}: stream {:?}: {e} (set create_stream to create it)",
            settings.stream
        ))
    })?;
    Ok(js)
}

impl Connector for NatsNorth {
    type Settings = NatsSettings;

    fn new(settings: NatsSettings, _ctx: Context) -> Result<Self> {
        Ok(Self { settings, js: None })
    }

    async fn connect(&mut self) -> Result<()> {
        self.js = Some(open(self.settings.clone()).await?);
        tracing::info!(
            "connected to {}, stream {}",
            self.settings.server,
            self.settings.stream
        );
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        self.js = None; // the client closes when its last handle is dropped
        Ok(())
    }
}

impl HandlesValues for NatsNorth {
    async fn handle_values(&mut self, values: Vec<OibusValue>) -> Result<()> {
        let js = self.context()?;
        // The client limits the acknowledgements it waits for at once: publish in windows and
        // collect each window's acknowledgements before the next.
        for window in values.chunks(ACK_WINDOW) {
            let mut acks = Vec::with_capacity(window.len());
            for v in window {
                let subject = subject_of(&self.settings.subject, v.point_id.as_str());
                let payload = bytes::Bytes::from(serde_json::to_vec(v)?);
                let what = format!("value of {:?} at {}", v.point_id.as_str(), v.timestamp);
                self.check_size(&js, &what, subject.len() + payload.len())?;
                let ack = js
                    .publish(subject.clone(), payload)
                    .await
                    .map_err(|e| self.not_stored(&subject, &e))?;
                acks.push((subject, ack));
            }
            self.acknowledged(acks).await?;
        }
        Ok(())
    }
}

impl HandlesFile for NatsNorth {
    async fn handle_file(&mut self, path: &Path) -> Result<()> {
        let js = self.context()?;
        let content = std::fs::read(path)
            .map_err(|e| PluginError::transient(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("Oibus-File-Name", name.as_str());
        let subject = self.settings.file_subject.clone();
        // The headers travel in the same message: count them with a margin for their framing.
        let size = subject.len() + content.len() + name.len() + 64;
        self.check_size(&js, &format!("file {name}"), size)?;
        let ack = js
            .publish_with_headers(subject.clone(), headers, content.into())
            .await
            .map_err(|e| self.not_stored(&subject, &e))?;
        self.acknowledged(vec![(subject, ack)]).await
    }
}

//! The object stores (object_store's S3 and Azure clients) built from the settings, and what
//! their errors mean for the data.

use crate::settings::{AzureSettings, ObjectSettings, S3Settings};
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, RetryConfig, aws::AmazonS3Builder,
    azure::MicrosoftAzureBuilder,
};
use oibus_plugin_api::prelude::*;
use std::{sync::Arc, time::Duration};

/// Client options: time-outs, the private CA; retries are the engine's (one quick retry here).
fn client(objects: &ObjectSettings, http: bool) -> Result<(ClientOptions, RetryConfig)> {
    let timeout = Duration::from_millis(objects.timeout_ms);
    let mut options = ClientOptions::new()
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(10)))
        .with_allow_http(http);
    let tls = objects.tls.clone().unwrap_or_default();
    if tls.cert_file.is_some() || tls.key_file.is_some() {
        return Err(PluginError::invalid_settings(
            "tls.cert_file, tls.key_file: object stores take no client certificate (authentication is by key)",
        ));
    }
    if let Some(path) = &tls.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| PluginError::invalid_settings(format!("tls.ca_file {path}: {e}")))?;
        let certificate = object_store::Certificate::from_pem(&pem)
            .map_err(|e| PluginError::invalid_settings(format!("tls.ca_file {path}: {e}")))?;
        options = options.with_root_certificate(certificate);
    }
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 1,
        retry_timeout: timeout,
    };
    Ok((options, retry))
}

fn is_http(endpoint: Option<&str>) -> bool {
    let http = endpoint.is_some_and(|e| e.starts_with("http://"));
    if http {
        tracing::warn!(
            "{}: data travels without encryption",
            endpoint.unwrap_or_default()
        );
    }
    http
}

/// The S3 client of `s`.
pub fn s3(s: &S3Settings) -> Result<Arc<dyn ObjectStore>> {
    let http = is_http(s.endpoint.as_deref());
    let (options, retry) = client(&s.objects, http)?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&s.bucket)
        .with_region(&s.region)
        .with_access_key_id(&s.access_key_id)
        .with_secret_access_key(&s.secret_access_key)
        .with_virtual_hosted_style_request(s.virtual_hosted_style.unwrap_or(s.endpoint.is_none()))
        .with_client_options(options)
        .with_retry(retry);
    if let Some(endpoint) = &s.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder
        .build()
        .map_err(|e| PluginError::invalid_settings(format!("S3 bucket {:?}: {e}", s.bucket)))?;
    Ok(Arc::new(store))
}

/// The Azure Blob client of `s`.
pub fn azure(s: &AzureSettings) -> Result<Arc<dyn ObjectStore>> {
    let http = is_http(s.endpoint.as_deref());
    let (options, retry) = client(&s.objects, http)?;
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(&s.account)
        .with_container_name(&s.container)
        .with_access_key(&s.access_key)
        .with_allow_http(http)
        .with_client_options(options)
        .with_retry(retry);
    if let Some(endpoint) = &s.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let store = builder.build().map_err(|e| {
        PluginError::invalid_settings(format!("Azure container {:?}: {e}", s.container))
    })?;
    Ok(Arc::new(store))
}

/// What a failed write means. Refused credentials, a missing bucket or a denied write are not
/// the data's fault: the connection counts as lost, and the next connection checks the store
/// can be written before the data is sent again (so the data waits in the cache, the failure
/// visible, until the settings or the storage are fixed). A name the store refuses is the data's
/// fault; anything else (network, time-out, server error) is a lost connection.
pub fn failure(store: &str, what: &str, e: &object_store::Error) -> PluginError {
    use object_store::Error as E;
    let text = format!("{what}: {store}: {}", oibus_plugin_api::with_causes(e));
    match e {
        E::InvalidPath { .. } => PluginError::permanent(text),
        E::NotFound { .. } => {
            PluginError::connection_lost(format!("{text} (does the bucket or container exist?)"))
        }
        E::Unauthenticated { .. } => {
            PluginError::connection_lost(format!("{text} (check the credentials)"))
        }
        E::PermissionDenied { .. } => {
            PluginError::connection_lost(format!("{text} (the credentials may not write there)"))
        }
        _ => PluginError::connection_lost(text),
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::S3Settings;
    use oibus_plugin_api::serde_json::{self, json};

    #[test]
    fn a_client_certificate_is_refused_by_name() {
        let s: S3Settings = serde_json::from_value(json!({
            "bucket": "plant", "access_key_id": "k", "secret_access_key": "s",
            "tls": {"cert_file": "/etc/client.pem", "key_file": "/etc/client.key"}
        }))
        .unwrap();
        let e = super::s3(&s).map(drop).unwrap_err();
        assert_eq!(e.kind, oibus_plugin_api::ErrorKind::INVALID_SETTINGS);
        assert!(e.message.contains("tls.cert_file"), "{}", e.message);
    }
}

//! TLS settings of connectors (MQTT brokers, PostgreSQL servers…): rustls on the ring provider,
//! with the system's certificate authorities or the ones of a PEM file, and an optional client
//! certificate (mutual TLS).

use oibus_plugin_api::prelude::*;
use rustls::{
    ClientConfig, RootCertStore,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use std::sync::Arc;

/// TLS settings. Present (even empty, `tls = {}`) means the connection is encrypted and the
/// server's certificate verified against its host name or IP address.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct Tls {
    /// PEM file of the certificate authorities that sign the server's certificate (or the server's
    /// self-signed certificate itself). Default: the system's authorities.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM file of the client certificate (and its chain), for servers that authenticate clients
    /// by certificate (mosquitto's `require_certificate`, nats-server's `--tlsverify`).
    #[serde(default)]
    pub cert_file: Option<String>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1; a secret:
    /// never logged).
    #[serde(default)]
    pub key_file: Option<String>,
}

fn certificates(setting: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| PluginError::invalid_settings(format!("tls.{setting} {path}: {e}")))?;
    if certs.is_empty() {
        return Err(PluginError::invalid_settings(format!(
            "tls.{setting} {path}: no PEM certificate in it"
        )));
    }
    Ok(certs)
}

impl Tls {
    /// The rustls configuration these settings describe; errors name the setting and file.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                for cert in certificates("ca_file", path)? {
                    roots.add(cert).map_err(|e| {
                        PluginError::invalid_settings(format!("tls.ca_file {path}: {e}"))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    tracing::warn!("system certificate authorities: {e}");
                }
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(PluginError::invalid_settings(
                        "tls: no system certificate authority found; set tls.ca_file",
                    ));
                }
            }
        }
        let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| PluginError::permanent(format!("tls: {e}")))?
            .with_root_certificates(roots);
        let config = match (&self.cert_file, &self.key_file) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = certificates("cert_file", cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    PluginError::invalid_settings(format!("tls.key_file {key}: {e}"))
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    PluginError::invalid_settings(format!(
                        "tls.cert_file and tls.key_file do not make a client identity: {e}"
                    ))
                })?
            }
            _ => {
                return Err(PluginError::invalid_settings(
                    "tls: cert_file and key_file go together (the client certificate and its key)",
                ));
            }
        };
        Ok(Arc::new(config))
    }
}

/// A client configuration that trusts no certificate authority, for a client that speaks plain
/// text but whose library wants a TLS configuration (an `http://` address): any `https` it meets
/// fails its certificate check.
pub fn without_authorities() -> Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| PluginError::permanent(format!("tls: {e}")))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The client configuration of an HTTP client whose address, the setting `setting`, is `url`:
/// `tls` (or the system's authorities) for `https://`; for `http://`, one that trusts nothing (a
/// redirect to `https` fails its check), and `tls` refused as settings that cannot apply.
pub fn for_url(setting: &str, url: &str, tls: Option<&Tls>) -> Result<Arc<ClientConfig>> {
    match (tls, url.starts_with("https://")) {
        (Some(_), false) => Err(PluginError::invalid_settings(format!(
            "tls is for an https {setting}: this one is http"
        ))),
        (Some(tls), true) => tls.client_config(),
        (None, true) => Tls::default().client_config(),
        (None, false) => without_authorities(),
    }
}

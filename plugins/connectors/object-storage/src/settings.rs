//! The settings of the `s3-north` and `azure-blob-north` connectors, with their defaults.

use oibus_plugin_api::prelude::*;

/// Settings of `s3-north`: AWS S3 or an S3-compatible server (MinIO, Ceph, Garage…).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct S3Settings {
    /// The bucket objects are written to.
    #[schemars(length(min = 3, max = 63))]
    pub bucket: String,
    /// The bucket's region.
    #[serde(default = "default_region")]
    #[schemars(length(min = 1, max = 64))]
    pub region: String,
    /// The server's address for S3-compatible storage (`https://minio.plant.local:9000`);
    /// default: AWS's endpoint of the region. `http://` addresses are accepted (a warning is
    /// logged: credentials are signed, not encrypted, but the data travels in clear).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Address the bucket as `bucket.host` (AWS's default) instead of `host/bucket` (what most
    /// S3-compatible servers expect; the default when `endpoint` is set).
    #[serde(default)]
    pub virtual_hosted_style: Option<bool>,
    /// Access key id.
    #[schemars(length(min = 1, max = 128))]
    pub access_key_id: String,
    /// Secret access key (a secret: write-only, never logged).
    #[schemars(extend("writeOnly" = true), length(min = 1, max = 256))]
    pub secret_access_key: String,
    /// What is written where.
    #[serde(flatten)]
    pub objects: ObjectSettings,
}

/// Settings of `azure-blob-north`: Azure Blob Storage (or Azurite).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct AzureSettings {
    /// The storage account.
    #[schemars(length(min = 3, max = 24))]
    pub account: String,
    /// The container blobs are written to.
    #[schemars(length(min = 3, max = 63))]
    pub container: String,
    /// The account's access key, base64 (a secret: write-only, never logged).
    #[schemars(extend("writeOnly" = true), length(min = 1, max = 256))]
    pub access_key: String,
    /// The blob service's address when it is not Azure's (`http://127.0.0.1:10000/devstoreaccount1`
    /// for Azurite); default: `https://<account>.blob.core.windows.net`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// What is written where.
    #[serde(flatten)]
    pub objects: ObjectSettings,
}

/// What both connectors write, and how.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ObjectSettings {
    /// Prepended to every object name (`plant1/`); may be empty.
    #[serde(default)]
    #[schemars(length(max = 512))]
    pub prefix: String,
    /// Format of the objects holding values: one object per batch, named
    /// `<prefix>values/<yyyy>/<mm>/<dd>/<first instant>-<hash of the content>.<json|csv>`, so that
    /// a batch sent again after a crash replaces its own object instead of adding a copy.
    #[serde(default)]
    pub values_format: ValuesFormat,
    /// How long one request may take (a part of a large file, or a whole object), in ms.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 100, max = 600_000))]
    pub timeout_ms: u64,
    /// Files larger than this are uploaded in parts of this size (multipart upload, S3's minimum
    /// part is 5 MiB), in MiB.
    #[serde(default = "default_part_mib")]
    #[schemars(range(min = 5, max = 512))]
    pub part_size_mib: u32,
    /// TLS of an `https://` endpoint: `ca_file` for a private certificate authority (default:
    /// the system's). Object stores take no client certificate: `cert_file` and `key_file` are
    /// refused.
    #[serde(default)]
    pub tls: Option<oibus_tls_common::Tls>,
}

/// Format of value objects.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", rename_all = "lowercase")]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum ValuesFormat {
    /// A JSON array of values in OIBus's shape (`application/json`).
    #[default]
    Json,
    /// CSV with a header: `pointId,timestamp,value,quality` (`text/csv`).
    Csv,
}

pub(crate) fn default_region() -> String {
    "us-east-1".into()
}

pub(crate) fn default_timeout() -> u64 {
    30_000
}

pub(crate) fn default_part_mib() -> u32 {
    8
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::serde_json::{self, json};

    #[test]
    fn flattened_settings_are_read_and_unknown_keys_refused() {
        let s: S3Settings = serde_json::from_value(json!({
            "bucket": "plant", "access_key_id": "k", "secret_access_key": "s",
            "prefix": "p/", "values_format": "csv"
        }))
        .unwrap();
        assert_eq!(s.objects.prefix, "p/");
        assert_eq!(s.objects.values_format, ValuesFormat::Csv);
        let unknown = serde_json::from_value::<S3Settings>(json!({
            "bucket": "plant", "access_key_id": "k", "secret_access_key": "s", "prefx": "p/"
        }));
        assert!(unknown.is_err());
    }
}

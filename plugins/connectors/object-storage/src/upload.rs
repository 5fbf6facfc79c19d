//! Writing files and batches of values as objects, with whichever store.

use crate::{
    encode::encode,
    keys::{file_object, values_object},
    settings::ObjectSettings,
    store::failure,
};
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, WriteMultipart, path::Path as ObjectPath,
};
use oibus_plugin_api::prelude::*;
use std::{path::Path, sync::Arc};
use tokio::io::AsyncReadExt;

/// The MIME type of a file, from its extension.
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("txt" | "log") => "text/plain",
        Some("xml") => "application/xml",
        Some("gz") => "application/gzip",
        Some("zip") => "application/zip",
        Some("pdf") => "application/pdf",
        Some("parquet") => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}

fn attributes(mime: &'static str) -> Attributes {
    let mut a = Attributes::new();
    a.insert(Attribute::ContentType, mime.into());
    a
}

fn object_path(name: &str) -> Result<ObjectPath> {
    ObjectPath::parse(name)
        .map_err(|e| PluginError::permanent(format!("{name:?} is not an object name: {e}")))
}

/// Writes objects to `store`.
pub struct Uploader {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) objects: ObjectSettings,
    /// `S3 bucket "x"`, `Azure container "y"`: for messages.
    pub(crate) label: String,
    /// A write failed for another reason than the object itself (server away, bucket missing,
    /// credentials refused): the next connection checks the store can be written before the
    /// data is sent again. Without it, reconnecting (nothing to open) would always succeed and
    /// the engine would take the batch for the cause and set it apart.
    pub(crate) suspect: bool,
}

impl Uploader {
    /// A store for `label`, not checked yet.
    pub fn new(store: Arc<dyn ObjectStore>, objects: ObjectSettings, label: String) -> Self {
        Self {
            store,
            objects,
            label,
            suspect: false,
        }
    }

    fn failed(&mut self, what: &str, e: &object_store::Error) -> PluginError {
        self.suspect |= !matches!(e, object_store::Error::InvalidPath { .. });
        failure(&self.label, what, e)
    }

    /// Connects: after a failed write, checks the store can be written again (a connection
    /// failure until it can: the data waits in the cache).
    pub async fn connect(&mut self) -> Result<()> {
        if self.suspect {
            self.probe().await?;
            self.suspect = false;
        }
        Ok(())
    }

    /// One object per batch.
    pub async fn values(&mut self, values: &[OibusValue]) -> Result<()> {
        let Some(first) = values.iter().map(|v| v.timestamp).min() else {
            return Ok(());
        };
        let (content, mime, extension) = encode(values, self.objects.values_format)?;
        let name = values_object(&self.objects.prefix, first, &content, extension)?;
        let what = format!("{} values to {name}", values.len());
        let options = PutOptions {
            attributes: attributes(mime),
            ..Default::default()
        };
        self.store
            .put_opts(&object_path(&name)?, PutPayload::from(content), options)
            .await
            .map_err(|e| self.failed(&what, &e))?;
        Ok(())
    }

    /// The file as one object under its own name: one request up to `part_size_mib`, a
    /// multipart upload above (read and sent part by part; the object appears whole, at the
    /// end, or not at all).
    pub async fn file(&mut self, path: &Path) -> Result<()> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = file_object(&self.objects.prefix, &file_name)?;
        let location = object_path(&name)?;
        let what = format!("file {file_name} to {name}");
        let unreadable = |e: std::io::Error| {
            PluginError::transient(format!("cannot read {}: {e}", path.display()))
        };
        let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
        let size = file.metadata().await.map_err(unreadable)?.len();
        let part = self.objects.part_size_mib as usize * 1024 * 1024;
        let mime = content_type(&file_name);
        if size <= part as u64 {
            let mut content = Vec::with_capacity(size as usize);
            file.read_to_end(&mut content).await.map_err(unreadable)?;
            let options = PutOptions {
                attributes: attributes(mime),
                ..Default::default()
            };
            self.store
                .put_opts(&location, PutPayload::from(content), options)
                .await
                .map_err(|e| self.failed(&what, &e))?;
            return Ok(());
        }
        let options = PutMultipartOptions {
            attributes: attributes(mime),
            ..Default::default()
        };
        let upload = self
            .store
            .put_multipart_opts(&location, options)
            .await
            .map_err(|e| self.failed(&what, &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = match file.read(&mut buffer).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(unreadable(e));
                }
            };
            if n == 0 {
                break;
            }
            // At most two parts in flight: memory stays bounded whatever the file's size.
            if let Err(e) = writer.wait_for_capacity(2).await {
                return Err(self.failed(&what, &e));
            }
            writer.write(&buffer[..n]);
        }
        writer.finish().await.map_err(|e| self.failed(&what, &e))?;
        Ok(())
    }

    /// Writes and removes a small probe object: the credentials may write there.
    pub async fn probe(&mut self) -> Result<()> {
        let name = format!("{}.oibus-test-connection", self.objects.prefix);
        let location = object_path(&name)?;
        let what = format!("test object {name}");
        self.store
            .put(&location, PutPayload::from_static(b"oibus"))
            .await
            .map_err(|e| self.failed(&what, &e))?;
        if let Err(e) = self.store.delete(&location).await {
            tracing::warn!("{what}: written but not deleted: {e}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type("a.CSV"), "text/csv");
        assert_eq!(content_type("report"), "application/octet-stream");
        assert_eq!(content_type("x.parquet"), "application/vnd.apache.parquet");
    }
}

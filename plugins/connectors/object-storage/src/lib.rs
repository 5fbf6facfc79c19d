//! `object-storage`: files and values as objects, in S3-compatible storage (`s3-north`) and in
//! Azure Blob Storage (`azure-blob-north`). A file is one object under its own name (multipart
//! above the part size); a batch of values is one JSON or CSV object whose name is made of its
//! first instant and a hash of its content, so that a batch sent again writes the same object.

mod encode;
mod keys;
mod north;
mod settings;
mod store;
mod upload;

use north::{AzureNorth, S3North};
use oibus_plugin_api::prelude::*;

fn plugin() -> Plugin {
    Plugin::new("Object storage", "oibus-rs")
        .description("Writes files and values as objects to S3-compatible storage and Azure Blob Storage")
        .connector(
            ConnectorType::<S3North>::north("s3-north", "Amazon S3 and S3-compatible storage")
                .description("Files as objects (multipart when large), values as one JSON or CSV object per batch")
                .handles_values()
                .handles_file(),
        )
        .connector(
            ConnectorType::<AzureNorth>::north("azure-blob-north", "Azure Blob Storage")
                .description("Files as blobs (block lists when large), values as one JSON or CSV blob per batch")
                .handles_values()
                .handles_file(),
        )
}

oibus_plugin_api::export_plugin!(plugin);

//! The store-and-forward cache: per North a durable queue of value batches and of files, with
//! error stores, on an embedded store with group commit.

pub mod codec;
pub mod error_entry;
mod file_record;
mod queue;
mod slots;
mod store;

pub use crate::config::DEFAULT_CACHE;
pub use error_entry::{ErrorBatch, ErrorEntries, ErrorFile};
pub use file_record::FileRecord;
pub use queue::{Encoded, Next, NorthQueue};
pub use store::{Op, Store, StoreError};

//! The store-and-forward cache: per North a durable queue of value batches and of files, with
//! error stores, on an embedded store with group commit.

pub mod codec;
pub mod error_entry;
mod file_record;
mod queue;
mod store;

pub use file_record::FileRecord;
pub use queue::{Encoded, ErrorBatch, ErrorEntries, ErrorFile, Next, NorthQueue};
pub use store::{DEFAULT_CACHE, Op, Store, StoreError};

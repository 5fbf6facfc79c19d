//! The store-and-forward cache: per South a durable log of value batches read by every North
//! it feeds through a cursor each; per North a queue of files and of value batches of its own,
//! with error stores; all on an embedded store with group commit.

pub mod codec;
pub mod error_entry;
mod file_record;
pub mod log;
mod queue;
mod sending;
mod slots;
mod store;

pub use crate::config::DEFAULT_CACHE;
pub use error_entry::{ErrorBatch, ErrorEntries, ErrorFile};
pub use file_record::FileRecord;
pub use log::ValueLog;
pub use queue::{Batches, Next, NorthQueue, Source};
pub use store::{Op, Store, StoreError};

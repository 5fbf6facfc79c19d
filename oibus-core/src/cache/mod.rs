//! The store-and-forward cache: per North a durable queue of value batches and of files, with
//! error stores, on an embedded store with group commit.

pub mod codec;
mod queue;
mod store;

pub use queue::{FileRecord, Next, NorthQueue};
pub use store::{Op, Store, StoreError};

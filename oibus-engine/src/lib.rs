//! # oibus-engine
//!
//! The oibus-rs engine: discovers and loads connector plugins ([`loader`]), runs them in or out of
//! process ([`isolation`]) behind one handle ([`connector`]), validates settings against the
//! plugins' JSON Schemas ([`schema`]), keeps the store-and-forward cache ([`cache`]), reads and
//! saves the configuration ([`config`]) and runs it all ([`engine`]). It knows no HTTP and no
//! command line: the `oibus-admin` crate serves it, the `oibus` binary starts it.

pub mod cache;
pub mod config;
pub mod connector;
pub mod engine;
pub mod folders;
pub mod isolation;
pub mod loader;
pub mod logs;
pub mod schema;
pub mod secrets;
pub mod whole_file;

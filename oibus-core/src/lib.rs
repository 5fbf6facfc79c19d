//! # oibus-core
//!
//! The oibus-rs engine: discovers and loads connector plugins ([`plugin`]), drives connector
//! instances through their lifecycle with time-outs ([`connector`]), validates settings against the
//! plugins' JSON Schemas ([`schema`]), and offers the `oibus` command line ([`cli`]).

pub mod cli;
pub mod connector;
pub mod plugin;
pub mod schema;

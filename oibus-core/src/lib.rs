//! # oibus-core
//!
//! The oibus-rs engine: discovers and loads connector plugins ([`plugin`]), drives connector
//! instances through their lifecycle with time-outs ([`connector`]), validates settings against the
//! plugins' JSON Schemas ([`schema`]), and offers the `oibus` command line ([`cli`]).

pub mod admin;
pub mod cache;
pub mod cli;
pub mod config;
pub mod connector;
pub mod engine;
pub mod isolation;
pub mod logs;
pub mod plugin;
pub mod schema;
pub mod secrets;

//! The engine's configuration: one TOML file (see `docs/configuration.md`).
//!
//! [`load`] reads and parses it, [`validate`] checks every rule of the engine and every setting
//! against its plugin's JSON Schema, and reports all problems at once, one line each, naming the
//! file, the connector and the field.

mod edit;
pub mod history;
pub mod items_file;
mod json_text;
pub mod limits;
mod load;
mod problem;
mod save;
pub mod schedule;
mod types;
mod units;
mod validate;

pub use edit::rewrite;
pub use json_text::JsonText;
pub use load::{DEMO, expand_variables, items_file_path, load, parse};
pub use problem::{ConfigError, Problem};
pub use save::{SaveError, save};
pub use types::*;
pub use units::{ByteSize, Dur};
pub use validate::{query_kind, validate};

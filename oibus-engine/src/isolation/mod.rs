//! Process isolation: plugin code run in child processes of the `oibus` binary
//! (`oibus plugin-host`), so that its crash, hang or exhausted memory is the child's end and not
//! the engine's.
//!
//! [`probe`] opens a file not signed by a trusted key in a throwaway child before the engine's
//! process does; [`child`] is the child's side of a probe and of an isolated connector (whose
//! engine side is `connector/isolated.rs`); [`protocol`] the messages between them; [`process`]
//! starting a child with its limits and describing its end; [`verdicts`] the probes' verdicts
//! remembered. Uses `loader/` and the cache's codec; nothing of `connector/`.

pub mod child;
pub mod probe;
pub mod process;
pub mod protocol;
pub mod verdicts;

pub use probe::ChildProber;

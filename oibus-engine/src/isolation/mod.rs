//! Process isolation: plugin code run in child processes of the `oibus` binary
//! (`oibus plugin-host`), so that its crash, hang or exhausted memory is the child's end and not
//! the engine's.
//!
//! [`probe`] opens a file not signed by a trusted key in a throwaway child before the engine's
//! process does; [`connector`] runs an isolated connector in a child of its own; [`child`] is the
//! child's side of both; [`protocol`] the messages between them; [`process`] starting a child
//! with its limits and describing its end. Uses `plugin/` (the loader) and `connector/` (the
//! data sink, errors); the engine picks it per connector.

pub mod child;
pub mod connector;
pub mod probe;
pub mod process;
pub mod protocol;
pub mod verdicts;

pub use connector::{ChildSettings, Creation, IsolatedConnector, Outlets};
pub use probe::ChildProber;

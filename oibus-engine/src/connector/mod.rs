//! Connector instances as the engine drives them: creation with schema validation, the host
//! context each plugin gets, and a handle that puts a time-out on every call and turns plugin
//! errors, panics and time-outs into [`ConnectorError`]s; and one item read on a connector made
//! for the test ([`test_item`]).

mod backend;
mod error;
mod handle;
mod host;
mod in_process;
pub mod isolated;
mod reports;
mod trial;

pub use backend::{Answer, Backend, Call};
pub use error::ConnectorError;
pub use handle::{ConnectorHandle, ConnectorSpec, Timeouts, create, create_in};
pub use host::{DataSink, DiscardSink, HostContext};
pub use isolated::{ChildSettings, Creation, IsolatedConnector, Outlets};
pub use reports::SourceReports;
pub use trial::{TrialError, TrialItem, browse, test_item};

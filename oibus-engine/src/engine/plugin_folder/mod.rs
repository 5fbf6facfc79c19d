//! The plugins folder while the engine runs: a new plugin's connector types become available
//! (and the connectors waiting for them start); a higher version of a loaded plugin takes over its
//! running connectors, which roll back to the old version if the new one does not connect; a lower
//! version is refused; a removed file stops its connectors until it comes back.
//!
//! [`folder`] holds the folder's state and what an operator asks of it, [`upgrade`] how a file is
//! taken into use (hot upgrades and rollbacks), [`watch`] the events that wake the engine,
//! [`upload`] a file arriving from a front end, [`stamp`] whether a file changed, [`choices`] the forced versions kept on disk.

mod choices;
mod folder;
mod stamp;
mod upgrade;
mod upload;
mod watch;

pub use choices::load_choices;
pub use folder::{PluginFolder, RemoveError};
pub use upload::{PluginUpload, UploadError};
pub use watch::{SAFETY_INTERVAL, watch};

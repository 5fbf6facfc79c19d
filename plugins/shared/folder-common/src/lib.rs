//! What the file plugins share: the file-collecting Souths (`south-folder-scanner`, `sftp`,
//! `south-ftp`), so that a local, an SFTP and an FTP folder follow the same rules, and the
//! file-writing Norths (`north-file-writer`, `sftp-north`), so that they name files alike:
//!
//! - [`settings`]: an item is a regular expression on file names, a minimum age and what happens
//!   to a file once the engine has it (delete, preserve, move);
//! - [`listing`]: a file as a folder lists it (name, size, modification time and the precision
//!   of that time), checked against names a server could use to escape a folder;
//! - [`select`]: which files the items take now: a file is ready once it is older than the
//!   minimum age by its modification time, or once it has been seen unchanged for that long;
//! - [`sent`]: the record of preserved files already sent, kept in the connector's state folder;
//! - [`naming`]: the names a North gives the files it writes (`prefix + name + suffix`);
//! - [`remote`]: the loop of remote folders: download into the state folder, check the file did
//!   not change while it was read, hand it to the engine, then delete, move or record it.

pub mod listing;
pub mod naming;
pub mod remote;
pub mod select;
pub mod sent;
pub mod settings;

pub use listing::{FileStamp, Listed};
pub use remote::{Collector, RemoteFolder};
pub use select::{Candidate, Selector};
pub use sent::SentFiles;
pub use settings::{AfterRead, ItemSettings};

//! Why a plugin file is refused.

use std::path::PathBuf;

/// Why a plugin file was refused. Each message names the file and, where known, the plugin and the
/// versions involved.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a shared library at all (random bytes, a text file…).
    #[error("{file}: not a shared library: {reason}")]
    NotALibrary {
        /// The file.
        file: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A library whose content ends before its headers say it should: an interrupted copy.
    #[error("{file}: truncated or corrupt library: {reason}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// Built for another processor or operating system.
    #[error("{file}: built for {found}, this machine runs {expected}")]
    WrongPlatform {
        /// The file.
        file: PathBuf,
        /// The file's platform.
        found: String,
        /// The host's platform.
        expected: String,
    },
    /// The dynamic loader refused it.
    #[error("{file}: the system cannot load it: {reason}")]
    OpenFailed {
        /// The file.
        file: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// Not a regular file: a directory, a symbolic link to nothing, a loop of links, a device…
    #[error("{file}: not a plugin file: {reason}")]
    NotAFile {
        /// The path.
        file: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// The declaration symbol is there but is not a declaration the engine can read: in the wrong
    /// section, of the wrong size, or with fields that do not parse. Nothing of the file ran.
    #[error("{file}: malformed plugin declaration: {reason}")]
    BadDeclaration {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A valid library without an oibus plugin declaration.
    #[error(
        "{file}: not an oibus plugin (no `oibus_plugin_declaration` symbol; build it with oibus_plugin_api::export_plugin!)"
    )]
    NotAPlugin {
        /// The file.
        file: PathBuf,
    },
    /// Built against an incompatible plugin-API version.
    #[error("{file}: plugin {plugin} refused: {reason}")]
    IncompatibleApi {
        /// The file.
        file: PathBuf,
        /// Plugin id and version, from its declaration.
        plugin: String,
        /// The version rule that failed, with both versions.
        reason: String,
    },
    /// abi_stable found that the types at the boundary do not have the host's layout.
    #[error(
        "{file}: plugin {plugin} refused: ABI check failed (built against a different oibus-plugin-api or abi_stable): {reason}"
    )]
    AbiMismatch {
        /// The file.
        file: PathBuf,
        /// Plugin id and version, from its declaration.
        plugin: String,
        /// abi_stable's diagnosis (first lines).
        reason: String,
    },
    /// The manifest is missing or malformed.
    #[error("{file}: invalid manifest: {reason}")]
    BadManifest {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Its signature is missing, from a key that is not trusted, or does not verify (as the
    /// signature policy decides).
    #[error("{file}: {reason}")]
    Signature {
        /// The file.
        file: PathBuf,
        /// The key that signed it, when the signature could be read.
        key_id: Option<String>,
        /// Unsigned, unknown key, bad signature, unreadable signature.
        reason: String,
    },
    /// Its first load, in a throwaway process, failed: its code aborted, exited, crashed or hung
    /// while the library was being opened. The engine's process never opened it.
    #[error("{file}: plugin {plugin} refused: {reason}")]
    ProbeFailed {
        /// The file.
        file: PathBuf,
        /// Plugin id and version, from its declaration.
        plugin: String,
        /// What the throwaway process did.
        reason: String,
    },
    /// Another file already provides this plugin id or connector type.
    #[error("{file}: duplicate: {reason}")]
    Duplicate {
        /// The file.
        file: PathBuf,
        /// Which plugin or type, and which file had it first.
        reason: String,
    },
}

impl LoadError {
    /// `plugin-id version` as the library declares it, for refusals made before its manifest was
    /// read (an incompatible API, a failed layout check).
    pub fn declared_plugin(&self) -> Option<String> {
        match self {
            Self::IncompatibleApi { plugin, .. }
            | Self::AbiMismatch { plugin, .. }
            | Self::ProbeFailed { plugin, .. } => Some(plugin.clone()),
            _ => None,
        }
    }

    /// The reason without the file name (for tables that show the file in its own column).
    pub fn reason(&self) -> String {
        let full = self.to_string();
        match full.split_once(": ") {
            Some((_, rest)) => rest.to_string(),
            None => full,
        }
    }
}

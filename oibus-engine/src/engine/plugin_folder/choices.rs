//! The operator's plugin version choices (forced versions), kept in
//! `<data>/plugin-choices.json`.

use crate::loader::Choices;
use std::path::Path;

/// The choices recorded in `file` (none if it is missing; an unreadable one is said and ignored).
pub fn load_choices(file: &Path) -> Choices {
    match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(
                "{}: not a record of plugin version choices ({e}): ignored",
                file.display()
            );
            Choices::default()
        }),
        Err(_) => Choices::default(),
    }
}

/// Records the choices in `file`, atomically.
pub fn save_choices(file: &Path, choices: &Choices) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(choices).unwrap_or_default();
    crate::whole_file::write(file, &json, "json.tmp")
}

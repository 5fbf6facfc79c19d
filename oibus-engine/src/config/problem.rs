//! A problem found in a configuration, and all of them as one error.

/// One problem in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `south "plc-1" items[2].scan_mode`, `engine.reconnect.max`…
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.lines().join("\n"))]
pub struct ConfigError {
    /// The file (or `embedded demo configuration`).
    pub origin: String,
    /// Every problem.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// One line per problem, each starting with the file.
    pub fn lines(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| format!("{}: {p}", self.origin))
            .collect()
    }
}

//! The limits a child starts with.

/// Limits applied to a child before it runs any plugin code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Memory limit in bytes (Linux: address space; Windows: committed memory); `None`: the
    /// engine's own.
    pub max_memory: Option<u64>,
}

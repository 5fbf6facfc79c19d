//! Unix: no Windows service manager; systemd runs the gateway (see the module's documentation).

use super::types::{Registration, ServiceError, State};

pub fn install(_: &Registration) -> Result<(), ServiceError> {
    Err(ServiceError::Unsupported)
}

pub fn uninstall(_: &str) -> Result<(), ServiceError> {
    Err(ServiceError::Unsupported)
}

pub fn start(_: &str) -> Result<(), ServiceError> {
    Err(ServiceError::Unsupported)
}

pub fn stop(_: &str) -> Result<(), ServiceError> {
    Err(ServiceError::Unsupported)
}

pub fn state(_: &str) -> Result<State, ServiceError> {
    Err(ServiceError::Unsupported)
}

pub fn serve(_: &str, _: Box<dyn FnOnce() -> i32 + Send>) -> Result<i32, ServiceError> {
    Err(ServiceError::Unsupported)
}

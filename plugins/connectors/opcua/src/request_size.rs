//! Requests a server refuses for their size: which status codes say so, and from what size a
//! closed connection is read as one.

use opcua::types::StatusCode;

/// A request of more nodes (or values) than this that ends in a closed connection is taken as
/// too large.
pub const LARGE_REQUEST: usize = 500;

/// Whether a request was refused for its size (it works in smaller ones).
pub fn too_large(code: StatusCode) -> bool {
    [
        StatusCode::BadRequestTooLarge,
        StatusCode::BadResponseTooLarge,
        StatusCode::BadTooManyOperations,
        StatusCode::BadEncodingLimitsExceeded,
    ]
    .contains(&code)
}

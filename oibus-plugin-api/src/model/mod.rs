//! The data model shared by the engine and every plugin. All types are FFI-safe and convert to and
//! from JSON in OIBus's shape.

mod browse;
mod item;
mod timestamp;
mod value;

pub use browse::{BrowseRequest, BrowsedNode};
pub use item::Item;
pub use timestamp::Timestamp;
pub use value::{DataValue, OibusValue, Quality, f32_as_decimal};

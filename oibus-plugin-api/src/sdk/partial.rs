//! A scan that read some items and not others.

use super::context::Context;
use crate::{OibusValue, PluginError, Result};

/// What a scan of several items read: the values of the items that worked, and the first error
/// of those that failed (report each failed item by name with [`Context::item_failed`] as you
/// read). One refused address must not cost the values of the others.
///
/// ```
/// use oibus_plugin_api::{OibusValue, PluginError, Timestamp, sdk::PartialRead};
/// let read = PartialRead {
///     values: vec![OibusValue::new("tank.level", Timestamp::now(), 3.5)],
///     first_error: Some(PluginError::transient("item \"valve\": address refused")),
/// };
/// // An item test answers the error; a scan hands over the values, then fails with it.
/// assert!(read.into_test().is_err());
/// ```
#[derive(Default)]
pub struct PartialRead {
    /// The values read.
    pub values: Vec<OibusValue>,
    /// The first error of the items that failed, if any.
    pub first_error: Option<PluginError>,
}

impl PartialRead {
    /// For a scan: hands the values to the engine, then returns the first error, so that the
    /// run counts as failed while an item fails.
    pub async fn hand_over(self, ctx: &Context) -> Result<()> {
        ctx.add_values(self.values).await?;
        self.first_error.map_or(Ok(()), Err)
    }

    /// For an item test: the values, or the error if the item failed.
    pub fn into_test(self) -> Result<Vec<OibusValue>> {
        self.first_error.map_or(Ok(self.values), Err)
    }
}

//! History reads (`QueriesHistory`): the raw values of a node over a window, page by page with
//! continuation points, or one aggregate (average, minimum, maximum, count) per resampling
//! interval through a processed read.

use crate::settings::{Aggregate, ItemSettings};
use oibus_plugin_api::prelude::*;
use opcua::{
    client::{HistoryReadAction, Session},
    types::{
        AggregateConfiguration, ByteString, DateTime, HistoryData, HistoryReadValueId, NodeId,
        ObjectId, ReadProcessedDetails, ReadRawModifiedDetails, StatusCode, TimestampsToReturn,
    },
};

/// OPC UA instants count 100 ns ticks from 1601-01-01; ours nanoseconds from 1970-01-01.
const TICKS_AT_1970: i64 = 11_644_473_600 * 10_000_000;

/// An instant of ours as an OPC UA instant.
pub fn ua_time(t: Timestamp) -> DateTime {
    DateTime::from(t.as_nanos().div_euclid(100) + TICKS_AT_1970)
}

/// Why a page was not read.
pub enum PageError {
    /// The request failed as a whole, with this status (a lost connection, a refused size).
    Request(StatusCode),
    /// The item's history cannot be read, named.
    Item(PluginError),
}

impl PageError {
    /// As the engine hears it.
    pub fn into_plugin_error(self, item: &str) -> PluginError {
        match self {
            PageError::Request(code) => PluginError::connection_lost(format!(
                "item {item:?}: history read failed: {}",
                crate::convert::status_text(code)
            )),
            PageError::Item(e) => e,
        }
    }
}

/// One page of the history of `node` over `[start, end)`: its values, and the continuation
/// point of the next page (`None` at the end). An aggregate is read over the whole intervals
/// inside the window.
pub async fn page(
    session: &Session,
    node: &NodeId,
    item: &SouthItem<ItemSettings>,
    (start, end): (Timestamp, Timestamp),
    per_page: u32,
    continuation: ByteString,
) -> std::result::Result<(Vec<OibusValue>, Option<ByteString>), PageError> {
    let item_error = |why: String| {
        PageError::Item(PluginError::invalid_settings(format!(
            "item {:?}: {why}",
            item.name
        )))
    };
    // An aggregate's intervals fall on whole multiples of the interval, whatever the window, so
    // that reading a range again (the overlap) gives the same intervals, and only whole intervals
    // are read: the one still filling at the window's end belongs to the next window.
    let (start, end) = match item.settings.aggregate {
        Aggregate::Raw => (start, end),
        _ => {
            let step = i64::try_from(item.settings.resampling_interval_ms)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000)
                .max(1);
            let down = |t: Timestamp| Timestamp::from_nanos(t.as_nanos().div_euclid(step) * step);
            (down(start), down(end))
        }
    };
    if start >= end {
        return Ok((Vec::new(), None));
    }
    let (from, to) = (ua_time(start), ua_time(end));
    let action = match item.settings.aggregate {
        Aggregate::Raw => HistoryReadAction::ReadRawModifiedDetails(ReadRawModifiedDetails {
            is_read_modified: false,
            start_time: from,
            end_time: to,
            num_values_per_node: per_page,
            return_bounds: false,
        }),
        aggregate => HistoryReadAction::ReadProcessedDetails(ReadProcessedDetails {
            start_time: from,
            end_time: to,
            processing_interval: item.settings.resampling_interval_ms as f64,
            aggregate_type: Some(vec![aggregate_function(aggregate).into()]),
            aggregate_configuration: AggregateConfiguration {
                use_server_capabilities_defaults: true,
                ..Default::default()
            },
        }),
    };
    let request = HistoryReadValueId {
        node_id: node.clone(),
        index_range: Default::default(),
        data_encoding: Default::default(),
        continuation_point: continuation,
    };
    let results = session
        .history_read(action, TimestampsToReturn::Both, false, &[request])
        .await
        .map_err(|e| PageError::Request(e.status()))?;
    let Some(result) = results.into_iter().next() else {
        return Err(item_error(
            "the server answered a history read with no result".into(),
        ));
    };
    if result.status_code.is_bad() {
        let how = match item.settings.aggregate {
            Aggregate::Raw => "raw history".to_string(),
            a => format!("the aggregate {a:?} (a processed history read)").to_lowercase(),
        };
        let hint = if result.status_code == StatusCode::BadNotImplemented
            || result.status_code == StatusCode::BadHistoryOperationUnsupported
            || result.status_code == StatusCode::BadAggregateNotSupported
        {
            match item.settings.aggregate {
                Aggregate::Raw => ": the server keeps no history of it",
                _ => ": the server does not compute it; read aggregate = \"raw\"",
            }
        } else {
            ""
        };
        return Err(item_error(format!(
            "node {node}: {how}: {}{hint}",
            crate::convert::status_text(result.status_code)
        )));
    }
    let mut values = Vec::new();
    if let Some(data) = result.history_data.inner_as::<HistoryData>() {
        let read_at = Timestamp::now();
        for dv in data.data_values.iter().flatten() {
            match crate::convert::value(&item.name, dv, item.settings.timestamp_origin, read_at) {
                // The window is [start, end): a value at its end belongs to the next one.
                Ok(v) if v.timestamp >= start && v.timestamp < end => values.push(v),
                Ok(_) => {}
                Err(why) => return Err(item_error(format!("node {node}: {why}"))),
            }
        }
    }
    let next = (!result.continuation_point.is_null()).then_some(result.continuation_point);
    Ok((values, next))
}

fn aggregate_function(a: Aggregate) -> ObjectId {
    match a {
        Aggregate::Raw | Aggregate::Average => ObjectId::AggregateFunction_Average,
        Aggregate::Minimum => ObjectId::AggregateFunction_Minimum,
        Aggregate::Maximum => ObjectId::AggregateFunction_Maximum,
        Aggregate::Count => ObjectId::AggregateFunction_Count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_convert_both_ways() {
        let t = Timestamp::from_nanos(1_714_564_800_123_456_700);
        assert_eq!(crate::convert::instant(&ua_time(t)), Some(t));
        assert_eq!(ua_time(t).to_rfc3339(), "2024-05-01T12:00:00.123Z");
    }
}

//! Reading a South's history over a range on request, as the engine reads it (windows, delay).

use super::{
    lookup::slot_index,
    refusal::{CommandError, Refusal},
    request::Reply,
};
use crate::config::{self};
use crate::engine::{history, running::Engine, slot::Role};
use oibus_plugin_api::{ConnectorKind, Timestamp};

pub(super) fn history_range(
    engine: &Engine,
    id: &str,
    start: Timestamp,
    end: Timestamp,
    reply: Reply<u64>,
) {
    let Some(i) = slot_index(engine, ConnectorKind::South, id) else {
        let _ = reply.send(Err(CommandError::not_found(format!(
            "no enabled South {id:?}"
        ))));
        return;
    };
    let slot = &engine.slots[i];
    let Role::South(config) = &slot.role else {
        return;
    };
    let (Some(connector), Some(stopped), true) =
        (slot.connector(), slot.cancel_token(), slot.is_connected())
    else {
        let _ = reply.send(Err(CommandError::conflict(format!(
            "South {id:?} is not connected"
        ))));
        return;
    };
    if end <= start {
        let _ = reply.send(Err(CommandError::invalid("end must be after start")));
        return;
    }
    let settings = config.history.clone();
    let limit = settings.max_request_range.0;
    if (end.as_nanos() - start.as_nanos()).unsigned_abs() as u128 > limit.as_nanos() {
        let _ = reply.send(Err(CommandError::invalid(format!(
            "the range from {start} to {end} is longer than history.max_request_range of South {id:?} ({})",
            humantime::format_duration(limit)
        ))));
        return;
    }
    let status = slot.status.clone();
    if status.history_request_running() {
        let _ = reply.send(Err(CommandError::conflict(format!(
            "South {id:?} is already reading a history request"
        ))));
        return;
    }
    let schema = slot
        .plugin()
        .and_then(|p| p.manifest().connector_type(&config.type_id))
        .and_then(|m| m.item_schema.as_ref());
    let items: Vec<_> = crate::engine::south::items(config, schema)
        .into_iter()
        .filter(|i| i.scan_mode.as_str() != config::SUBSCRIPTION)
        .collect();
    let windows = history::windows(start, end, settings.max_read_interval.0);
    let (total, started) = (windows.len() as u64, Timestamp::now());
    let progress = move |windows_done: u64, state: &str, error: Option<String>| {
        *status
            .history_request
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(crate::engine::status::HistoryProgress {
            start,
            end,
            windows_done,
            windows: total,
            state: state.to_string(),
            error,
            started,
        });
    };
    progress(0, "running", None);
    let span = connector.span().clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut reply = reply;
            let mut done = 0u64;
            tracing::info!("history request from {start} to {end}: {total} window(s)");
            for (s, e) in windows {
                if done > 0 {
                    tokio::select! {
                        () = stopped.cancelled() => {}
                        () = reply.closed() => {}
                        () = tokio::time::sleep(settings.read_delay.0) => {}
                    }
                }
                // Stopped with the South, or abandoned by its client: what was read is kept.
                let outcome = tokio::select! {
                    () = stopped.cancelled() => Err("stopped"),
                    () = reply.closed() => Err("cancelled"),
                    r = connector.history_query(items.clone(), s, e) => Ok(r),
                };
                match outcome {
                    Err(why) => {
                        tracing::info!("history request {why} after {done} of {total} window(s)");
                        progress(done, why, None);
                        let _ = reply.send(Err(CommandError::conflict(format!(
                            "the history request was {why} after {done} window(s)"
                        ))));
                        return;
                    }
                    Ok(Err(err)) => {
                        tracing::warn!("history request failed: {err}");
                        progress(done, "failed", Some(err.to_string()));
                        let _ = reply.send(Err(CommandError {
                            refusal: Refusal::SourceFailed,
                            error: err.to_string(),
                            problems: Vec::new(),
                        }));
                        return;
                    }
                    Ok(Ok(_)) => {
                        done += 1;
                        progress(done, "running", None);
                    }
                }
            }
            tracing::info!("history request done: {done} window(s)");
            progress(done, "done", None);
            let _ = reply.send(Ok(done));
        },
        span,
    ));
}

//! `oibus status`: what every connector of a running (or last run) engine is doing.

use super::table;
use oibus_engine::engine;
use oibus_plugin_api::{ConnectorKind, Timestamp};
use std::{path::Path, sync::atomic::Ordering, time::Duration};

/// Prints the status table (or JSON) of the engine using data folder `data`.
pub fn run(data: &Path, json: bool) -> anyhow::Result<i32> {
    // Live from the admin API when the engine runs; else the last status document it wrote.
    let s = match super::api::call(data, "GET", "/api/status", None) {
        Ok(v) => serde_json::from_value(v)?,
        Err(_) => engine::read_status(data)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(0);
    }
    let age = Timestamp::now().since(s.updated);
    println!(
        "engine {:?} (pid {}), started {}, status of {} ({} ago){}",
        s.engine,
        s.pid,
        s.started,
        s.updated,
        humantime::format_duration(Duration::from_secs(age.as_secs())),
        if age > Duration::from_secs(5) {
            " — not updated lately: is the engine running?"
        } else {
            ""
        }
    );
    let [p50, p99, max] = s.add_values_latency_us;
    println!("add_values latency: p50 {p50} µs, p99 {p99} µs, max {max} µs");
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let rows: Vec<Vec<String>> = s
        .connectors
        .iter()
        .map(|c| {
            let k = &c.counters;
            let activity = match c.kind {
                ConnectorKind::South => {
                    let mut a = format!(
                        "in: {} values, {} files; runs {} (failed {}, with failed items {}, skipped busy {}, disconnected {})",
                        get(&k.values_in),
                        get(&k.files_in),
                        get(&k.runs),
                        get(&k.run_failures),
                        get(&k.runs_with_failed_items),
                        get(&k.skipped_busy),
                        get(&k.skipped_disconnected)
                    );
                    if get(&k.values_not_finite) > 0 {
                        a.push_str(&format!(
                            "; {} not a number (quality bad)",
                            get(&k.values_not_finite)
                        ));
                    }
                    if c.dropped > 0 {
                        a.push_str(&format!(
                            "; dropped {} (last: {})",
                            c.dropped,
                            c.last_drop.as_deref().unwrap_or("?")
                        ));
                    }
                    for (item, why) in &c.failed_items {
                        a.push_str(&format!("; item {item:?} fails: {why}"));
                    }
                    if let Some(h) = &c.history_request {
                        a.push_str(&format!(
                            "; history request {} to {}: {} ({}/{} windows)",
                            h.start, h.end, h.state, h.windows_done, h.windows
                        ));
                    }
                    a
                }
                ConnectorKind::North => {
                    let cache = c.cache.as_ref().map_or(String::new(), |q| {
                        let oldest = q.oldest_queued_age_s.map_or(String::new(), |a| {
                            format!(
                                " (oldest {} old)",
                                humantime::format_duration(Duration::from_secs(a as u64))
                            )
                        });
                        format!(
                            "; queued {} values, {} files{oldest}; error store {} values, {} files",
                            q.queued_values, q.queued_files, q.error_values, q.error_files
                        )
                    });
                    let blocked = c
                        .blocked_since
                        .map_or(String::new(), |t| format!("; BLOCKED since {t}"));
                    format!(
                        "sent: {} values, {} files; failed sends {}{cache}{blocked}",
                        get(&k.values_sent),
                        get(&k.files_sent),
                        get(&k.send_failures)
                    )
                }
            };
            vec![
                c.id.clone(),
                c.kind.to_string(),
                c.type_id.clone(),
                match &c.last_upgrade {
                    Some(u) => format!(
                        "{} (upgraded from {} at {}, downtime {:.1} ms)",
                        c.plugin, u.from, u.at, u.downtime_ms
                    ),
                    None => c.plugin.clone(),
                },
                format!("{:?}", c.state).to_lowercase(),
                activity,
                last_error(c),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "CONNECTOR",
                "KIND",
                "TYPE",
                "PLUGIN",
                "STATE",
                "ACTIVITY",
                "LAST ERROR"
            ],
            &rows
        )
    );
    for v in &s.loaded_versions {
        if let Some(r) = v.runtime.as_ref().filter(|r| r.degraded) {
            println!(
                "plugin {} {} DEGRADED: {} call(s) stuck past their time-out hold runtime threads; \
                 its work moved to a new runtime ({} replacement(s)); restart the engine to free them",
                v.id, v.version, r.stuck_calls, r.replacements
            );
        }
    }
    Ok(0)
}

/// The last error of a connector, said to be resolved when the connector worked since (a
/// connection, a run, a send): only an error that holds now is said plainly.
fn last_error(c: &oibus_engine::engine::status::ConnectorSnapshot) -> String {
    match &c.last_error {
        None => String::new(),
        Some(error) if c.failing => error.clone(),
        Some(error) => format!("(resolved) {error}"),
    }
}

#[cfg(test)]
mod tests {
    use oibus_engine::engine::status::ConnectorStatus;
    use oibus_plugin_api::ConnectorKind;

    #[test]
    fn an_error_is_said_resolved_once_the_connector_works_again() {
        let status =
            ConnectorStatus::new("plc", ConnectorKind::South, "opcua", "oibus-opcua 1.0.0");
        assert_eq!(super::last_error(&status.snapshot()), "");
        status.error("certificate not trusted");
        let failing = status.snapshot();
        assert!(failing.failing);
        assert!(super::last_error(&failing).ends_with(": certificate not trusted"));
        assert!(!super::last_error(&failing).starts_with("(resolved)"));
        status.ok();
        let working = status.snapshot();
        assert!(!working.failing);
        assert!(super::last_error(&working).starts_with("(resolved) "));
        status.error("connection lost");
        assert!(status.snapshot().failing);
    }
}

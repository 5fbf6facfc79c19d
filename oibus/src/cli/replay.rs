//! `oibus replay`: a running engine's North sends again what the Souths' logs retain since an
//! instant.

use anyhow::{Context as _, bail};
use oibus_plugin_api::Timestamp;
use std::path::PathBuf;

/// `oibus replay NORTH --since WHEN`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The North that sends again.
    pub north: String,
    /// From when: an RFC 3339 instant (`2026-12-05T08:00:00Z`) or a duration before now
    /// (`2h`, `30min`). The North's cursors move back to the first value appended then or
    /// later, within what the Souths' logs retain (`[south.retention]`).
    #[arg(long)]
    pub since: String,
    /// Only the values of this South (default: every South the North receives).
    #[arg(long)]
    pub south: Option<String>,
    /// The engine's data folder.
    #[arg(long, default_value = "oibus-data")]
    pub data: PathBuf,
}

/// `--since` as an instant.
fn instant(since: &str) -> anyhow::Result<Timestamp> {
    if let Ok(t) = Timestamp::parse(since) {
        return Ok(t);
    }
    let ago = humantime::parse_duration(since).with_context(|| {
        format!("--since {since:?} is neither an RFC 3339 instant nor a duration such as 2h")
    })?;
    let ago = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
    Ok(Timestamp::from_millis(
        Timestamp::now().as_millis().saturating_sub(ago),
    ))
}

/// Asks the engine, prints what it will send again.
pub fn run(args: &Args) -> anyhow::Result<i32> {
    let since = instant(&args.since)?;
    let mut body = serde_json::json!({ "since": since.to_iso() });
    if let Some(s) = &args.south {
        body["south"] = s.clone().into();
    }
    let path = format!("/api/north/{}/cache/replay", args.north);
    let answer = super::api::call(&args.data, "POST", &path, Some(body))?;
    let Some(logs) = answer["logs"].as_array() else {
        bail!("unexpected answer: {answer}");
    };
    println!(
        "North {:?} sends again {} value(s) appended since {}",
        args.north,
        answer["values"],
        since.to_iso()
    );
    for l in logs {
        let from = l["from"].as_str().unwrap_or("nothing retained then");
        println!(
            "  South {}: {} value(s) from {from}",
            l["south"], l["values"]
        );
    }
    Ok(0)
}

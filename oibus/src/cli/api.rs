//! The CLI's client of a running engine's admin API: its URL and token are read from the data
//! folder (`admin-url`, `admin-token`).

use anyhow::{Context as _, bail};
use oibus_admin::{URL_FILE, token::TOKEN_FILE};
use std::path::Path;

/// Calls `method path` with an optional JSON body; returns the JSON answer.
pub fn call(
    data: &Path,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let url = std::fs::read_to_string(data.join(URL_FILE)).with_context(|| {
        format!(
            "no admin API address in {} (is `oibus run --data {}` running?)",
            data.join(URL_FILE).display(),
            data.display()
        )
    })?;
    let token = std::fs::read_to_string(data.join(TOKEN_FILE))
        .with_context(|| format!("cannot read {}", data.join(TOKEN_FILE).display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    let address = format!("{}{path}", url.trim());
    let auth = format!("Bearer {}", token.trim());
    let response = match (method, body) {
        ("GET", _) => agent.get(&address).header("Authorization", &auth).call(),
        (_, Some(b)) => agent
            .post(&address)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        (_, None) => agent
            .post(&address)
            .header("Authorization", &auth)
            .send_empty(),
    };
    let mut response = response.with_context(|| {
        format!(
            "the engine's admin API at {} did not answer (is the engine running?)",
            url.trim()
        )
    })?;
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        let message = json["error"].as_str().unwrap_or(&text);
        bail!("{method} {path}: {status}: {message}");
    }
    Ok(json)
}

//! Which host names the API answers to. A web page can make its own name resolve to this
//! gateway's address (DNS rebinding) and then read its answers as if same-origin; it cannot
//! make the browser send this gateway's name. So a request whose `Host` is a name this gateway
//! does not go by is refused before any route runs: the names allowed are `localhost`, this
//! machine's name (whole and its first label), any IP address (no page can rebind those), and
//! `engine.admin.allowed_hosts` (a reverse proxy's public name; `"*"` for any).

use crate::error::ApiError;
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{collections::HashSet, net::IpAddr, sync::Arc};

/// The names a request may give in its `Host`.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// Lower-case names without a trailing dot; `None`: any.
    names: Option<Arc<HashSet<String>>>,
}

impl AllowedHosts {
    /// `localhost`, this machine's name and `configured`.
    pub fn new(configured: &[String]) -> Self {
        if configured.iter().any(|h| h == "*") {
            return Self { names: None };
        }
        let mut names: HashSet<String> = configured.iter().map(|h| normal(h)).collect();
        names.insert("localhost".into());
        let machine = normal(&gethostname::gethostname().to_string_lossy());
        if let Some((first, _)) = machine.split_once('.') {
            names.insert(first.to_string());
        }
        if !machine.is_empty() {
            names.insert(machine);
        }
        Self {
            names: Some(Arc::new(names)),
        }
    }

    /// Whether `host` (a `Host` header: a name or address, with or without a port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let name = without_port(host);
        name.parse::<IpAddr>().is_ok() || names.contains(&normal(name))
    }
}

/// A name compared as DNS does: case-insensitive, the root's dot dropped.
fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The host of a `Host` value: `[::1]:2223` → `::1`, `gw:2223` → `gw`.
fn without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Refuses a request naming a host this gateway does not go by (a request without `Host`, which
/// no browser sends, passes).
pub async fn checked(
    State(allowed): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if !allowed.allows(&h) => ApiError {
            status: 421,
            error: format!(
                "this gateway does not go by the name {}: if it is reached by that name (a \
                 reverse proxy, a DNS alias), add it to engine.admin.allowed_hosts",
                oibus_engine::config::limits::quoted(without_port(&h))
            ),
            problems: Vec::new(),
        }
        .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_this_machine_and_configured_names_pass_others_not() {
        let a = AllowedHosts::new(&["Gateway.Plant.Example.".into()]);
        for ok in [
            "127.0.0.1:2223",
            "10.1.2.3",
            "[::1]:2223",
            "[fe80::1]",
            "localhost:2223",
            "LOCALHOST",
            "gateway.plant.example:443",
            "gateway.plant.example.",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        let me = gethostname::gethostname().to_string_lossy().to_string();
        assert!(a.allows(&format!("{me}:2223")), "{me}");
        for bad in [
            "rebind.evil.example",
            "rebind.evil.example:2223",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "gateway.plant.example.evil",
            "",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
        assert!(AllowedHosts::new(&["*".into()]).allows("anything.example"));
    }
}

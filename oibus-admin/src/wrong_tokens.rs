//! What the API does with wrong tokens, wherever they arrive (a bearer token, the metrics token,
//! the console's sign-in): counted per client address by [`crate::throttle`], answered 429
//! once an address has sent too many, and logged at most once a minute per address.

use crate::{error::ApiError, listener::Peer, state::ApiState, throttle};
use axum::{
    extract::ConnectInfo,
    http::{Extensions, header},
    response::{IntoResponse, Response},
};
use std::{net::IpAddr, time::Duration};

/// The client's address (from the listener; none in a test without a socket).
pub fn client(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(a))| a.ip())
}

/// A 429 for a client that sent too many wrong tokens, saying when to try again.
pub fn too_many(state: &ApiState, ip: IpAddr, wait: Duration) -> Response {
    log(state.throttle.refused(ip), "");
    let secs = wait.as_secs() + 1;
    let mut r = ApiError {
        status: 429,
        error: format!(
            "too many wrong tokens from this address: try again in {secs} s (an address may \
             send {} wrong tokens, then one every {} s)",
            throttle::BURST,
            throttle::REFILL.as_secs()
        ),
        problems: Vec::new(),
    }
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    r
}

/// The 429 to answer, without comparing its token, when the client has sent too many wrong
/// ones; `None` when it may try.
pub fn held(state: &ApiState, ip: Option<IpAddr>) -> Option<Response> {
    let ip = ip?;
    let wait = state.throttle.check(ip).err()?;
    Some(too_many(state, ip, wait))
}

/// Counts a wrong token (`what`: which one) from the client, and logs it, at most one line a
/// minute per address however many come.
pub fn wrong_token(state: &ApiState, ip: Option<IpAddr>, what: &str) {
    if let Some(ip) = ip {
        log(state.throttle.wrong(ip), what);
    }
}

fn log(line: Option<throttle::LogLine>, what: &str) {
    let Some(line) = line else { return };
    if line.refused <= 1 {
        tracing::warn!(
            "admin API: a wrong {what} from {} was refused (more from that address are counted, \
             one line a minute)",
            line.client
        );
    } else {
        tracing::warn!(
            "admin API: {} wrong tokens or sign-ins from {} refused in the last minute",
            line.refused,
            line.client
        );
    }
}

//! Console sessions: signing in with the admin token gives the browser a random session id in an
//! `HttpOnly`, `SameSite=Strict` cookie, and the page a CSRF token that every state-changing
//! request must carry in the `X-CSRF-Token` header. Sessions live in memory: they end when the
//! engine stops, after [`IDLE`] without a request, or when signing out.

use crate::token;
use axum::http::{HeaderMap, Method, header};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// The session cookie's name.
pub const COOKIE: &str = "oibus_session";
/// The header carrying the CSRF token of a session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused this long is forgotten.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions are kept; signing in beyond forgets the least recently used.
const MAX_SESSIONS: usize = 256;

/// One signed-in browser.
#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    last_used: Instant,
}

/// The signed-in browsers.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

/// Why a request with a session cookie is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No cookie, or one of no live session.
    NoSession,
    /// A state change without the session's CSRF token, or from another origin.
    Csrf,
}

/// A new random token, hex-encoded.
fn random() -> String {
    let mut bytes = [0u8; 32];
    // getrandom fails only where the OS has no randomness source; then no session is safe.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = [0; 32];
    }
    hex::encode(bytes)
}

impl Sessions {
    /// Opens a session: `(session id, csrf token)`; `None` if randomness is unavailable.
    pub fn open(&self) -> Option<(String, String)> {
        let (id, csrf) = (random(), random());
        if id.bytes().all(|b| b == b'0') {
            return None;
        }
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.last_used.elapsed() < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                last_used: Instant::now(),
            },
        );
        Some((id, csrf))
    }

    /// Closes the session of these headers, if any.
    pub fn close(&self, headers: &HeaderMap) {
        if let Some(id) = session_id(headers) {
            let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&id);
        }
    }

    /// The CSRF token of the live session of these headers (and marks it used).
    pub fn csrf(&self, headers: &HeaderMap) -> Option<String> {
        let id = session_id(headers)?;
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let live = map.get(&id).is_some_and(|s| s.last_used.elapsed() < IDLE);
        if !live {
            map.remove(&id);
            return None;
        }
        let s = map.get_mut(&id)?;
        s.last_used = Instant::now();
        Some(s.csrf.clone())
    }

    /// Whether session `id` is live (and marks it used): a stream opened with it stops when it
    /// is not.
    pub fn alive(&self, id: &SessionId) -> bool {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&id.0) {
            Some(s) if s.last_used.elapsed() < IDLE => {
                s.last_used = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Checks a request authenticated by its cookie: a live session, and for anything but a
    /// read, the session's CSRF token in [`CSRF_HEADER`] and no foreign `Origin`.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refused> {
        let csrf = self.csrf(headers).ok_or(Refused::NoSession)?;
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !given.is_some_and(|g| token::matches(&csrf, g)) || !same_origin(headers) {
            return Err(Refused::Csrf);
        }
        Ok(())
    }
}

/// The session a request was let in with (a request extension set by the API's
/// authentication; absent for the bearer token).
#[derive(Debug, Clone)]
pub struct SessionId(String);

impl SessionId {
    /// The session of these headers' cookie, if any.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        session_id(headers).map(Self)
    }
}

/// The session id of the request's cookie.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// Whether the request's `Origin`, when the browser sent one, is the server it was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    origin_host.is_some() && origin_host == host
}

/// The `Set-Cookie` value that gives the browser its session; `secure` when the browser talks
/// HTTPS (the cookie then never travels in clear).
pub fn set_cookie(id: &str, secure: bool) -> String {
    cookie::Cookie::build((COOKIE, id.to_string()))
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(IDLE.as_secs() as i64))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that removes it.
pub fn clear_cookie() -> String {
    cookie::Cookie::build((COOKIE, ""))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_session_reads_freely_and_changes_only_with_its_csrf_token_from_its_origin() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.open().unwrap();
        let cookie = format!("other=1; {COOKIE}={id}");
        let read = headers(&[("cookie", &cookie)]);
        assert_eq!(sessions.check(&Method::GET, &read), Ok(()));
        assert_eq!(sessions.check(&Method::POST, &read), Err(Refused::Csrf));
        let wrong = headers(&[("cookie", &cookie), (CSRF_HEADER, "nope")]);
        assert_eq!(sessions.check(&Method::DELETE, &wrong), Err(Refused::Csrf));
        let right = headers(&[
            ("cookie", &cookie),
            (CSRF_HEADER, &csrf),
            ("host", "127.0.0.1:2223"),
            ("origin", "http://127.0.0.1:2223"),
        ]);
        assert_eq!(sessions.check(&Method::PUT, &right), Ok(()));
        let foreign = headers(&[
            ("cookie", &cookie),
            (CSRF_HEADER, &csrf),
            ("host", "127.0.0.1:2223"),
            ("origin", "http://evil.example"),
        ]);
        assert_eq!(sessions.check(&Method::POST, &foreign), Err(Refused::Csrf));
        let id = SessionId::of(&read).unwrap();
        assert!(sessions.alive(&id));
        sessions.close(&read);
        assert!(!sessions.alive(&id), "a closed session's streams stop");
        assert_eq!(sessions.check(&Method::GET, &read), Err(Refused::NoSession));
        let unknown = headers(&[("cookie", &format!("{COOKIE}=feed"))]);
        assert_eq!(
            sessions.check(&Method::GET, &unknown),
            Err(Refused::NoSession)
        );
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let c = set_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(set_cookie("abc", true).contains("; Secure"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}

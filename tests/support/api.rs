//! A client of the admin REST API of an engine started by [`crate::process`].

use crate::process::{Engine, Workspace};
use serde_json::Value;
use std::{fs, time::Duration};

/// A client of a running engine's admin API, with its token.
pub struct Api {
    /// The API's base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The bearer token.
    pub token: String,
    agent: ureq::Agent,
}

impl Api {
    /// Waits for the engine's API and reads its address and token from the data folder.
    pub fn of(ws: &Workspace, engine: &mut Engine) -> Self {
        // The status written by this very process, then the API's address (a stale one from an
        // earlier run is removed at shutdown).
        engine.wait_until("the admin API", Duration::from_secs(20), |e| {
            e.status().is_some()
                && ws.data().join("admin-url").exists()
                && ws.data().join("admin-token").exists()
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self {
            url: fs::read_to_string(ws.data().join("admin-url")).unwrap(),
            token: fs::read_to_string(ws.data().join("admin-token")).unwrap(),
            agent,
        }
    }

    /// Sends a request (`body` as JSON text, `token` instead of the engine's); answers the status
    /// and the JSON body (`null` if not JSON).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", token.unwrap_or(&self.token));
        let mut r = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            ("PUT", b) => self
                .agent
                .put(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or("").to_string()),
            (_, b) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or("").to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` with `token` (the engine's if `None`): the status, the content type and the
    /// body as text.
    pub fn get_text(&self, path: &str, token: Option<&str>) -> (u16, String, String) {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", token.unwrap_or(&self.token));
        let mut r = self
            .agent
            .get(&url)
            .header("Authorization", &auth)
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (r.status().as_u16(), kind, text)
    }

    /// Any request with exactly these headers (no token unless given) and body: the status,
    /// the answer's headers (names in lower case) and its body as text.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, String) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(body.to_vec())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let mut r = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (r.status().as_u16(), headers, text)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None, None)
    }
    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send("POST", path, Some(&body.to_string()), None)
    }
}

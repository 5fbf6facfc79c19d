//! Debian's InfluxDB 1.x server (`influxd`), its own folder and ports, and its HTTP query API.

use super::{free_port, start_daemon};
use std::{
    fs,
    process::{Child, Command},
};

/// An InfluxDB 1.x server on free ports of 127.0.0.1 with its data in a temporary folder.
pub struct Influxd {
    /// Its HTTP port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Influxd {
    /// Starts a server; with `admin` (user, password), authentication is on and that user is
    /// its administrator.
    pub fn start(admin: Option<(&str, &str)>) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  enabled = true\n  bind-address = \"127.0.0.1:{port}\"\n  auth-enabled = {auth}\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [continuous_queries]\n  enabled = false\n",
            rpc = free_port(),
            auth = admin.is_some()
        );
        fs::write(dir.path().join("influxdb.conf"), config).expect("write influxdb.conf");
        let mut s = Self {
            port,
            dir,
            child: None,
        };
        s.restart();
        if let Some((user, password)) = admin {
            // Allowed without credentials while the server has no user.
            s.query(
                &format!("CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"),
                None,
                None,
            );
        }
        s
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, same data); waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("influxd");
        cmd.arg("-config")
            .arg(self.dir.path().join("influxdb.conf"));
        self.child = Some(start_daemon(cmd, self.port));
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `q` through `POST /query` (on `db`, as `auth`): its JSON answer.
    pub fn query(
        &self,
        q: &str,
        db: Option<&str>,
        auth: Option<(&str, &str)>,
    ) -> serde_json::Value {
        let mut url = format!("{}/query?q={}", self.url(), encode(q));
        if let Some(db) = db {
            url.push_str(&format!("&db={}", encode(db)));
        }
        if let Some((u, p)) = auth {
            url.push_str(&format!("&u={}&p={}", encode(u), encode(p)));
        }
        let mut answer = ureq::post(&url)
            .send_empty()
            .unwrap_or_else(|e| panic!("InfluxDB query {q}: {e}"));
        let text = answer.body_mut().read_to_string().expect("the answer");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{q}: {e}: {text}"))
    }

    /// Every row of `SELECT * FROM measurement` as objects (column → value), time in ns.
    pub fn rows(
        &self,
        db: &str,
        measurement: &str,
        auth: Option<(&str, &str)>,
    ) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let answer = self.query(&format!("SELECT * FROM \"{measurement}\""), Some(db), auth);
        let mut rows = Vec::new();
        for series in answer["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let columns: Vec<String> = series["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            for v in series["values"].as_array().unwrap() {
                rows.push(
                    columns
                        .iter()
                        .cloned()
                        .zip(v.as_array().unwrap().iter().cloned())
                        .collect(),
                );
            }
        }
        rows
    }
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}

//! tansu, a Kafka-compatible broker (memory storage), and kafka-python reading its topics back.

use super::{TestPki, free_port, run_client_script, start_daemon};
use oibus_plugin_api::OibusValue;
use serde_json::Value;
use std::{
    collections::{HashMap, HashSet},
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command},
};

/// The tansu binary `scripts/test` installs (`OIBUS_TEST_TANSU` overrides it).
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("OIBUS_TEST_TANSU") {
        return path.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/oibus-rs/tansu-0.6.0/tansu")
}

/// A tansu broker on a free port of 127.0.0.1. Its storage is memory: a restart empties it.
///
/// tansu 0.6's own TLS options do not start a TLS listener; a TLS broker here is tansu behind
/// socat (`OPENSSL-LISTEN`), tansu advertising socat's port, so that clients only see TLS.
pub struct Tansu {
    /// The port clients use (socat's when TLS).
    pub port: u16,
    /// tansu's own, plain listener.
    plain_port: u16,
    /// socat's `OPENSSL-LISTEN` options (certificate and key) when TLS.
    tls: Option<String>,
    authentication: bool,
    child: Option<Child>,
    terminator: Option<Child>,
}

impl Tansu {
    /// Starts a broker without TLS nor authentication.
    pub fn start() -> Self {
        Self::start_with(None, false)
    }

    /// Starts a broker that speaks only TLS, with the server certificate of `pki`.
    pub fn start_tls(pki: &TestPki) -> Self {
        let tls = format!(
            "cert={},key={},verify=0",
            pki.path("server.pem"),
            pki.path("server.key")
        );
        Self::start_with(Some(tls), false)
    }

    /// Starts a broker that requires SASL (SCRAM) authentication; it knows no user.
    pub fn start_authenticating() -> Self {
        Self::start_with(None, true)
    }

    fn start_with(tls: Option<String>, authentication: bool) -> Self {
        let plain_port = free_port();
        let port = if tls.is_some() {
            free_port()
        } else {
            plain_port
        };
        let mut s = Self {
            port,
            plain_port,
            tls,
            authentication,
            child: None,
            terminator: None,
        };
        s.restart();
        s
    }

    /// tansu's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `127.0.0.1:port`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts it (again, empty) on the same port; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let listen = format!("tcp://127.0.0.1:{}", self.plain_port);
        let advertised = format!("tcp://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(binary());
        cmd.args(["broker", "--listener-url", &listen])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/", "--silent"]);
        if self.authentication {
            cmd.arg("--authentication");
        }
        self.child = Some(start_daemon(cmd, self.plain_port));
        if let Some(tls) = &self.tls {
            let mut socat = Command::new("socat");
            socat
                .arg(format!(
                    "OPENSSL-LISTEN:{},bind=127.0.0.1,reuseaddr,fork,{tls}",
                    self.port
                ))
                .arg(format!("TCP:127.0.0.1:{}", self.plain_port));
            self.terminator = Some(start_daemon(socat, self.port));
        }
    }

    /// Stops it (SIGKILL: memory storage has nothing to save).
    pub fn stop(&mut self) {
        for mut c in [self.terminator.take(), self.child.take()]
            .into_iter()
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Creates `topic` with `partitions` partitions (tansu's own client), unless it exists: a
    /// producer's metadata request may have created it first, with tansu's default count.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(binary())
            .args(["topic", "create", "--broker"])
            .arg(format!("tcp://127.0.0.1:{}", self.plain_port))
            .arg("--partitions")
            .arg(partitions.to_string())
            .arg(topic)
            .output()
            .expect("run tansu topic create");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() || said.contains("already exists"),
            "tansu topic create {topic}: {said}"
        );
    }

    /// Every record of `topic`, read by kafka-python (`tests/servers/kafka_dump.py`): one JSON
    /// object each with `partition`, `offset`, `key`, `headers`, `timestamp` and `value` (parsed
    /// JSON) or `size` and `sha256`.
    pub fn records(&self, topic: &str) -> Vec<serde_json::Value> {
        run_client_script("kafka_dump.py", &[&self.bootstrap(), topic], "kafka-python")
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
            .filter(|v| v.get("offset").is_some())
            .collect()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes the values of `records` as the probe North would record them, for
/// [`crate::process::check_acknowledged`]; checks each record is keyed by its point id, in the partition
/// kafka-python's partitioner gives that key, and that each point's values are in order.
pub fn record_values(records: &[Value], out: &Path) {
    let mut file = fs::File::create(out).unwrap();
    let mut seen: HashMap<String, (i64, HashSet<i64>)> = HashMap::new();
    for r in records {
        let v: OibusValue = serde_json::from_value(r["value"].clone()).unwrap();
        let point = v.point_id.as_str();
        assert_eq!(r["key"], point, "{r}");
        assert_eq!(r["partition"], r["keyed_partition"], "{r}");
        writeln!(file, "{}", serde_json::to_string(&v).unwrap()).unwrap();
        // The probe numbers each point's values from 0; kafka-python reads partitions one after
        // the other, each in offset order. A value sent again after a crash comes back behind
        // newer ones; a value seen for the first time behind a newer one is out of order.
        let n = r["value"]["data"]["value"].as_i64().unwrap();
        let (newest, values) = seen.entry(point.to_string()).or_default();
        if values.insert(n) {
            assert!(
                values.len() == 1 || n > *newest,
                "{point}: {n} first seen after {newest}"
            );
            *newest = (*newest).max(n);
        }
    }
}

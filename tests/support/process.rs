//! The engine as a child process: `oibus run` on a configuration, its status read from the data
//! folder, stopped gracefully or killed.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A folder with `plugins/`, `data/`, the configuration and the engine's log.
pub struct Workspace {
    /// The temporary folder.
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A workspace whose plugins folder holds these plugins.
    pub fn new(plugins: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("plugins")).expect("plugins dir");
        for p in plugins {
            crate::copy_plugin(p, &dir.path().join("plugins"));
        }
        Self { dir }
    }

    /// A path inside the workspace.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The data folder.
    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// Writes the configuration; `{ws}` in it becomes the workspace folder.
    pub fn config(&self, text: &str) -> PathBuf {
        let path = self.path("oibus.toml");
        let text = text.replace("{ws}", &self.dir.path().to_string_lossy());
        fs::write(&path, text).expect("write config");
        path
    }

    fn command(&self) -> Command {
        let mut cmd = crate::oibus_command();
        cmd.arg("run")
            .arg("--config")
            .arg(self.path("oibus.toml"))
            .arg("--data")
            .arg(self.data())
            .arg("--plugins")
            .arg(self.path("plugins"))
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .env("OIBUS_LOG", "info,oibus_engine=debug");
        cmd
    }

    /// Starts the engine; its output goes to `engine.log` (appended across restarts).
    pub fn start(&self) -> Engine {
        self.start_with(&[])
    }

    /// Starts the engine with these environment variables.
    pub fn start_with(&self, env: &[(&str, &str)]) -> Engine {
        let mut command = self.command();
        command.envs(env.iter().copied());
        Engine::spawn(command, self.data(), self.path("engine.log"))
    }

    /// Runs the engine to completion (for configurations it must refuse): exit code and output.
    pub fn run_to_end(&self) -> (i32, String) {
        let out = self
            .command()
            .stdin(Stdio::null())
            .output()
            .expect("run oibus");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout),
        )
    }
}

/// A running engine.
pub struct Engine {
    child: Child,
    data: PathBuf,
    log: PathBuf,
    /// When it was started (a little before): a status document older than that is an earlier
    /// engine's, where process ids cannot tell (under Wine).
    started: std::time::SystemTime,
    /// The log's length when it was started (the log is appended across restarts).
    log_start: u64,
}

impl Engine {
    /// Starts `command` (an `oibus run` of data folder `data`) with its output appended to `log`.
    pub fn spawn(mut command: Command, data: PathBuf, log: PathBuf) -> Engine {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let log_start = file.metadata().map_or(0, |m| m.len());
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start oibus run");
        Engine {
            child,
            data,
            log,
            started: std::time::SystemTime::now() - Duration::from_millis(100),
            log_start,
        }
    }

    /// The engine's status document (`None` until this process wrote one: a document left by an
    /// earlier, killed engine is ignored).
    pub fn status(&self) -> Option<serde_json::Value> {
        let path = self.data.join("status.json");
        let text = fs::read_to_string(&path).ok()?;
        let status: serde_json::Value = serde_json::from_str(&text).ok()?;
        let ours = if crate::target().same_process_ids() {
            status["pid"] == self.child.id()
        } else {
            fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= self.started)
        };
        ours.then_some(status)
    }

    /// The status of one connector.
    pub fn connector(&self, id: &str) -> Option<serde_json::Value> {
        self.status()?["connectors"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    }

    /// A counter of a connector (0 if unknown).
    pub fn counter(&self, id: &str, name: &str) -> u64 {
        self.connector(id)
            .and_then(|c| c["counters"][name].as_u64())
            .unwrap_or(0)
    }

    /// Waits (a minute at most) until connector `id` leaves the `connected` state: the engine
    /// noticed that its server went away.
    pub fn wait_disconnected(&mut self, id: &str) {
        self.wait_until(
            &format!("{id} to notice the loss"),
            Duration::from_secs(60),
            |e| e.connector(id).is_some_and(|c| c["state"] != "connected"),
        );
    }

    /// Waits until `cond` holds, polling every 50 ms; panics with the log after `limit`.
    pub fn wait_until(&mut self, what: &str, limit: Duration, mut cond: impl FnMut(&Self) -> bool) {
        let began = Instant::now();
        while began.elapsed() < limit {
            if cond(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the engine exited ({status}) while waiting for {what}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out after {limit:?} waiting for {what}; status: {}\nlog:\n{}",
            self.status().map(|s| s.to_string()).unwrap_or_default(),
            self.log()
        );
    }

    /// The file the engine logs to (it outlives the engine).
    pub fn log_file(&self) -> PathBuf {
        self.log.clone()
    }

    /// The engine's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the engine with SIGTERM and waits for it; panics, with the log, unless it exits 0.
    pub fn stop(self) {
        let log = self.log.clone();
        let code = self.terminate();
        if code != 0 {
            panic!(
                "the engine exited with {code} after SIGTERM:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
    }

    /// Stops the engine with SIGTERM and waits for it; returns its exit code. The signal is sent
    /// once the engine has written its first log line (it listens for stops before that line) or
    /// has exited: a process signalled in its first milliseconds, before any program can listen,
    /// dies of the signal's default action (a test stopping an engine it had just spawned saw
    /// exactly that).
    pub fn terminate(mut self) -> i32 {
        let began = Instant::now();
        while fs::metadata(&self.log).map_or(0, |m| m.len()) <= self.log_start
            && !matches!(self.child.try_wait(), Ok(Some(_)))
            && began.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = Command::new("kill")
            .arg(crate::target().stop_signal())
            .arg(self.child.id().to_string())
            .status();
        let began = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            if began.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("the engine did not stop within 30 s:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the engine with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads every value a `file-writer` wrote into `folder` (each file is a JSON array).
pub fn written_values(folder: &Path) -> Vec<oibus_plugin_api::OibusValue> {
    let mut values = Vec::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return values;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.starts_with('.') {
            let text = fs::read_to_string(e.path()).expect("read output");
            let batch: Vec<oibus_plugin_api::OibusValue> =
                serde_json::from_str(&text).expect("output is a JSON array of values");
            values.extend(batch);
        }
    }
    values
}

/// Configuration of an engine that reconnects quickly (100 ms to 500 ms), for the connector tests
/// that stop their server.
pub const FAST_RECONNECT: &str = "[engine]\nreconnect = { min = \"100ms\", max = \"500ms\" }\n";

/// Configuration of a South `src` (`probe-south`) streaming numbered values of one item `a`,
/// enabled or not, and appending what the engine acknowledged to `<workspace>/acks` (read it with
/// [`check_acknowledged`]).
pub fn acknowledged_probe_south(enabled: bool) -> String {
    format!(
        "[[south]]\nid = \"src\"\ntype = \"probe-south\"\nenabled = {enabled}\nsettings = {{ batch_size = 20, interval_ms = 10, ack_file = \"{{ws}}/acks\" }}\nitems = [{{ name = \"a\", scan_mode = \"subscription\" }}]\n"
    )
}

/// Configuration of a South `src` (`probe-south`) streaming numbered values of two items `a` and
/// `b` (batches of 25 every 5 ms), enabled or not, appending what the engine acknowledged to
/// `<workspace>/acks`; `extra` adds settings (`, distinct_timestamps = true`).
pub fn acknowledged_probe_pair(enabled: bool, extra: &str) -> String {
    format!(
        "[[south]]\nid = \"src\"\ntype = \"probe-south\"\nenabled = {enabled}\nsettings = {{ batch_size = 25, interval_ms = 5, ack_file = \"{{ws}}/acks\"{extra} }}\nitems = [{{ name = \"a\", scan_mode = \"subscription\" }}, {{ name = \"b\", scan_mode = \"subscription\" }}]\n"
    )
}

/// Configuration of a scan mode `fast` running `every` (`"100ms"`) and a South `scanner`
/// (`folder-scanner`) taking every file of `input_folder` on it at once (no `min_age_ms`).
pub fn folder_scanner_south(input_folder: &str, every: &str) -> String {
    format!(
        "[[scan_modes]]\nname = \"fast\"\nevery = {every:?}\n\n[[south]]\nid = \"scanner\"\ntype = \"folder-scanner\"\nsettings = {{ input_folder = {input_folder:?} }}\nitems = [{{ name = \"all\", scan_mode = \"fast\", settings = {{ min_age_ms = 0 }} }}]\n"
    )
}

/// Configuration of a scan mode `every-second`, for the tests' configurations.
pub const EVERY_SECOND: &str = "[[scan_modes]]\nname = \"every-second\"\ncron = \"* * * * * *\"\n";

/// Configuration of a North `rec` (`probe-north`) recording every value it gets into
/// `<workspace>/received` (read it with [`recorded_values`]).
pub const RECORDING_NORTH: &str = "[[north]]\nid = \"rec\"\ntype = \"probe-north\"\nsettings = { record_file = \"{ws}/received\" }\ncaching = { send_interval = \"100ms\" }\n";

/// Reads every value a `probe-north` recorded (one JSON value per line).
pub fn recorded_values(file: &Path) -> Vec<oibus_plugin_api::OibusValue> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("file ") && !l.starts_with("batch "))
        .map(|l| serde_json::from_str(l).expect("recorded value"))
        .collect()
}

/// The values a `probe-north` recorded in `file` whose instant is `since` or later, by point id
/// (each point's in the order received).
pub fn recorded_by_point(
    file: &Path,
    since: oibus_plugin_api::Timestamp,
) -> std::collections::BTreeMap<String, Vec<oibus_plugin_api::OibusValue>> {
    let mut by_point = std::collections::BTreeMap::<String, Vec<_>>::new();
    for v in recorded_values(file) {
        if v.timestamp >= since {
            by_point.entry(v.point_id.to_string()).or_default().push(v);
        }
    }
    by_point
}

impl Workspace {
    /// Starts the engine, waits until North `north` is connected with nothing queued (everything
    /// cached before has been sent), and stops it. Run it with the Souths disabled.
    pub fn drain(&self, north: &str) {
        let mut engine = self.start();
        engine.wait_until("the cache to drain", Duration::from_secs(60), |e| {
            e.connector(north)
                .is_some_and(|c| c["state"] == "connected" && c["cache"]["queued_values"] == 0)
        });
        engine.stop();
    }
}

/// What [`check_acknowledged`] found.
#[derive(Debug)]
pub struct Delivery {
    /// Values the probe South saw acknowledged.
    pub acknowledged: usize,
    /// Distinct values the probe North received.
    pub received: usize,
    /// Extra copies received.
    pub duplicates: usize,
}

/// How many values a `probe-south` saw acknowledged that a `probe-north` has not recorded yet.
pub fn not_yet_received(acks: &Path, received: &Path) -> usize {
    delivery(acks, received).1.len()
}

/// Checks that every value a `probe-south` saw acknowledged (its `ack_file`: `<point> <last>` per
/// batch, values numbered from 0 per point) was recorded by a `probe-north` (its `record_file`);
/// panics naming the first lost values.
pub fn check_acknowledged(acks: &Path, received: &Path) -> Delivery {
    let (d, lost) = delivery(acks, received);
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged values lost, first: {:?}",
        lost.len(),
        d.acknowledged,
        &lost[..lost.len().min(10)]
    );
    d
}

/// What arrived of what was acknowledged, and what is missing (`point=n`).
fn delivery(acks: &Path, received: &Path) -> (Delivery, Vec<String>) {
    use std::collections::{BTreeMap, HashMap};
    let mut last: HashMap<String, i64> = HashMap::new();
    for line in fs::read_to_string(acks).unwrap_or_default().lines() {
        let Some((point, n)) = line.split_once(' ') else {
            continue; // a line cut by a kill
        };
        let Ok(n) = n.parse::<i64>() else { continue };
        let e = last.entry(point.to_string()).or_insert(-1);
        *e = (*e).max(n);
    }
    let mut seen: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for v in recorded_values(received) {
        let oibus_plugin_api::DataValue::Int(n) = v.value else {
            panic!("a probe value is a number: {v:?}");
        };
        *seen.entry((v.point_id.to_string(), n)).or_default() += 1;
    }
    let mut lost = Vec::new();
    let mut acknowledged = 0;
    for (point, last) in &last {
        for n in 0..=*last {
            acknowledged += 1;
            if !seen.contains_key(&(point.clone(), n)) {
                lost.push(format!("{point}={n}"));
            }
        }
    }
    let d = Delivery {
        acknowledged,
        received: seen.len(),
        duplicates: seen.values().map(|c| c - 1).sum(),
    };
    (d, lost)
}

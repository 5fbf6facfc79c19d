//! moto's S3 server (Python, in memory) and boto3 reading its buckets back.

use super::{TestPki, free_port, run_client_script, start_daemon};
use std::process::{Child, Command};

/// An S3-compatible server on a free port of 127.0.0.1 (moto, memory: a restart empties it).
pub struct MotoS3 {
    /// Its port.
    pub port: u16,
    /// Its certificate and key when it speaks HTTPS only.
    tls: Option<(String, String)>,
    child: Option<Child>,
}

impl MotoS3 {
    /// Starts a server speaking plain HTTP.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server speaking HTTPS only, with the server certificate of `pki`.
    pub fn start_tls(pki: &TestPki) -> Self {
        Self::start_with(Some((pki.path("server.pem"), pki.path("server.key"))))
    }

    fn start_with(tls: Option<(String, String)>) -> Self {
        let mut s = Self {
            port: free_port(),
            tls,
            child: None,
        };
        s.restart();
        s
    }

    /// `http://127.0.0.1:port` (or `https://`).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, empty); waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        // `python3 -m`: pip's console script may not be on PATH (pyenv's shims appear only
        // after a rehash, which `python3 -m pip` does not do).
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(self.port.to_string());
        if let Some((cert, key)) = &self.tls {
            cmd.args(["-c", cert, "-k", key]);
        }
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

    fn tool(&self, args: &[&str], ca_file: Option<&str>) -> String {
        let mut all = args.to_vec();
        all.extend(ca_file);
        run_client_script("s3_tool.py", &all, "moto and boto3")
    }

    /// Creates `bucket`.
    pub fn create_bucket(&self, bucket: &str, ca_file: Option<&str>) {
        self.tool(&["create-bucket", &self.endpoint(), bucket], ca_file);
    }

    /// Every object of `bucket`, read by boto3 (`tests/servers/s3_tool.py dump`).
    pub fn objects(&self, bucket: &str, ca_file: Option<&str>) -> Vec<serde_json::Value> {
        self.tool(&["dump", &self.endpoint(), bucket], ca_file)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

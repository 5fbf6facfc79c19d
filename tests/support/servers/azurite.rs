//! Azurite, Microsoft's Azure Storage emulator (Node.js, blob service in memory), and Microsoft's
//! Python SDK reading its containers back.

use super::{free_port, run_client_script, start_daemon};
use std::process::{Child, Command};

/// The access key of Azurite's well-known development account `devstoreaccount1`.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite blob service on a free port of 127.0.0.1 (memory: a restart empties it).
pub struct Azurite {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl Azurite {
    /// Starts it (`scripts/test` installs it under `tests/servers/azurite`).
    pub fn start() -> Self {
        let mut s = Self {
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    /// `http://127.0.0.1:port/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/devstoreaccount1", self.port)
    }

    /// Starts it (again, empty); waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let bin = crate::workspace().join("tests/servers/azurite/node_modules/.bin/azurite-blob");
        let mut cmd = Command::new(bin);
        cmd.args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(self.port.to_string())
            .args(["--inMemoryPersistence", "--skipApiVersionCheck", "--silent"]);
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

    fn tool(&self, args: &[&str]) -> String {
        run_client_script("azure_tool.py", args, "azure-storage-blob")
    }

    /// Creates `container`.
    pub fn create_container(&self, container: &str) {
        self.tool(&["create-container", &self.endpoint(), container]);
    }

    /// Every blob of `container`, read by azure-storage-blob (`tests/servers/azure_tool.py`).
    pub fn blobs(&self, container: &str) -> Vec<serde_json::Value> {
        self.tool(&["dump", &self.endpoint(), container])
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

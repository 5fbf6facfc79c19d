//! Real protocol servers written by others, started on 127.0.0.1 for the connector tests, and
//! stopped when dropped.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The pymodbus TCP server of `tests/servers/modbus_server.py` (known register values).
pub struct ModbusServer {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl ModbusServer {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let mut s = Self {
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    /// Starts it (again) on the same port; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let script = crate::workspace().join("tests/servers/modbus_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the Modbus server (scripts/test installs pymodbus)");
        let stdout = child.stdout.take().expect("stdout");
        let began = Instant::now();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.trim() == "ready" => break,
                Some(_) if began.elapsed() < Duration::from_secs(30) => continue,
                _ => panic!("the Modbus server did not start (is pymodbus installed?)"),
            }
        }
        self.child = Some(child);
    }

    /// Stops it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ModbusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

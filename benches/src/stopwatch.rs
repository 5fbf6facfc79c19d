//! Timing a run of calls against a server: wall-clock seconds, and the CPU seconds of both sides
//! (this process, which holds the gateway and its plugins, and the server's process).

use crate::cpu_seconds;
use std::{path::Path, time::Instant};

/// Started by [`Stopwatch::start`]; [`Stopwatch::lap`] reads it.
pub struct Stopwatch {
    server: String,
    began: Instant,
    gateway_cpu: f64,
    server_cpu: f64,
}

/// What a [`Stopwatch`] measured since it started.
#[derive(Debug, Clone, Copy)]
pub struct Lap {
    /// Wall-clock seconds.
    pub secs: f64,
    /// CPU seconds (user + system) of this process.
    pub gateway_cpu: f64,
    /// CPU seconds (user + system) of the server's process.
    pub server_cpu: f64,
}

impl Stopwatch {
    /// Starts timing, with the server's process `server_pid`; resets this process's peak RSS
    /// (`VmHWM`) so that the row reports the run's own.
    pub fn start(server_pid: &str) -> Self {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let server = format!("/proc/{server_pid}/stat");
        Self {
            gateway_cpu: cpu_seconds("/proc/self/stat"),
            server_cpu: cpu_seconds(&server),
            server,
            began: Instant::now(),
        }
    }

    /// Wall-clock seconds since the start, without reading any CPU time (for a loop's
    /// condition: [`Stopwatch::lap`] reads two `/proc` files).
    pub fn elapsed(&self) -> f64 {
        self.began.elapsed().as_secs_f64()
    }

    /// What was spent since the start.
    pub fn lap(&self) -> Lap {
        Lap {
            secs: self.began.elapsed().as_secs_f64(),
            gateway_cpu: cpu_seconds("/proc/self/stat") - self.gateway_cpu,
            server_cpu: cpu_seconds(&self.server) - self.server_cpu,
        }
    }
}

/// Hands `file` to North `north` `times` times, one call after the other (each returns once the
/// server holds the file), timed against the server's process `server_pid`.
pub async fn send_file(
    north: &oibus_engine::connector::ConnectorHandle,
    file: &Path,
    times: u32,
    server_pid: &str,
) -> Lap {
    let watch = Stopwatch::start(server_pid);
    for i in 0..times {
        if let Err(e) = north.handle_file(file).await {
            panic!("file {} of {times}: {e}", i + 1);
        }
    }
    watch.lap()
}

//! The engine's side of a probe: the first opening of a plugin file in a throwaway child
//! (`oibus plugin-host probe`), so that a constructor that aborts, exits, crashes or hangs is a
//! refusal line and the engine's process never ran it.

use super::{
    process::{self, Tail},
    protocol::{self, ProbeAnswer},
    verdicts::{Outcome, Verdicts, sha256_of},
};
use crate::loader::{LoadError, Prober};
use std::{
    io::{BufRead as _, Read as _},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Probes with the `oibus` executable `exe`, each probe allowed `timeout`; the verdicts are kept
/// per file content, so that a file already checked is not opened again.
pub struct ChildProber {
    /// The `oibus` executable.
    exe: PathBuf,
    /// How long one probe may take.
    timeout: Duration,
    /// What earlier probes found.
    verdicts: Option<Verdicts>,
    /// Set when the process stops: a probe in progress ends at once.
    stop: Arc<AtomicBool>,
}

impl ChildProber {
    /// Probes with `exe`, each allowed `timeout`, keeping verdicts in `verdicts` (a folder).
    pub fn new(exe: PathBuf, timeout: Duration, verdicts: Option<PathBuf>) -> Self {
        Self {
            exe,
            timeout,
            verdicts: verdicts.map(|dir| Verdicts::new(dir, timeout)),
            stop: Arc::default(),
        }
    }
}

impl Prober for ChildProber {
    fn cancel(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn probe(&self, file: &Path, shadow: &Path, plugin: &str) -> Result<String, LoadError> {
        let failed = |reason: String| LoadError::ProbeFailed {
            file: file.to_path_buf(),
            plugin: plugin.to_string(),
            reason,
        };
        let sha256 = sha256_of(shadow);
        if let (Some(verdicts), Some(sha)) = (&self.verdicts, sha256) {
            match verdicts.get(sha) {
                Some(Outcome::Manifest(json)) => return Ok(json),
                Some(Outcome::Refused(reason)) => {
                    return Err(failed(format!(
                        "{reason} (found when this very file was first checked, and remembered: \
                         replace the file, or change engine.plugins.probe_timeout, to have it \
                         checked again)"
                    )));
                }
                None => {}
            }
        }
        let outcome = self.run(file, shadow, plugin, &failed);
        if let (Some(verdicts), Some(sha), Ok(outcome)) = (&self.verdicts, sha256, &outcome) {
            verdicts.put(sha, outcome);
        }
        match outcome {
            Ok(Outcome::Manifest(json)) => Ok(json),
            Ok(Outcome::Refused(reason)) => Err(failed(reason)),
            Err(e) => Err(e),
        }
    }
}

impl ChildProber {
    /// Opens the file in a throwaway process: its verdict, or an error that says nothing of the
    /// file (the child could not start, the engine is stopping), not to be remembered.
    fn run(
        &self,
        file: &Path,
        shadow: &Path,
        plugin: &str,
        failed: &dyn Fn(String) -> LoadError,
    ) -> Result<Outcome, LoadError> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(failed("not checked: the engine is stopping".into()));
        }
        let mut cmd = process::host_command(&self.exe, process::Limits::default());
        cmd.args(["plugin-host", "probe", "--library"])
            .arg(shadow)
            .arg("--file")
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let cannot_start = |e: std::io::Error| {
            failed(format!(
                "cannot start {} plugin-host to open it: {e}",
                self.exe.display()
            ))
        };
        // Starting a process can fail for a moment (short of resources; under Wine, a service's
        // first seconds): that is no verdict on the file, so it is tried three times before the
        // file is refused. `_contained` is held until the child has been waited for: on
        // Windows, its Job object.
        let mut attempt = 0;
        let (mut child, _contained) = loop {
            attempt += 1;
            let started = cmd
                .spawn()
                .and_then(|mut child| match process::contain(child.id()) {
                    Ok(c) => Ok((child, c)),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(e)
                    }
                });
            match started {
                Ok(started) => break started,
                Err(e) if attempt < 3 => {
                    tracing::debug!(
                        "{}: plugin-host did not start ({e}): trying again",
                        file.display()
                    );
                    std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
                }
                Err(e) => return Err(cannot_start(e)),
            }
        };
        // Read both pipes while it runs: a manifest larger than a pipe's buffer must not look
        // like a hang.
        let mut stdout = child.stdout.take();
        let answer = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(out) = stdout.as_mut() {
                let _ = out.read_to_end(&mut bytes);
            }
            bytes
        });
        let tail = Tail::default();
        let stderr = child.stderr.take();
        let stderr_tail = tail.clone();
        let errors = std::thread::spawn(move || {
            if let Some(err) = stderr {
                for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = stderr_tail.push(line);
                }
            }
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if self.stop.load(Ordering::Relaxed) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failed(
                        "its check was cut short: the engine is stopping".into(),
                    ));
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(Outcome::Refused(format!(
                        "opening it did not finish within {:?} (engine.plugins.probe_timeout): \
                         its code hangs while it is loaded",
                        self.timeout
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(failed(format!("cannot watch the probe process: {e}"))),
            }
        };
        let bytes = answer.join().unwrap_or_default();
        let _ = errors.join();
        let last = tail
            .last()
            .map(|l| format!("; its last words: {l}"))
            .unwrap_or_default();
        if !status.success() {
            return Ok(Outcome::Refused(format!(
                "its code {} while the library was being opened (in a throwaway process; the \
                 engine never opened it){last}",
                process::describe(status)
                    .replace("killed by", "was killed by")
                    .replace("exited with", "exited the process with")
            )));
        }
        Ok(match protocol::decode::<ProbeAnswer>(&bytes) {
            Ok(ProbeAnswer::Manifest(json)) => Outcome::Manifest(json),
            Ok(ProbeAnswer::Refused(line)) => Outcome::Refused(refused_line(file, plugin, &line)),
            Err(_) => Outcome::Refused(format!(
                "its code ended the process while the library was being opened, without an \
                 answer (exit code 0; in a throwaway process, the engine never opened it){last}"
            )),
        })
    }
}

/// A refusal found by the child's loader, kept as the line it wrote (without the file and
/// plugin the refusal names anyway).
fn refused_line(file: &Path, plugin: &str, line: &str) -> String {
    let line = line
        .strip_prefix(&format!("{}: ", file.display()))
        .unwrap_or(line);
    line.strip_prefix(&format!("plugin {plugin} refused: "))
        .unwrap_or(line)
        .to_string()
}

//! A Python server of `tests/servers/`, restartable on the same port with the same arguments.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// The process of a server script that prints a line starting with `ready` once it listens.
pub(crate) struct PythonServer {
    script: &'static str,
    args: Vec<String>,
    /// What the script needs, named when it does not start (`scripts/test installs …`).
    needs: &'static str,
    child: Option<Child>,
}

impl PythonServer {
    /// The server of `tests/servers/<script>` with `args`, not started yet.
    pub(crate) fn new(script: &'static str, args: Vec<String>, needs: &'static str) -> Self {
        Self {
            script,
            args,
            needs,
            child: None,
        }
    }

    /// Starts it (again); waits, 60 s at most, until it says it listens.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let path = crate::workspace().join("tests/servers").join(self.script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 runs {}: {e}", self.script));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Lines are read on a thread so that a script that hangs silently ends the wait too.
        std::thread::spawn(move || {
            let ready = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.starts_with("ready"));
            let _ = tx.send(ready);
        });
        if rx.recv_timeout(Duration::from_secs(60)) != Ok(true) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not start within 60 s ({})", self.script, self.needs);
        }
        self.child = Some(child);
    }

    /// Stops it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        self.stop();
    }
}

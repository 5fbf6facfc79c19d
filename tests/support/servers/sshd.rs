//! Debian's OpenSSH server on 127.0.0.1, serving SFTP only, for the SFTP tests.

use super::system_user::{SystemUser, system_user};
use super::{free_port, start_daemon, terminate_with_sessions};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
};

/// An `sshd` on a free port, with its own host key, that lets in only the test account (by its
/// password or by one of the keys of [`Sshd::key`]) and runs nothing but its SFTP server.
pub struct Sshd {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Sshd {
    /// Makes host and client keys and starts the server; waits until it listens.
    pub fn start() -> Self {
        let user = system_user();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "ed25519", "");
        // The accepted client keys: Ed25519, RSA (signed with SHA-2) and an Ed25519 key
        // protected by a passphrase. `other` is a key the server does not know.
        keygen(&d.join("client_ed25519"), "ed25519", "");
        keygen(&d.join("client_rsa"), "rsa", "");
        keygen(&d.join("client_protected"), "ed25519", Self::PASSPHRASE);
        keygen(&d.join("client_other"), "ed25519", "");
        let mut authorized = String::new();
        for k in ["client_ed25519", "client_rsa", "client_protected"] {
            authorized.push_str(
                &std::fs::read_to_string(d.join(format!("{k}.pub"))).expect("public key"),
            );
        }
        std::fs::write(d.join("authorized_keys"), authorized).expect("authorized_keys");
        let port = free_port();
        let conf = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin no\n\
             AllowUsers {user}\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\n\
             LogLevel ERROR\n",
            d = d.display(),
            user = user.name,
        );
        std::fs::write(d.join("sshd_config"), conf).expect("sshd_config");
        // sshd's privilege separation needs this folder (made by its init script on Debian).
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let mut s = Self {
            port,
            dir,
            child: None,
        };
        s.restart();
        s
    }

    /// The passphrase of the key `client_protected`.
    pub const PASSPHRASE: &str = "open sesame";

    /// The account the server lets in.
    pub fn user(&self) -> &'static SystemUser {
        system_user()
    }

    /// A private key file: `client_ed25519`, `client_rsa`, `client_protected` (accepted) or
    /// `client_other` (refused).
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The SHA-256 fingerprint of the host key, as `ssh-keygen -l` prints it (`SHA256:…`).
    pub fn host_fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(self.dir.path().join("host_ed25519.pub"))
            .output()
            .expect("ssh-keygen runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .nth(1)
            .expect("a fingerprint")
            .to_string()
    }

    /// Gives the server a new host key and restarts it: what a client that remembered the old
    /// key must refuse.
    pub fn change_host_key(&mut self) {
        self.stop();
        for ext in ["", ".pub"] {
            let _ = std::fs::remove_file(self.dir.path().join(format!("host_ed25519{ext}")));
        }
        keygen(&self.dir.path().join("host_ed25519"), "ed25519", "");
        self.restart();
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Starts it (again) on the same port with the same keys; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.arg("-D")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"));
        self.child = Some(start_daemon(cmd, self.port));
    }

    /// Stops it and ends its open sessions, as a restarted machine would.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate_with_sessions(c);
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn keygen(path: &std::path::Path, kind: &str, passphrase: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "oibus-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen (scripts/test installs openssh-server)");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

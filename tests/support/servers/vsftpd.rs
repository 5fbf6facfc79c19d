//! Debian's vsftpd on 127.0.0.1, for the FTP tests.

use super::system_user::{FTP_PAM_SERVICE, SystemUser, system_user};
use super::{TestPki, free_port, start_daemon, terminate_with_sessions};
use std::process::{Child, Command};

/// A vsftpd on a free port that lets in only the test account, by its password, starting in
/// `/` (the tests give absolute folders); passive data connections on 127.0.0.1. With TLS, it
/// asks for explicit FTPS (`AUTH TLS`) on both the control and the data connections.
pub struct Vsftpd {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Vsftpd {
    /// Starts a server on a free port; waits until it listens.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server that requires TLS, with the server certificate of `pki`.
    pub fn start_tls(pki: &TestPki) -> Self {
        Self::start_with(Some(pki))
    }

    fn start_with(pki: Option<&TestPki>) -> Self {
        let user = system_user();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        // The empty folder vsftpd confines its unprivileged helper to.
        std::fs::create_dir(d.join("empty")).expect("empty folder");
        // The only account let in.
        std::fs::write(d.join("users"), format!("{}\n", user.name)).expect("user list");
        let port = free_port();
        let mut conf = format!(
            "listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
             anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_umask=022\n\
             local_root=/\npam_service_name={FTP_PAM_SERVICE}\nuserlist_enable=YES\n\
             userlist_deny=NO\nuserlist_file={d}/users\n\
             secure_chroot_dir={d}/empty\npasv_enable=YES\npasv_address=127.0.0.1\n\
             utf8_filesystem=YES\nseccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\n\
             xferlog_enable=YES\nvsftpd_log_file={d}/vsftpd.log\nlog_ftp_protocol=YES\n\
             xferlog_std_format=NO\n",
            d = d.display(),
        );
        if let Some(pki) = pki {
            conf.push_str(&format!(
                "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\n\
                 force_local_logins_ssl=YES\nforce_local_data_ssl=YES\nssl_tlsv1=YES\n\
                 ssl_sslv2=NO\nssl_sslv3=NO\nrequire_ssl_reuse=YES\nssl_ciphers=HIGH\n",
                pki.path("server.pem"),
                pki.path("server.key"),
            ));
        }
        std::fs::write(d.join("vsftpd.conf"), conf).expect("vsftpd.conf");
        let mut s = Self {
            port,
            dir,
            child: None,
        };
        s.restart();
        s
    }

    /// The account the server lets in.
    pub fn user(&self) -> &'static SystemUser {
        system_user()
    }

    /// What the server logged (commands and transfers), for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vsftpd.log")).unwrap_or_default()
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Starts it (again) on the same port; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("/usr/sbin/vsftpd");
        cmd.arg(self.dir.path().join("vsftpd.conf"));
        self.child = Some(start_daemon(cmd, self.port));
    }

    /// Stops it and ends its open sessions, as a restarted machine would.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate_with_sessions(c);
        }
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        self.stop();
    }
}

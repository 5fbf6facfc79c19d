//! Real protocol servers written by others, started on 127.0.0.1 for the connector tests, and
//! stopped when dropped.

mod azurite;
mod influxd;
mod moto;
mod python;
mod sshd;
mod system_user;
mod tansu;
mod vsftpd;

pub use azurite::{AZURITE_KEY, Azurite};
pub use influxd::Influxd;
pub use moto::MotoS3;
use python::PythonServer;
pub use sshd::Sshd;
pub use system_user::{SystemUser, open_to_test_user};
pub use tansu::{Tansu, record_values};
pub use vsftpd::Vsftpd;

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Runs `tests/servers/<script>` with `args` (two minutes at most) and returns what it printed;
/// panics with its error output, naming what `scripts/test` installs for it (`needs`).
pub(crate) fn run_client_script(script: &str, args: &[&str], needs: &str) -> String {
    let path = crate::workspace().join("tests/servers").join(script);
    let out = Command::new("timeout")
        .arg("120")
        .arg("python3")
        .arg(path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} (scripts/test installs {needs}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The OPC UA server of `tests/servers/opcua_server.py` (Python asyncua, an independent
/// implementation) with its fixture address space, on a free port.
pub struct OpcuaServer {
    /// Its port.
    pub port: u16,
    /// Its certificate and key (made at its first start) when it offers Basic256Sha256.
    pki: tempfile::TempDir,
    server: PythonServer,
}

impl OpcuaServer {
    /// A user name and password the secured server accepts.
    pub const USER: (&str, &str) = ("operator", "pl4nt-s3cret");

    /// The server with `args` (see the script: `--secure` for the certificate and the
    /// Basic256Sha256 endpoints, `--no-anonymous`, `--history N`, `--page N`, `--many N`).
    pub fn start(args: &[&str]) -> Self {
        let pki = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut own: Vec<String> = vec!["--port".into(), port.to_string()];
        for a in args {
            if *a == "--secure" {
                own.push("--pki".into());
                own.push(pki.path().to_string_lossy().into_owned());
            } else {
                own.push(a.to_string());
            }
        }
        own.push("--user".into());
        own.push(format!("{}:{}", Self::USER.0, Self::USER.1));
        let mut server = PythonServer::new("opcua_server.py", own, "scripts/test installs asyncua");
        server.restart();
        Self { port, pki, server }
    }

    /// Its endpoint URL.
    pub fn url(&self) -> String {
        format!("opc.tcp://127.0.0.1:{}/oibus-test", self.port)
    }

    /// Its process id, while it runs (to measure its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// The DER file of its certificate (with `--secure`).
    pub fn certificate(&self) -> std::path::PathBuf {
        self.pki.path().join("server_cert.der")
    }

    /// Starts it (again) on the same port, with the same certificate; waits until it listens.
    pub fn restart(&mut self) {
        self.server.restart();
    }

    /// Stops it.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// Starts a server (installed by `scripts/test`) and waits until it listens on `port`.
fn start_daemon(mut cmd: Command, port: u16) -> Child {
    let name = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {name} (scripts/test installs it): {e}"));
    let began = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{name} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Stops a server with SIGTERM (so that it saves its state) and waits for it.
fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

/// Stops a server that forks a process per connection, and those processes: a restart of its
/// machine, where a plain SIGTERM would leave the sessions open.
fn terminate_with_sessions(child: Child) {
    let _ = Command::new("pkill")
        .arg("-TERM")
        .arg("-P")
        .arg(child.id().to_string())
        .status();
    terminate(child);
}

/// A mosquitto broker on 127.0.0.1 with persistence (sessions survive its restart), optionally
/// requiring a user name and password.
pub struct Mosquitto {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts a broker on a free port; `credentials`: the only user allowed in.
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        Self::start_with(credentials, None, 1000)
    }

    /// Starts a broker that sends a subscriber at most `window` unacknowledged QoS 1 messages
    /// (mosquitto's own default, which plants' brokers often keep, is 20).
    pub fn start_with_window(window: u32) -> Self {
        Self::start_with(None, None, window)
    }

    /// Starts a broker on a free port that speaks only TLS, with the server certificate of
    /// `pki`, and lets in only clients with a certificate signed by `pki`'s authority.
    pub fn start_tls(pki: &TestPki) -> Self {
        Self::start_with(None, Some(pki), 1000)
    }

    fn start_with(credentials: Option<(&str, &str)>, pki: Option<&TestPki>, window: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\nuser root\npersistence true\npersistence_location {}/\nlog_dest stderr\n# Keep every message of an offline persistent session (the default keeps 1000), and let a\n# subscriber hold many unacknowledged QoS 1 messages (the default is 20).\nmax_queued_messages 0\nmax_inflight_messages {window}\n",
            dir.path().display()
        );
        if let Some(pki) = pki {
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
                pki.path("ca.pem"),
                pki.path("server.pem"),
                pki.path("server.key")
            ));
        }
        match credentials {
            Some((user, password)) => {
                let file = dir.path().join("passwords");
                let status = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password])
                    .status()
                    .expect("mosquitto_passwd (scripts/test installs mosquitto)");
                assert!(status.success());
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("broker config");
        let mut s = Self {
            port,
            dir,
            child: None,
        };
        s.restart();
        s
    }

    /// Starts it (again) on the same port with the same persistence; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("mosquitto");
        cmd.arg("-c").arg(self.dir.path().join("mosquitto.conf"));
        self.child = Some(start_daemon(cmd, self.port));
    }

    /// Stops it (SIGTERM: it saves its persistence file).
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A nats-server with JetStream (file store: streams survive its restart) on 127.0.0.1,
/// optionally requiring a user name and password.
pub struct NatsServer {
    /// Its port.
    pub port: u16,
    credentials: Option<(String, String)>,
    /// `--tls…` arguments: TLS only, client certificates required.
    tls: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on a free port; `credentials`: the only user allowed in.
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        Self::start_with(credentials, Vec::new())
    }

    /// Starts a server on a free port that speaks only TLS, with the server certificate of `pki`,
    /// and lets in only clients with a certificate signed by `pki`'s authority.
    pub fn start_tls(pki: &TestPki) -> Self {
        let mut tls = vec!["--tls".to_string(), "--tlsverify".to_string()];
        for (flag, file) in [
            ("--tlscert", "server.pem"),
            ("--tlskey", "server.key"),
            ("--tlscacert", "ca.pem"),
        ] {
            tls.push(flag.to_string());
            tls.push(pki.path(file));
        }
        Self::start_with(None, tls)
    }

    fn start_with(credentials: Option<(&str, &str)>, tls: Vec<String>) -> Self {
        let mut s = Self {
            port: free_port(),
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
            tls,
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
        };
        s.restart();
        s
    }

    /// Starts it (again) on the same port with the same store; waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.dir.path());
        if let Some((user, password)) = &self.credentials {
            cmd.args(["--user", user, "--pass", password]);
        }
        cmd.args(&self.tls);
        self.child = Some(start_daemon(cmd, self.port));
    }

    /// Stops it (SIGTERM).
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The newest PostgreSQL server programs installed (Debian keeps them in
/// `/usr/lib/postgresql/<major>/bin`), else the ones on the `PATH`.
fn postgres_bin(program: &str) -> std::path::PathBuf {
    let mut majors: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin").join(program);
            bin.is_file().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map_or_else(|| program.into(), |(_, bin)| bin)
}

/// The user and group ids the server runs as: PostgreSQL refuses to run as root, so when the
/// tests run as root the server runs as the `postgres` user the Debian package creates.
fn postgres_ids() -> Option<(u32, u32)> {
    let out = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a `postgres` user (scripts/test installs PostgreSQL)")
    };
    Some((id("-u"), id("-g")))
}

/// A PostgreSQL server of its own on 127.0.0.1 (a fresh cluster in a temporary folder), with one
/// user, [`PostgresServer::USER`], whose password is [`PostgresServer::PASSWORD`].
pub struct PostgresServer {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
}

impl PostgresServer {
    /// The user the tests log in as (the cluster's superuser).
    pub const USER: &str = "oibus";
    /// Its password.
    pub const PASSWORD: &str = "s3cret-pg";

    /// Creates a cluster (initdb) and starts its server on a free port.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Like [`Self::start`], but the server accepts TCP connections only over TLS, with the
    /// server certificate of `pki`.
    pub fn start_tls(pki: &TestPki) -> Self {
        Self::start_with(Some(pki))
    }

    fn start_with(pki: Option<&TestPki>) -> Self {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let ids = postgres_ids();
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let pwfile = dir.path().join("password");
        std::fs::write(&pwfile, Self::PASSWORD).expect("password file");
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown");
        }
        let mut initdb = Command::new(postgres_bin("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args([
                "-U",
                Self::USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdin(Stdio::null());
        if let Some((uid, gid)) = ids {
            initdb.uid(uid).gid(gid);
        }
        let out = initdb
            .output()
            .expect("initdb runs (scripts/test installs PostgreSQL)");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(pki) = pki {
            let data = dir.path().join("data");
            for name in ["server.pem", "server.key"] {
                let target = data.join(name);
                std::fs::copy(pki.path(name), &target).expect("copy a certificate file");
                std::fs::set_permissions(
                    &target,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .expect("chmod");
                if let Some((uid, gid)) = ids {
                    std::os::unix::fs::chown(&target, Some(uid), Some(gid)).expect("chown");
                }
            }
            let conf = data.join("postgresql.conf");
            let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
            text.push_str("ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
            std::fs::write(&conf, text).expect("postgresql.conf");
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .expect("pg_hba.conf");
        }
        let mut s = Self {
            port: free_port(),
            dir,
            ids,
            child: None,
        };
        s.restart();
        s
    }

    /// Starts the server (again) on the same port and cluster; waits until it listens.
    pub fn restart(&mut self) {
        use std::os::unix::process::CommandExt;
        self.stop();
        let mut cmd = Command::new(postgres_bin("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ));
        if let Some((uid, gid)) = self.ids {
            cmd.uid(uid).gid(gid);
        }
        self.child = Some(start_daemon(cmd, self.port));
        // Listening is not ready: during recovery the server answers "the database system is
        // starting up". Wait until a query runs.
        let began = Instant::now();
        while let Err(e) = self.sql("SELECT 1") {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not become ready: {e}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it with a fast shutdown (SIGINT: open sessions are ended, as an operator's restart
    /// does), and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }

    /// Runs SQL statements with `psql` in database `postgres`; the error is psql's message.
    pub fn sql(&self, statements: &str) -> Result<(), String> {
        let out = Command::new(postgres_bin("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                Self::USER,
                "-d",
                "postgres",
            ])
            .args(["-c", statements])
            .env("PGPASSWORD", Self::PASSWORD)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Debian's MariaDB server (`mariadbd`), with a data folder of its own made by
/// `mariadb-install-db`, listening on 127.0.0.1 at a free port, with database [`Self::DATABASE`]
/// and user [`Self::USER`].
pub struct MariaDbServer {
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl MariaDbServer {
    /// The user the tests log in as.
    pub const USER: &str = "oibus";
    /// Its password.
    pub const PASSWORD: &str = "s3cret-my";
    /// The database made for the tests.
    pub const DATABASE: &str = "plant";

    /// Makes a data folder and starts the server; waits until it answers.
    pub fn start() -> Self {
        // Two `mariadb-install-db` at once fail ("Installation of system tables failed"): the
        // tests of one binary make their folders one at a time.
        static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("mariadb-install-db runs (scripts/test installs mariadb-server)");
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        drop(installing);
        let mut s = Self {
            port: free_port(),
            dir,
            child: None,
        };
        s.restart();
        s.root_sql(&format!(
            "CREATE DATABASE {db}; CREATE USER '{u}'@'127.0.0.1' IDENTIFIED BY '{p}'; \
             GRANT ALL ON *.* TO '{u}'@'127.0.0.1';",
            db = Self::DATABASE,
            u = Self::USER,
            p = Self::PASSWORD
        ))
        .expect("the test user");
        s
    }

    /// Starts the server (again) on the same port and data; waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let d = self.dir.path();
        let mut cmd = Command::new("mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .arg(format!("--log-error={}", d.join("error.log").display()))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
            ]);
        self.child = Some(start_daemon(cmd, self.port));
        let began = Instant::now();
        while let Err(e) = self.root_sql("SELECT 1") {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "MariaDB did not become ready: {e}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it (SIGTERM: a clean shutdown that ends open sessions) and waits for it.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
    }

    fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults").stdin(Stdio::null());
        c
    }

    fn run(mut cmd: Command) -> Result<(), String> {
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run mariadb: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn root_sql(&self, statements: &str) -> Result<(), String> {
        let mut c = self.client();
        c.arg(format!(
            "--socket={}",
            self.dir.path().join("sock").display()
        ))
        .args(["-u", "root", "-e", statements]);
        Self::run(c)
    }

    /// Runs SQL statements as [`Self::USER`] over TCP in [`Self::DATABASE`]; the error is the
    /// client's message.
    pub fn sql(&self, statements: &str) -> Result<(), String> {
        self.query(statements).map(drop)
    }

    /// Like [`Self::sql`], answering the rows printed: one line each, fields separated by tabs.
    pub fn query(&self, statements: &str) -> Result<String, String> {
        let out = self
            .client()
            .args(["-h", "127.0.0.1", "-P", &self.port.to_string(), "-N", "-B"])
            .args(["-u", Self::USER, Self::DATABASE, "-e", statements])
            .env("MYSQL_PWD", Self::PASSWORD)
            .output()
            .map_err(|e| format!("cannot run mariadb: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Certificates made with the `openssl` command for TLS tests, in a temporary folder: an
/// authority (`ca.pem`) that signed a server certificate for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`) and a client certificate (`client.pem`, `client.key`), and an
/// unrelated authority (`other-ca.pem`).
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    /// Generates every file (EC P-256 keys, valid for two days).
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .expect("openssl (scripts/test installs it)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            let (pem, k, subject) = (
                format!("{ca}.pem"),
                format!("{ca}.key"),
                format!("/CN=oibus test {ca}"),
            );
            let mut args = vec!["req", "-x509"];
            args.extend(key);
            args.extend(["-keyout", &k, "-out", &pem, "-days", "2", "-subj", &subject]);
            openssl(&args);
        }
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .expect("extensions");
        std::fs::write(
            dir.path().join("client.ext"),
            "extendedKeyUsage=clientAuth\n",
        )
        .expect("extensions");
        for who in ["server", "client"] {
            let (k, csr, pem, ext) = (
                format!("{who}.key"),
                format!("{who}.csr"),
                format!("{who}.pem"),
                format!("{who}.ext"),
            );
            let subject = format!("/CN=oibus test {who}");
            let mut args = vec!["req"];
            args.extend(key);
            args.extend(["-keyout", &k, "-out", &csr, "-subj", &subject]);
            openssl(&args);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ]);
        }
        Self { dir }
    }

    /// The path of one of the files.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// The hostile MQTT broker of `tests/servers/hostile_mqtt_broker.py` (written only for the
/// tests): it sends the given QoS 1 messages, topics as raw bytes, after the first SUBSCRIBE,
/// and again after each reconnection until they are acknowledged.
pub struct HostileMqttBroker {
    /// Its port.
    pub port: u16,
    report: tempfile::TempDir,
    child: Child,
}

impl HostileMqttBroker {
    /// Starts it with `messages` (topic bytes, payload), sent with packet ids 1, 2, …
    pub fn start(messages: &[(&[u8], &str)]) -> Self {
        let port = free_port();
        let report = tempfile::tempdir().expect("temp dir");
        let script = crate::workspace().join("tests/servers/hostile_mqtt_broker.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--port", &port.to_string()])
            .arg("--report")
            .arg(report.path().join("report.json"));
        for (topic, payload) in messages {
            command.arg("--message").arg(format!(
                "{}:{payload}",
                topic.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ));
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the hostile MQTT broker");
        let stdout = child.stdout.take().expect("stdout");
        let line = BufReader::new(stdout).lines().next();
        assert!(
            matches!(&line, Some(Ok(l)) if l.starts_with("ready")),
            "the hostile MQTT broker did not start: {line:?}"
        );
        Self {
            port,
            report,
            child,
        }
    }

    /// What it saw: `connections`, `acked` (packet ids in the order acknowledged), `sent`.
    pub fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.report.path().join("report.json"))
            .expect("the broker's report");
        serde_json::from_str(&text).expect("a JSON report")
    }
}

impl Drop for HostileMqttBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python server of `tests/servers/`, started with a free `--port` and `args`, restartable on
/// the same port: the real servers written by others that the scripts run (pymodbus,
/// python-snap7) and the peers written only for the tests (an API, a PLC or a broker that
/// misbehaves on purpose). Each script's docstring says what it serves.
pub struct ScriptServer {
    /// Its port.
    pub port: u16,
    server: PythonServer,
}

impl ScriptServer {
    /// Starts `tests/servers/<script>` with `--port` and `args`; waits until it listens.
    pub fn start(script: &'static str, args: &[&str]) -> Self {
        let port = free_port();
        let mut all = vec!["--port".to_string(), port.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let mut server = PythonServer::new(
            script,
            all,
            "scripts/test installs what tests/servers/ need",
        );
        server.restart();
        Self { port, server }
    }

    /// Starts it (again) on the same port; waits until it listens.
    pub fn restart(&mut self) {
        self.server.restart();
    }

    /// Stops it.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Its process id, while it runs (to measure its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }
}

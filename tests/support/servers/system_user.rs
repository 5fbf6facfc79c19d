//! The system account the SFTP and FTP servers of the tests let in: Debian's OpenSSH and vsftpd
//! check passwords against the system's accounts, so the tests need one, made here (as root,
//! as CI runs) with a fresh random password for each test process.

use std::{
    io::Read,
    process::{Command, Stdio},
    sync::OnceLock,
};

/// The test account: home `/`, no shell (`nologin`): it can only transfer files, through the
/// test servers, which let in no one else.
pub struct SystemUser {
    /// Its name.
    pub name: &'static str,
    /// Its password for this test process.
    pub password: String,
}

/// The PAM service vsftpd checks passwords with: the account's password only (Debian's own
/// `vsftpd` service also asks for a shell listed in /etc/shells, which `nologin` is not).
pub const FTP_PAM_SERVICE: &str = "oibus-test-ftp";

/// The account, made (or its password changed) on first use.
pub fn system_user() -> &'static SystemUser {
    static USER: OnceLock<SystemUser> = OnceLock::new();
    USER.get_or_init(|| {
        let name = "oibus-files";
        assert!(
            is_root(),
            "the SFTP and FTP tests make the system account {name}: run them as root (as CI does)"
        );
        // Home `/`: vsftpd changes to it before anything else (the tests give absolute paths).
        if !run(Command::new("id").arg(name)) {
            assert!(
                run(Command::new("useradd").args([
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ])),
                "useradd {name} failed"
            );
        }
        let password = random_password();
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd runs");
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().expect("stdin");
            writeln!(stdin, "{name}:{password}").expect("chpasswd input");
        }
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
        let pam = format!("/etc/pam.d/{FTP_PAM_SERVICE}");
        std::fs::write(
            &pam,
            "# Written by the oibus-rs tests (tests/support/servers/system_user.rs).\n\
             auth required pam_unix.so\naccount required pam_unix.so\n\
             session required pam_unix.so\n",
        )
        .unwrap_or_else(|e| panic!("cannot write {pam}: {e}"));
        SystemUser { name, password }
    })
}

fn run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn random_password() -> String {
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes `path`, a folder under the system's temporary folder made by a test as root, usable by
/// the account: its parents up to the temporary folder traversable, itself writable.
pub fn open_to_test_user(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = std::env::temp_dir();
    assert!(
        path.starts_with(&tmp),
        "{} is not under {}",
        path.display(),
        tmp.display()
    );
    let mut dir = path;
    let mut first = true;
    while dir != tmp {
        let mode = std::fs::metadata(dir).expect("folder").permissions().mode() & 0o7777;
        let wanted = if first { 0o777 } else { mode | 0o711 };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(wanted))
            .expect("permissions");
        first = false;
        dir = dir.parent().expect("a parent");
    }
}

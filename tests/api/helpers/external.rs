//! Outside programs the tests start on 127.0.0.1 high ports: Dovecot (IMAP) with its own
//! test PKI, and an aiosmtpd relay. Each is skipped with a SKIPPED line where missing,
//! or fails when PASSDROP_REQUIRE_EXTERNAL=1 (as in CI).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// A free TCP port on 127.0.0.1, for an outside program a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether an outside program a test needs is `present`. If not, prints
/// `SKIPPED: <what> not installed (apt-get install <packages>)` and returns `false`, or
/// fails when PASSDROP_REQUIRE_EXTERNAL=1 (as in CI).
pub fn external_available(present: bool, what: &str, packages: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        std::env::var("PASSDROP_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
        "{what} is required (PASSDROP_REQUIRE_EXTERNAL=1) but not installed: \
         apt-get install {packages}"
    );
    println!("SKIPPED: {what} not installed (apt-get install {packages})");
    false
}

pub const DOVECOT: &str = "/usr/sbin/dovecot";

/// `true` when Dovecot can run here; otherwise prints SKIPPED, or fails when
/// PASSDROP_REQUIRE_EXTERNAL=1 (as in CI).
pub fn dovecot_available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let why = if !Path::new(DOVECOT).exists() {
        "dovecot not installed (apt-get install dovecot-imapd)"
    } else if !root {
        "dovecot tests run as root (Dovecot drops privileges to its own users)"
    } else {
        return true;
    };
    assert!(
        std::env::var("PASSDROP_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
        "Dovecot is required (PASSDROP_REQUIRE_EXTERNAL=1): {why}"
    );
    println!("SKIPPED: {why}");
    false
}

/// A test certificate authority and a server certificate it issued.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub fingerprint: [u8; 32],
}

impl Pki {
    /// A CA and a server certificate for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "passdrop test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        Self {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            fingerprint: Sha256::digest(cert.der().as_ref()).into(),
        }
    }
}

/// How a test Dovecot is set up.
pub struct DovecotSetup<'a> {
    /// Users and their passwords.
    pub users: &'a [(&'a str, &'a str)],
    /// `auth_mechanisms`: "plain login", or "login" to force the LOGIN command.
    pub mechanisms: &'a str,
    /// Whether TLS is on (STARTTLS on the imap port, and the imaps port).
    pub tls: bool,
    /// Its certificate.
    pub pki: &'a Pki,
}

/// A running Dovecot; stopped when dropped.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub child: Child,
    pub config: PathBuf,
    /// STARTTLS port.
    pub imap_port: u16,
    /// Implicit-TLS port.
    pub imaps_port: u16,
}

impl Dovecot {
    pub fn start(setup: &DovecotSetup<'_>) -> Self {
        Self::start_full(setup, |_| String::new(), "")
    }

    /// Like `start`, with `auth(dir)`'s settings (say, a master passdb) placed before
    /// the users' passdb; `dir` is Dovecot's directory, for the files they name.
    pub fn start_with_auth(setup: &DovecotSetup<'_>, auth: impl FnOnce(&Path) -> String) -> Self {
        Self::start_full(setup, auth, "")
    }

    /// Like `start`, with `extra` lines appended to the configuration (plugins,
    /// namespaces).
    pub fn start_with(setup: &DovecotSetup<'_>, extra: &str) -> Self {
        Self::start_full(setup, |_| String::new(), extra)
    }

    /// `start_with_auth` and `start_with` at once.
    pub fn start_full(
        setup: &DovecotSetup<'_>,
        auth: impl FnOnce(&Path) -> String,
        extra: &str,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Dovecot's unprivileged processes must reach their sockets under this directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(dir.path().join("cert.pem"), &setup.pki.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &setup.pki.key_pem).unwrap();
        let mut users = std::fs::File::create(dir.path().join("users")).unwrap();
        for (user, password) in setup.users {
            // Base64, so that any character (':' included) survives the file format.
            let b64 = base64::engine::general_purpose::STANDARD.encode(password);
            writeln!(users, "{user}:{{PLAIN.B64}}{b64}").unwrap();
        }
        drop(users);
        let auth = auth(dir.path());
        let (imap_port, imaps_port) = (free_port(), free_port());
        let (ssl, imaps) = if setup.tls {
            (
                "yes",
                format!(
                    "inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n    ssl = yes\n  }}"
                ),
            )
        } else {
            ("no", "inet_listener imaps {\n    port = 0\n  }".to_owned())
        };
        let config = format!(
            "base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             ssl = {ssl}\n\
             ssl_cert = <{d}/cert.pem\n\
             ssl_key = <{d}/key.pem\n\
             disable_plaintext_auth = yes\n\
             auth_mechanisms = {mech}\n\
             auth_failure_delay = 0\n\
             default_internal_user = dovecot\n\
             default_login_user = dovenull\n\
             {auth}\
             passdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n\
             mail_location = maildir:{d}/home/%u/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  {imaps}\n}}\n\
             service anvil {{\n  chroot =\n}}\n{extra}\n",
            mech = setup.mechanisms,
        );
        let config_path = dir.path().join("dovecot.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let dovecot = Self {
            dir,
            child,
            config: config_path,
            imap_port,
            imaps_port,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        let ports: &[u16] = if setup.tls {
            &[imap_port, imaps_port]
        } else {
            &[imap_port]
        };
        for port in ports {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "Dovecot did not start: {}",
                    dovecot.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        dovecot
    }

    /// A Dovecot with TLS and one user, `ann`, whose password is `Right horse 1`.
    pub fn with_ann(pki: &Pki) -> Self {
        Self::start(&DovecotSetup {
            users: &[("ann", "Right horse 1")],
            mechanisms: "plain login",
            tls: true,
            pki,
        })
    }

    /// Dovecot's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Dovecot's own log once it holds `needle`, waiting up to 10 s (the log as it is
    /// then, otherwise): what passdrop does after answering (the kept session's
    /// inventory, its LOGOUT) is logged a moment after the answer.
    pub async fn log_once_it_has(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn imaps_url(&self) -> String {
        format!("imaps://127.0.0.1:{}", self.imaps_port)
    }

    pub fn starttls_url(&self) -> String {
        format!("imap://127.0.0.1:{}", self.imap_port)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new(DOVECOT)
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const PYTHON: &str = "/usr/bin/python3";

pub fn aiosmtpd_available() -> bool {
    let present = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    crate::helpers::external_available(present, "aiosmtpd", "python3-aiosmtpd")
}

/// The relay's login (optional: without it, mail is accepted too). A wrong password is
/// refused with 535.
pub const RELAY_USER: &str = "relay-user";

pub const RELAY_PASSWORD: &str = "relay-pass-CANARY-7f3a";

/// The relay: accepts everything, except `temp@...` once (451) and `bounce@...` (550);
/// writes each message to a file. A message to `slow...@...` marks `slow-started` in the
/// directory, then takes 3 seconds. A message sent after a login gets `.auth` appended
/// to its file name.
pub const RELAY: &str = r#"
import asyncio, os, signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, outdir, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seen = {}
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b'relay-user' \
        and auth_data.password == b'relay-pass-CANARY-7f3a'
    return AuthResult(success=ok, handled=False)
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('temp@'):
            seen[address] = seen.get(address, 0) + 1
            if seen[address] == 1:
                return '451 4.3.0 Mailbox busy, try again later'
        if address.startswith('bounce@'):
            return '550 5.1.1 No such user here'
        envelope.rcpt_tos.append(address)
        return '250 OK'
    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0].startswith('slow'):
            open(os.path.join(os.path.dirname(outdir), 'slow-started'), 'w').close()
            await asyncio.sleep(3)
        n = len([f for f in os.listdir(outdir) if not f.endswith('.tmp')])
        auth = '.auth' if session.authenticated else ''
        path = os.path.join(outdir, '%05d-%s%s.eml' % (n, envelope.rcpt_tos[0], auth))
        with open(path + '.tmp', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + '.tmp', path)
        return '250 2.0.0 Queued as test-%d' % n
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Handler(), hostname='127.0.0.1', port=port, tls_context=ctx, require_starttls=True,
               authenticator=authenticator, auth_require_tls=True, auth_required=False)
c.start()
print('ready', flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
"#;

pub struct Relay {
    pub child: Child,
    pub port: u16,
    pub outdir: PathBuf,
    pub ca: PathBuf,
}

impl Relay {
    pub fn start(dir: &Path) -> Self {
        let pki = Pki::new(&["127.0.0.1", "localhost"]);
        let (cert, key, ca) = (
            dir.join("cert.pem"),
            dir.join("key.pem"),
            dir.join("ca.pem"),
        );
        std::fs::write(&cert, &pki.cert_pem).unwrap();
        std::fs::write(&key, &pki.key_pem).unwrap();
        std::fs::write(&ca, &pki.ca_pem).unwrap();
        let outdir = dir.join("mail");
        std::fs::create_dir(&outdir).unwrap();
        let script = dir.join("relay.py");
        std::fs::write(&script, RELAY).unwrap();
        let port = free_port();
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(&outdir)
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        Self {
            child,
            port,
            outdir,
            ca,
        }
    }

    /// How many messages came after a login.
    pub fn authenticated(&self) -> usize {
        std::fs::read_dir(&self.outdir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".auth.eml"))
            .count()
    }

    /// Messages received so far: (recipient, raw text with soft line breaks undone).
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut names: Vec<_> = std::fs::read_dir(&self.outdir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.outdir.join(&n)).unwrap();
                let rcpt = n[6..n.len() - 4].trim_end_matches(".auth").to_owned();
                (rcpt, text.replace("=\r\n", "").replace("=\n", ""))
            })
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small tmpfs mounted for one test (root only), unmounted when dropped.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB; `None` (after SKIPPED, or a failure when
    /// PASSDROP_REQUIRE_EXTERNAL=1) where this machine cannot mount one.
    pub fn mount(mib: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        external_available(mounted, "mounting a tmpfs (needs root)", "mount, as root")
            .then_some(Self { dir })
    }

    /// Fills the file system: a file grows until the disk refuses more.
    pub fn fill(&self) -> PathBuf {
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

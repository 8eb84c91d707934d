//! The shipped Caddyfile, run by Debian's Caddy on loopback with its internal CA: real
//! HTTPS in front of passdrop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;

use passdrop::batch::IssuedLink;

use crate::helpers::{TestApp, free_port, token_of};

const CADDY: &str = "/usr/bin/caddy";
pub const CURL: &str = "/usr/bin/curl";

fn caddy_available() -> bool {
    crate::helpers::external_available(
        Path::new(CADDY).exists() && Path::new(CURL).exists(),
        "caddy or curl",
        "caddy curl",
    )
}

struct Caddy {
    child: Child,
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET or POST through a proxy with curl from `source`; returns (status, headers, body).
pub fn curl(ca: &Path, source: &str, url: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let mut cmd = Command::new(CURL);
    cmd.args([
        "--silent",
        "--show-error",
        "--include",
        "--interface",
        source,
    ])
    .arg("--cacert")
    .arg(ca)
    .arg(url);
    for (name, value) in form {
        cmd.arg("--data-urlencode").arg(format!("{name}={value}"));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_caddyfile_serves_passdrop_over_https() {
    if !caddy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let https_port = free_port();
    let (app, links, public) = proxied_app(https_port).await;
    let upstream = app.address.trim_start_matches("http://").to_owned();

    // The shipped file, adapted to loopback: the site address, the upstream, the log
    // path, and global options for a test (internal CA, no admin API, own ports).
    let access_log = dir.path().join("access.log");
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Caddyfile"))
            .unwrap();
    assert!(shipped.contains("passdrop.example.org {"));
    let site = shipped
        .replace(
            "passdrop.example.org {",
            &format!("localhost:{https_port} {{"),
        )
        .replace(
            "reverse_proxy 127.0.0.1:8080",
            &format!("reverse_proxy {upstream}"),
        )
        .replace(
            "/var/log/caddy/passdrop-access.log",
            access_log.to_str().unwrap(),
        );
    let config = format!(
        "{{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\thttp_port {}\n\thttps_port {https_port}\n\tlog {{\n\t\toutput file {}\n\t}}\n}}\n\n{site}",
        free_port(),
        dir.path().join("caddy.log").display()
    );
    let caddyfile = dir.path().join("Caddyfile");
    std::fs::write(&caddyfile, config).unwrap();
    let child = Command::new(CADDY)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&caddyfile)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _caddy = Caddy { child };
    let ca = dir.path().join("data/caddy/pki/authorities/local/root.crt");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(ca.exists() && std::net::TcpStream::connect(("127.0.0.1", https_port)).is_ok()) {
        assert!(Instant::now() < deadline, "Caddy did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    check_through_proxy(
        &public,
        &ca,
        &links,
        "CaddyCanaryPassword-9",
        &access_log,
        &dir.path().join("caddy.log"),
    )
    .await;
}

/// passdrop as it runs behind a proxy on this machine: its public URL is
/// `https://localhost:<https_port>`, it trusts proxy headers, and each client may make
/// three requests a minute. Returns it, the links of a two-user batch, and the URL.
pub async fn proxied_app(https_port: u16) -> (TestApp, Vec<IssuedLink>, String) {
    let public = format!("https://localhost:{https_port}");
    let public_url = passdrop::config::PublicUrl::parse(&public).unwrap();
    let app = TestApp::spawn_with(|c| {
        c.public_url = public_url;
        c.trust_proxy = true;
        c.rate_limit = 3;
    })
    .await;
    let (_b, links) = app
        .create_batch(
            "proxied",
            "EmailAddress\nann@example.org\nbob@example.org\n",
        )
        .await;
    (app, links, public)
}

/// Through the proxy serving `public` (its certificate trusted through `ca`): the page
/// loads with HSTS, passdrop rate-limits the real client rather than the proxy, and a
/// password is accepted; then the proxy's access log shows `/s/[token]`, and neither of
/// its logs holds a token or the password.
pub async fn check_through_proxy(
    public: &str,
    ca: &Path,
    links: &[IssuedLink],
    password: &str,
    access_log: &Path,
    error_log: &Path,
) {
    let token = token_of(links[0].link.expose_secret());
    let url = format!("{public}/s/{token}");
    let (status, head, body) = curl(ca, "127.0.0.1", &url, &[]);
    assert_eq!(status, 200, "{head}{body}");
    assert!(body.contains("Your email is moving"), "{body}");
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );

    // 127.0.0.1 uses up its three requests a minute, and 127.0.0.2 is still served.
    let mut statuses = vec![];
    for _ in 0..3 {
        statuses.push(curl(ca, "127.0.0.1", &url, &[]).0);
    }
    assert_eq!(statuses, [200, 200, 429], "one request was already made");
    let other_token = token_of(links[1].link.expose_secret());
    let (status, _, body) = curl(
        ca,
        "127.0.0.2",
        &format!("{public}/s/{other_token}"),
        &[("password", password), ("password_confirm", password)],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Thank you"), "{body}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(access_log).unwrap_or_default();
        if log.lines().count() >= 5 || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(log.lines().count() >= 5, "{log}");
    assert!(log.contains("/s/[token]"), "{log}");
    let errors = std::fs::read_to_string(error_log).unwrap_or_default();
    for secret in [token.as_str(), other_token.as_str(), password] {
        assert!(
            !log.contains(secret),
            "{secret:?} in the access log:\n{log}"
        );
        assert!(
            !errors.contains(secret),
            "{secret:?} in the error log:\n{errors}"
        );
    }
}

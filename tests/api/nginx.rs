//! The shipped nginx site, run by Debian's nginx on loopback with a test certificate:
//! real HTTPS in front of passdrop, as `caddy.rs` does for Caddy.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;

use crate::caddy::{curl, free_port};
use crate::helpers::{TestApp, token_of};
use crate::imap::Pki;

const NGINX: &str = "/usr/sbin/nginx";

fn nginx_available() -> bool {
    if Path::new(NGINX).exists() && Path::new(crate::caddy::CURL).exists() {
        return true;
    }
    assert!(
        std::env::var("PASSDROP_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
        "nginx and curl are required (PASSDROP_REQUIRE_EXTERNAL=1): apt-get install nginx-light curl"
    );
    println!("SKIPPED: nginx or curl not installed (apt-get install nginx-light curl)");
    false
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_nginx_site_serves_passdrop_over_https() {
    if !nginx_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let https_port = free_port();
    let public = format!("https://localhost:{https_port}");
    let public_url = passdrop::config::PublicUrl::parse(&public).unwrap();
    let app = TestApp::spawn_with(|c| {
        c.public_url = public_url;
        c.trust_proxy = true;
        c.rate_limit = 3;
    })
    .await;
    let (_b, links) = app
        .create_batch("nginx", "EmailAddress\nann@example.org\nbob@example.org\n")
        .await;
    let upstream = app.address.clone();

    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    std::fs::write(d.join("cert.pem"), &pki.cert_pem).unwrap();
    std::fs::write(d.join("key.pem"), &pki.key_pem).unwrap();
    let ca = d.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"))
            .unwrap();
    let site = shipped
        .replace("    listen [::]:80;\n", "")
        .replace("    listen [::]:443 ssl http2;\n", "")
        .replace("listen 80;", &format!("listen 127.0.0.1:{};", free_port()))
        .replace(
            "listen 443 ssl http2;",
            &format!("listen 127.0.0.1:{https_port} ssl http2;"),
        )
        .replace("passdrop.example.org", "localhost")
        .replace(
            "/etc/letsencrypt/live/localhost/fullchain.pem",
            d.join("cert.pem").to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/localhost/privkey.pem",
            d.join("key.pem").to_str().unwrap(),
        )
        .replace("/var/log/nginx", d.to_str().unwrap())
        .replace("http://127.0.0.1:8080", &upstream);
    assert!(!site.contains("/etc/letsencrypt"), "{site}");
    std::fs::write(d.join("site.conf"), site).unwrap();
    let p = d.display();
    let main = format!(
        "user root;\ndaemon off;\nmaster_process on;\nworker_processes 1;\npid {p}/nginx.pid;\n\
         error_log {p}/main-error.log;\nevents {{}}\nhttp {{\n  client_body_temp_path {p}/body;\n  \
         proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  \
         scgi_temp_path {p}/scgi;\n  access_log off;\n  include {p}/site.conf;\n}}\n"
    );
    std::fs::write(d.join("nginx.conf"), main).unwrap();
    let check = Command::new(NGINX)
        .arg("-t")
        .arg("-p")
        .arg(d)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _nginx = Nginx(
        Command::new(NGINX)
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", https_port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let token = token_of(links[0].link.expose_secret());
    let url = format!("{public}/s/{token}");
    let (status, head, body) = curl(&ca, "127.0.0.1", &url, &[]);
    assert_eq!(status, 200, "{head}{body}");
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );
    let mut statuses = vec![];
    for _ in 0..3 {
        statuses.push(curl(&ca, "127.0.0.1", &url, &[]).0);
    }
    assert_eq!(statuses, [200, 200, 429], "one request was already made");
    let other_token = token_of(links[1].link.expose_secret());
    let password = "NginxCanaryPassword-7";
    let (status, _, body) = curl(
        &ca,
        "127.0.0.2",
        &format!("{public}/s/{other_token}"),
        &[("password", password), ("password_confirm", password)],
    );
    assert_eq!(status, 200, "{body}");

    let access = std::fs::read_to_string(d.join("passdrop-access.log")).unwrap_or_default();
    assert!(access.lines().count() >= 5, "{access}");
    assert!(access.contains("/s/[token]"), "{access}");
    let errors = std::fs::read_to_string(d.join("passdrop-error.log")).unwrap_or_default();
    for secret in [token.as_str(), other_token.as_str(), password] {
        assert!(
            !access.contains(secret),
            "{secret:?} in the access log:\n{access}"
        );
        assert!(
            !errors.contains(secret),
            "{secret:?} in the error log:\n{errors}"
        );
    }
}

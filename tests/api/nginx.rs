//! The shipped nginx site, run by Debian's nginx on loopback with a test certificate:
//! real HTTPS in front of passdrop, as `caddy.rs` does for Caddy.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::caddy::{check_through_proxy, proxied_app};
use crate::helpers::Pki;
use crate::helpers::free_port;

const NGINX: &str = "/usr/sbin/nginx";

fn nginx_available() -> bool {
    crate::helpers::external_available(
        Path::new(NGINX).exists() && Path::new(crate::caddy::CURL).exists(),
        "nginx or curl",
        "nginx-light curl",
    )
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
    let (app, links, public) = proxied_app(https_port).await;
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

    check_through_proxy(
        &public,
        &ca,
        &links,
        "NginxCanaryPassword-7",
        &d.join("passdrop-access.log"),
        &d.join("passdrop-error.log"),
    )
    .await;
}

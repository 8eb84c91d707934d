//! Webhooks as the Standard Webhooks specification has them: a `whsec_` secret, the
//! headers `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64
//! HMAC-SHA256 of "{id}.{timestamp}.{body}">`, and one delivery over HTTP(S).
//!
//! A delivery connects only to an address it has checked: the URL's name is resolved
//! here, every private, loopback, link-local or otherwise non-public address is refused
//! (unless the operator allows private targets), and the connection goes to the address
//! that passed, so a name that DNS rebinds between check and use cannot move it. A
//! redirect is never followed (it counts as a failure), and the whole delivery has a
//! deadline. The endpoints, the events and the queue that retries: `webhook_queue`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::crypto::{self, CryptoError};

/// What every secret starts with (the specification's prefix).
pub const SECRET_PREFIX: &str = "whsec_";
/// Longest a delivery may take, connection to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read (its status line is all that counts).
const MAX_ANSWER_BYTES: usize = 8 * 1024;

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> Result<SecretString, CryptoError> {
    let bytes = crypto::random_bytes::<32>()?;
    Ok(SecretString::from(format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(bytes)
    )))
}

/// A new message id, `msg_` and 16 random bytes in hex.
pub fn message_id() -> Result<String, CryptoError> {
    Ok(format!(
        "msg_{}",
        hex::encode(crypto::random_bytes::<16>()?)
    ))
}

/// The HMAC key a `whsec_...` secret stands for.
fn secret_key(secret: &SecretString) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let text = secret.expose_secret();
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    STANDARD
        .decode(encoded)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| "the webhook secret is not whsec_ and base64".to_owned())
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret_key(secret)?);
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(format!("{id}.{timestamp}.").as_bytes());
    context.update(body);
    Ok(format!("v1,{}", STANDARD.encode(context.sign().as_ref())))
}

/// Where deliveries go: an `http://` or `https://` URL without user info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    /// Parses and checks a URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(format!("{url:?}: no user name or password in the URL"));
        }
        if path.contains(['#', ' ', '\r', '\n']) || path.chars().any(char::is_control) {
            return Err(format!(
                "{url:?}: the path has a character a URL cannot carry"
            ));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: an IPv6 address needs its closing ]"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p
                    .parse()
                    .map_err(|_| format!("{url:?}: {p:?} is not a port"))?,
                None if after.is_empty() => default_port,
                None => return Err(format!("{url:?}: unexpected {after:?} after the address")),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (
                    host.to_owned(),
                    p.parse()
                        .map_err(|_| format!("{url:?}: {p:?} is not a port"))?,
                ),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        {
            return Err(format!("{url:?}: {host:?} is not a host name or address"));
        }
        Ok(Self {
            https,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// The `Host` header's value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.https, self.port) {
            (true, 443) | (false, 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: reaches IPv4 inside
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, _, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_unspecified()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Why a delivery did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The target is refused (a non-public address without permission, or a name that
    /// does not resolve): trying again will not help until the setting changes.
    #[error("refused: {0}")]
    Refused(String),
    /// No success this time (connection, TLS, timeout, an answer other than 2xx,
    /// including a redirect, which is never followed): worth trying again later.
    #[error("failed: {0}")]
    Failed(String),
}

/// A signed message ready to deliver.
pub struct Signed<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp` (Unix seconds).
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: &'a str,
    /// The JSON body.
    pub body: &'a [u8],
}

/// Delivers one signed message to `target`, connecting only to a resolved address that
/// passes [`is_public`] (or any, with `allow_private`), within `timeout`; returns the
/// 2xx status.
pub async fn deliver(
    target: &Target,
    message: &Signed<'_>,
    allow_private: bool,
    timeout: Duration,
) -> Result<u16, DeliveryError> {
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(_)) => {
            return Err(DeliveryError::Refused(format!(
                "{} does not resolve",
                target.host
            )));
        }
        Err(_) => return Err(DeliveryError::Failed("resolving the name timed out".into())),
    };
    let Some(address) = addresses
        .iter()
        .copied()
        .find(|a| allow_private || is_public(a.ip()))
    else {
        return Err(DeliveryError::Refused(format!(
            "{} resolves only to private, loopback or other non-public addresses \
             (allowed only with --webhook-allow-private)",
            target.host
        )));
    };
    tokio::time::timeout(timeout, post(target, address, message))
        .await
        .unwrap_or_else(|_| {
            Err(DeliveryError::Failed(format!(
                "no answer within {timeout:?}"
            )))
        })
}

/// The request, over TLS for https, to the one checked `address`.
async fn post(
    target: &Target,
    address: SocketAddr,
    message: &Signed<'_>,
) -> Result<u16, DeliveryError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| DeliveryError::Failed(format!("{what}: {e}"));
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| failed("could not connect", &e))?;
    if target.https {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| failed("TLS", &e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from(target.host.clone()).map_err(|e| failed("TLS name", &e))?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| failed("TLS", &e))?;
        exchange(tls, target, message).await
    } else {
        exchange(tcp, target, message).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    target: &Target,
    message: &Signed<'_>,
) -> Result<u16, DeliveryError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| DeliveryError::Failed(format!("{what}: {e}"));
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: passdrop-webhooks\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nwebhook-id: {}\r\n\
         webhook-timestamp: {}\r\nwebhook-signature: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.host_header(),
        message.body.len(),
        message.id,
        message.timestamp,
        message.signature,
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| failed("sending", &e))?;
    stream
        .write_all(message.body)
        .await
        .map_err(|e| failed("sending", &e))?;
    stream.flush().await.map_err(|e| failed("sending", &e))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.contains(&b'\n') && answer.len() < MAX_ANSWER_BYTES {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| failed("reading", &e))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    let status = line
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| DeliveryError::Failed("the answer is not HTTP".into()))?;
    match status {
        200..=299 => Ok(status),
        300..=399 => Err(DeliveryError::Failed(format!(
            "answered {status}, a redirect, which is never followed"
        ))),
        _ => Err(DeliveryError::Failed(format!("answered {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specifications_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert!(a.expose_secret().starts_with(SECRET_PREFIX));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(secret_key(&a).unwrap().len(), 32);
    }

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn targets_are_http_urls_without_user_info() {
        let t = Target::parse("https://hooks.example.org/in?x=1").unwrap();
        assert_eq!((t.https, t.port, t.path.as_str()), (true, 443, "/in?x=1"));
        assert_eq!(t.host_header(), "hooks.example.org");
        let t = Target::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8080, "/")
        );
        assert_eq!(t.host_header(), "[::1]:8080");
        for bad in [
            "ftp://example.org/",
            "https://user:pw@example.org/",
            "https:///x",
            "https://exa mple.org/",
            "https://example.org:99999/",
            "https://example.org/a\r\nX: 1",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}

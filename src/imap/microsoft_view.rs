//! The old server as Microsoft 365 will see it: Exchange Online connects from the
//! internet, by the server's public name, with TLS 1.2 or later, trusting only the
//! public certificate authorities (unless the endpoint is made with
//! `-AcceptUntrustedCertificates`), and runs many mailboxes at once from a few
//! addresses. passdrop checks what it can of this from where it runs, as warnings: the
//! batch's own settings (a pinned certificate, a private address) may be right for
//! passdrop and still not do for Microsoft.

use super::*;

/// How the server's TLS looks to a client limited to TLS 1.2 or later that trusts the
/// public authorities only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicTls {
    /// Handshake done, certificate trusted: the version agreed (`TLS 1.2`, `TLS 1.3`).
    Trusted(String),
    /// TLS 1.2 or later is offered, but the certificate is not one the public
    /// authorities vouch for this name: why.
    Untrusted(String),
    /// The server answers, but offers no TLS 1.2 or later (an older TLS, no cipher in
    /// common, or plaintext only): what happened.
    BelowTls12(String),
}

/// A problem Microsoft's migration would have with the old server, with a stable code
/// (`tls_below_1_2`, `certificate_not_trusted`, `host_not_public`,
/// `server_unreachable`, `server_throttling`) and plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProblem {
    /// The stable code (for the readiness report and scripts).
    pub code: &'static str,
    /// What it means and what to do, in plain words.
    pub detail: String,
}

fn problem(code: &'static str, detail: String) -> ServerProblem {
    ServerProblem { code, detail }
}

/// What a TLS failure says about the versions offered, if anything.
pub(super) fn below_tls_1_2(problem: &ImapProblem) -> Option<String> {
    match problem {
        ImapProblem::NoStartTls => Some("the server does not offer STARTTLS on this port".into()),
        ImapProblem::Tls(e) => {
            let old = [
                "ProtocolVersion",
                "HandshakeFailure",
                "InsufficientSecurity",
                "peer is incompatible",
                "corrupt message",
                "InvalidContentType",
            ]
            .iter()
            .any(|sign| e.contains(sign));
            old.then(|| format!("a handshake allowing only TLS 1.2 and 1.3 failed ({e})"))
        }
        _ => None,
    }
}

/// The public view from the outcome of a connection made trusting the public
/// authorities (`None` when the server could not be reached that far).
pub(super) fn public_tls(
    outcome: &Result<(), ImapProblem>,
    report: &ConnectionReport,
) -> Option<PublicTls> {
    match outcome {
        Ok(()) => Some(PublicTls::Trusted(
            report
                .tls_version
                .clone()
                .unwrap_or_else(|| "TLS 1.2 or later".into()),
        )),
        Err(ImapProblem::Certificate(why)) => Some(PublicTls::Untrusted(why.clone())),
        Err(other) => below_tls_1_2(other).map(PublicTls::BelowTls12),
    }
}

/// Connects once more trusting only the public authorities (no login), when the
/// batch's own trust is a pin or a CA file.
pub(super) async fn probe(settings: &ImapSettings) -> Option<PublicTls> {
    let public = ImapSettings {
        trust: CertTrust::PublicAuthorities,
        ..settings.clone()
    };
    let mut scratch = ConnectionReport::default();
    let outcome = match tokio::time::timeout(CONNECT_BUDGET, connect(&public, &mut scratch)).await {
        Ok(Ok(session)) => {
            session.logout().await;
            Ok(())
        }
        Ok(Err(p)) => Err(p),
        Err(_) => return None,
    };
    public_tls(&outcome, &scratch)
}

/// Why `host` is not a public DNS name Microsoft could reach, if it is not.
pub fn not_public(host: &str) -> Option<String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        let private = match ip {
            std::net::IpAddr::V4(v4) => {
                v4.is_private()
                    || v4.is_loopback()
                    || v4.is_link_local()
                    || v4.is_unspecified()
                    || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
            }
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        };
        return Some(if private {
            format!(
                "{host} is a private or loopback address, which Microsoft's servers cannot reach"
            )
        } else {
            format!(
                "{host} is an IP address: Microsoft connects by name, and a certificate is made \
                 out to a name"
            )
        });
    }
    if !host.contains('.') {
        return Some(format!(
            "{host} is a single-label name, which only resolves inside your network"
        ));
    }
    let internal = [
        ".local",
        ".localhost",
        ".internal",
        ".lan",
        ".home.arpa",
        ".corp",
    ];
    internal
        .iter()
        .find(|suffix| host.ends_with(*suffix))
        .map(|suffix| format!("{host} ends in {suffix}, which is not a public DNS name"))
}

/// The AUTH mechanisms the server offers after TLS (`PLAIN`, `LOGIN`...).
pub fn auth_mechanisms(report: &ConnectionReport) -> Vec<String> {
    report
        .capabilities
        .iter()
        .filter_map(|c| c.strip_prefix("AUTH=").map(str::to_owned))
        .collect()
}

/// What Microsoft's migration would have trouble with, from a connection test. The
/// codes are stable; `server_throttling` appears when the report carries what the
/// recent password checks suggested (`ConnectionReport::throttling`).
pub fn problems(report: &ConnectionReport) -> Vec<ServerProblem> {
    let mut out = Vec::new();
    match &report.problem {
        Some(ImapProblem::Greeting(why)) if why.contains("BYE") => out.push(problem(
            "server_throttling",
            format!(
                "the server turned the connection away at once ({why}): it may be blocking \
                 this address after failed logins; ask the host to allowlist it, and \
                 Microsoft's addresses too"
            ),
        )),
        Some(
            p @ (ImapProblem::Resolve { .. }
            | ImapProblem::Connect { .. }
            | ImapProblem::Timeout(_)
            | ImapProblem::Greeting(_)
            | ImapProblem::NotImap
            | ImapProblem::NoLogin
            | ImapProblem::Temporary(_)
            | ImapProblem::Protocol(_)),
        ) => out.push(problem(
            "server_unreachable",
            format!("passwords cannot be checked, and Microsoft would fail the same way: {p}"),
        )),
        _ => {}
    }
    match &report.public_tls {
        Some(PublicTls::BelowTls12(what)) => out.push(problem(
            "tls_below_1_2",
            format!(
                "Exchange Online connects with TLS 1.2 or later only, and {what}: ask the host \
                 to enable TLS 1.2 (TLS 1.3 too, ideally)"
            ),
        )),
        Some(PublicTls::Untrusted(why)) => out.push(problem(
            "certificate_not_trusted",
            format!(
                "the certificate is not one the public authorities vouch for: {why}. \
                 Microsoft will refuse it unless the migration endpoint is created with \
                 -AcceptUntrustedCertificates; better, give the server a real certificate \
                 for its name (Let's Encrypt issues them free)"
            ),
        )),
        Some(PublicTls::Trusted(_)) | None => {}
    }
    if let Ok(server) = ImapServer::parse(&report.server)
        && let Some(why) = not_public(&server.host)
    {
        out.push(problem(
            "host_not_public",
            format!(
                "{why}; Microsoft 365 migrates from the internet, so the endpoint needs the \
                 server's public DNS name (the one in users' mail apps, e.g. mail.example.org)"
            ),
        ));
    }
    if let Some(why) = &report.throttling {
        out.push(problem("server_throttling", why.clone()));
    }
    out
}

/// The report's lines about Microsoft 365, for `batch check-imap`, the console and
/// `doctor` (warnings: they never fail the check).
pub(super) fn lines(report: &ConnectionReport) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(PublicTls::Trusted(version)) = &report.public_tls {
        lines.push((
            "Microsoft 365 TLS",
            format!("{version} with a certificate from a public authority: as Microsoft needs"),
        ));
    }
    for p in problems(report) {
        lines.push(("Microsoft 365", format!("WARNING {}: {}", p.code, p.detail)));
    }
    let mechanisms = auth_mechanisms(report);
    if !report.capabilities.is_empty() {
        lines.push((
            "AUTH mechanisms",
            if mechanisms.is_empty() {
                "none announced (LOGIN only)".into()
            } else {
                mechanisms.join(" ")
            },
        ));
    }
    lines.push((
        "Concurrency",
        "Microsoft runs many mailboxes at once from a few addresses, which can trip the same \
         brute-force defences: keep MaxConcurrentMigrations and MaxConcurrentIncrementalSyncs \
         (on the migration endpoint) at or below the connections per address the host allows, \
         and ask the host to allowlist Microsoft's addresses during the move"
            .into(),
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(server: &str) -> ConnectionReport {
        ConnectionReport {
            server: server.into(),
            ..ConnectionReport::default()
        }
    }

    fn codes(report: &ConnectionReport) -> Vec<&'static str> {
        problems(report).into_iter().map(|p| p.code).collect()
    }

    #[test]
    fn hosts_microsoft_cannot_reach_are_named() {
        for host in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.10",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "mail",
            "mail.local",
            "imap.corp",
        ] {
            assert!(not_public(host).is_some(), "{host}");
        }
        assert!(not_public("8.8.8.8").unwrap().contains("IP address"));
        assert_eq!(not_public("mail.example.org"), None);
        assert_eq!(codes(&report("imaps://127.0.0.1:993")), ["host_not_public"]);
        assert!(codes(&report("imaps://mail.example.org:993")).is_empty());
    }

    #[test]
    fn tls_and_certificates_and_throttling_get_their_codes() {
        let mut r = report("imaps://mail.example.org:993");
        r.public_tls = Some(PublicTls::Untrusted("it is self-signed".into()));
        r.throttling = Some("slow".into());
        assert_eq!(codes(&r), ["certificate_not_trusted", "server_throttling"]);
        assert!(
            problems(&r)[0]
                .detail
                .contains("-AcceptUntrustedCertificates")
        );
        r.public_tls = below_tls_1_2(&ImapProblem::Tls(
            "received fatal alert: ProtocolVersion".into(),
        ))
        .map(PublicTls::BelowTls12);
        r.throttling = None;
        assert_eq!(codes(&r), ["tls_below_1_2"]);
        r.public_tls = None;
        r.problem = Some(ImapProblem::Connect {
            host: "mail.example.org".into(),
            port: 993,
            refused: true,
        });
        assert_eq!(codes(&r), ["server_unreachable"]);
        r.problem = Some(ImapProblem::Greeting("it said BYE at once".into()));
        assert_eq!(codes(&r), ["server_throttling"]);
    }

    #[test]
    fn the_lines_name_the_mechanisms_and_the_concurrency_settings() {
        let mut r = report("imaps://mail.example.org:993");
        r.capabilities = vec!["IMAP4REV1".into(), "AUTH=PLAIN".into(), "AUTH=LOGIN".into()];
        r.public_tls = Some(PublicTls::Trusted("TLS 1.3".into()));
        let lines = lines(&r);
        assert!(lines.iter().any(|(_, v)| v == "PLAIN LOGIN"), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|(_, v)| v.contains("MaxConcurrentMigrations")),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|(l, _)| *l == "Microsoft 365"),
            "{lines:?}"
        );
    }
}

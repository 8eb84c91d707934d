//! Certificate trust for the old server: the public authorities, a CA file, or a pinned
//! SHA-256 fingerprint, with a verifier that records what the server presented.

use super::*;

/// The largest CA file accepted.
pub(super) const MAX_CA_FILE_BYTES: usize = 1024 * 1024;

/// Which server certificates are trusted.
#[derive(Clone, PartialEq, Eq)]
pub enum CertTrust {
    /// Certificates from the public authorities (Mozilla's list, built in), for the
    /// server's name.
    PublicAuthorities,
    /// Certificates issued by the authorities in this PEM text, for the server's name.
    CaFile(String),
    /// Exactly the certificate with this SHA-256 fingerprint, whatever its name or issuer.
    Pin([u8; 32]),
}

impl fmt::Debug for CertTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PublicAuthorities => f.write_str("PublicAuthorities"),
            Self::CaFile(_) => f.write_str("CaFile(..)"),
            Self::Pin(pin) => write!(f, "Pin({})", fingerprint_hex(pin)),
        }
    }
}

impl CertTrust {
    /// Checks a CA file's text: PEM certificates that can be trust anchors.
    pub fn ca_file(pem: &str) -> Result<Self, String> {
        if pem.len() > MAX_CA_FILE_BYTES {
            return Err("the CA file is larger than 1 MiB".into());
        }
        root_store_from_pem(pem)?;
        Ok(Self::CaFile(pem.to_owned()))
    }

    /// Parses a SHA-256 fingerprint: 64 hexadecimal digits, colons allowed.
    pub fn pin(text: &str) -> Result<Self, String> {
        // `openssl x509 -fingerprint` prints `sha256 Fingerprint=AB:CD:...`.
        let value = text.rsplit_once('=').map_or(text, |(_, v)| v);
        let digits: String = value
            .trim()
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let digits = digits
            .strip_prefix("sha256/")
            .or_else(|| digits.strip_prefix("SHA256/"))
            .unwrap_or(&digits);
        let mut pin = [0u8; 32];
        let ok = digits.len() == 64
            && digits.is_ascii()
            && pin.iter_mut().enumerate().all(|(i, byte)| {
                u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                    .map(|b| *byte = b)
                    .is_ok()
            });
        if ok {
            Ok(Self::Pin(pin))
        } else {
            Err(format!(
                "{text:?} is not a SHA-256 fingerprint (64 hexadecimal digits, as shown by \
                 `passdrop batch check-imap` or `openssl x509 -noout -fingerprint -sha256`)"
            ))
        }
    }

    /// A short description for people.
    pub fn describe(&self) -> String {
        match self {
            Self::PublicAuthorities => "public certificate authorities".into(),
            Self::CaFile(_) => "the certificate authority from the CA file".into(),
            Self::Pin(pin) => format!("the pinned certificate {}", fingerprint_hex(pin)),
        }
    }
}

/// A fingerprint as colon-separated uppercase hex pairs (the form `openssl` prints).
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(super) fn root_store_from_pem(pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = cert.map_err(|e| format!("certificate {} of the CA file: {e}", i + 1))?;
        roots
            .add(cert)
            .map_err(|e| format!("certificate {} of the CA file: {e}", i + 1))?;
    }
    if roots.is_empty() {
        return Err("the CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(roots)
}

pub(super) fn tls_problem(error: &std::io::Error, host: &str) -> ImapProblem {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return ImapProblem::Tls(error.to_string());
    };
    match tls {
        rustls::Error::InvalidCertificate(e) => ImapProblem::Certificate(match e {
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "it is made out to {} rather than to {host}",
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|p| plain_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::NotValidForName => {
                format!("it is made out to another name than {host}")
            }
            CertificateError::UnknownIssuer => "it is not signed by an authority passdrop trusts \
                (it may be self-signed, or issued by the web host's own authority)"
                .to_owned(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (check this machine's clock)".to_owned()
            }
            CertificateError::ApplicationVerificationFailure => {
                "it is not the pinned certificate (its SHA-256 fingerprint differs)".to_owned()
            }
            CertificateError::Other(e) if format!("{e:?}").contains("CaUsedAsEndEntity") => {
                "it is self-signed (an authority certificate used as the server's own)".to_owned()
            }
            other => format!("{other:?}"),
        }),
        other => ImapProblem::Tls(other.to_string()),
    }
}

/// `DnsName("mail.example.com")` (rustls's wording) as `mail.example.com`.
pub(super) fn plain_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(super) fn tls_connector(
    trust: &CertTrust,
) -> Result<(TlsConnector, Arc<RecordingVerifier>), ImapProblem> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let check = match trust {
        CertTrust::Pin(pin) => Check::Pin(*pin),
        CertTrust::PublicAuthorities | CertTrust::CaFile(_) => {
            let roots = match trust {
                CertTrust::CaFile(pem) => root_store_from_pem(pem).map_err(ImapProblem::Tls)?,
                _ => RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
            };
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| ImapProblem::Tls(e.to_string()))?;
            Check::WebPki(verifier)
        }
    };
    let verifier = Arc::new(RecordingVerifier {
        check,
        algorithms,
        seen: Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapProblem::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    Ok((TlsConnector::from(Arc::new(config)), verifier))
}

#[derive(Debug)]
pub(super) enum Check {
    WebPki(Arc<WebPkiServerVerifier>),
    Pin([u8; 32]),
}

/// Verifies the server certificate (by the public or given authorities, or by its pinned
/// fingerprint) and remembers the fingerprint it saw, so that the admin can be shown it.
/// Handshake signatures are always verified against the certificate's key.
#[derive(Debug)]
pub(super) struct RecordingVerifier {
    check: Check,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Option<[u8; 32]>>,
}

impl RecordingVerifier {
    pub(super) fn seen(&self) -> Option<[u8; 32]> {
        self.seen.lock().ok().and_then(|g| *g)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        match &self.check {
            Check::WebPki(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Check::Pin(pin) => {
                if bool::from(subtle::ConstantTimeEq::ct_eq(&fingerprint[..], &pin[..])) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

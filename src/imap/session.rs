//! One IMAP conversation: connect (implicit TLS or STARTTLS that never falls back to
//! plaintext), read the greeting and capabilities, log in with LOGIN or AUTHENTICATE PLAIN,
//! each step under its own timeout.

use super::*;

/// How long to wait for the TCP connection.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for the TLS handshake.
pub(super) const TLS_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for the greeting, CAPABILITY, STARTTLS and LOGOUT answers.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for the answer to a login. Servers delay answers on purpose after
/// failures from the same address (Dovecot: up to 15 s), and passdrop is one address:
/// the wait is longer than that penalty, so a right password still gets through.
pub(super) const AUTH_TIMEOUT: Duration = Duration::from_secs(25);

/// How long to wait for the answer to LOGOUT.
pub(super) const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// The most connecting may take (address, TLS, greeting, STARTTLS, capabilities).
pub(super) const CONNECT_BUDGET: Duration = Duration::from_secs(8);

/// A connection after the greeting, TLS and a fresh CAPABILITY, before any login.
pub(super) struct Connected {
    client: async_imap::Client<tokio_rustls::client::TlsStream<TcpStream>>,
    capabilities: Vec<String>,
}

impl Connected {
    fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    pub(super) fn login_method(&self) -> Option<LoginMethod> {
        if self.has("AUTH=PLAIN") {
            Some(LoginMethod::AuthenticatePlain)
        } else if self.has("LOGINDISABLED") {
            None
        } else {
            Some(LoginMethod::Login)
        }
    }

    pub(super) async fn logout(mut self) {
        let _ = tokio::time::timeout(
            LOGOUT_TIMEOUT,
            self.client.run_command_and_check_ok("LOGOUT", None),
        )
        .await;
    }

    pub(super) async fn log_in(
        self,
        user: &str,
        password: &SecretString,
        prefer: Option<LoginMethod>,
    ) -> Verdict {
        let (verdict, session) = self.log_in_keeping(user, password, prefer).await;
        if let Some(session) = session {
            session.logout().await;
        }
        verdict
    }

    /// Logs in and, when the server accepts, hands back the logged-in session (for the
    /// mailbox inventory) instead of logging out.
    pub(super) async fn log_in_keeping(
        self,
        user: &str,
        password: &SecretString,
        prefer: Option<LoginMethod>,
    ) -> (Verdict, Option<Authenticated>) {
        let method = match prefer {
            Some(LoginMethod::Login) if !self.has("LOGINDISABLED") => Some(LoginMethod::Login),
            _ => self.login_method(),
        };
        let Some(method) = method else {
            self.logout().await;
            return (Verdict::CouldNotCheck(ImapProblem::NoLogin), None);
        };
        let literal_plus = self.has("LITERAL+");
        let Connected { client, .. } = self;
        let pass = password.expose_secret();
        let result = match method {
            LoginMethod::AuthenticatePlain => {
                let auth = PlainAuth::new(user, pass);
                tokio::time::timeout(AUTH_TIMEOUT, client.authenticate("PLAIN", auth))
                    .await
                    .map(LoginResult::from_session)
            }
            LoginMethod::Login if literal_plus && !(user.is_ascii() && pass.is_ascii()) => {
                // Quoted strings are 7-bit: send 8-bit values as non-synchronising
                // literals, which the server announced it accepts.
                let command = Zeroizing::new(format!(
                    "LOGIN {{{}+}}\r\n{user} {{{}+}}\r\n{pass}",
                    user.len(),
                    pass.len()
                ));
                let mut client = client;
                tokio::time::timeout(AUTH_TIMEOUT, async {
                    match client.run_command_and_check_ok(&command, None).await {
                        Ok(()) => LoginResult::LoggedIn(Authenticated::Client(Box::new(client))),
                        Err(e) => LoginResult::Refused(e, Box::new(client)),
                    }
                })
                .await
            }
            LoginMethod::Login => tokio::time::timeout(AUTH_TIMEOUT, client.login(user, pass))
                .await
                .map(LoginResult::from_session),
        };
        match result {
            Err(_) => (Verdict::NoAnswer(ImapProblem::Timeout("logging in")), None),
            Ok(LoginResult::LoggedIn(authenticated)) => (Verdict::Accepted, Some(authenticated)),
            Ok(LoginResult::Refused(error, mut client)) => {
                let verdict = match error {
                    ImapError::No(text) => classify_no(&text),
                    other => Verdict::NoAnswer(protocol_problem(&other)),
                };
                let _ = tokio::time::timeout(
                    LOGOUT_TIMEOUT,
                    client.run_command_and_check_ok("LOGOUT", None),
                )
                .await;
                (verdict, None)
            }
        }
    }
}

pub(super) type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// How a login attempt ended (async-imap hands the client back on failure).
pub(super) enum LoginResult {
    LoggedIn(Authenticated),
    Refused(ImapError, Box<async_imap::Client<Tls>>),
}

impl LoginResult {
    #[allow(clippy::result_large_err)] // async-imap's own signature
    fn from_session(
        r: Result<async_imap::Session<Tls>, (ImapError, async_imap::Client<Tls>)>,
    ) -> Self {
        match r {
            Ok(session) => Self::LoggedIn(Authenticated::Session(Box::new(session))),
            Err((e, client)) => Self::Refused(e, Box::new(client)),
        }
    }
}

pub(super) enum Authenticated {
    Session(Box<async_imap::Session<Tls>>),
    Client(Box<async_imap::Client<Tls>>),
}

impl Authenticated {
    /// The encrypted stream under the session, for commands async-imap cannot parse the
    /// answers of (the inventory's STATUS SIZE, NAMESPACE).
    pub(super) fn stream(&mut self) -> &mut Tls {
        match self {
            Self::Session(s) => s.get_mut(),
            Self::Client(c) => c.get_mut(),
        }
    }

    pub(super) async fn logout(self) {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, async {
            match self {
                Self::Session(mut s) => s.logout().await,
                Self::Client(mut c) => c.run_command_and_check_ok("LOGOUT", None).await,
            }
        })
        .await;
    }
}

/// SASL PLAIN: `\0user\0password`, sent once the server asks.
pub(super) struct PlainAuth {
    message: Zeroizing<Vec<u8>>,
}

impl PlainAuth {
    fn new(user: &str, password: &str) -> Self {
        let mut message = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 2));
        message.push(0);
        message.extend_from_slice(user.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        Self { message }
    }
}

impl async_imap::Authenticator for PlainAuth {
    type Response = Zeroizing<Vec<u8>>;

    fn process(&mut self, _challenge: &[u8]) -> Self::Response {
        self.message.clone()
    }
}

pub(super) async fn with_timeout<T>(
    limit: Duration,
    stage: &'static str,
    f: impl Future<Output = Result<T, ImapProblem>>,
) -> Result<T, ImapProblem> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or(Err(ImapProblem::Timeout(stage)))
}

/// Connects, encrypts, reads the greeting and the capabilities.
pub(super) async fn connect(
    settings: &ImapSettings,
    report: &mut ConnectionReport,
) -> Result<Connected, ImapProblem> {
    let server = &settings.server;
    let addrs = with_timeout(CONNECT_TIMEOUT, "looking up its name", async {
        tokio::net::lookup_host((server.host.as_str(), server.port))
            .await
            .map(Iterator::collect::<Vec<_>>)
            .map_err(|_| ImapProblem::Resolve {
                host: server.host.clone(),
            })
    })
    .await?;
    // Each address gets its own timeout, so that one that never answers (often IPv6)
    // does not use up the time of the next.
    let mut refused = true;
    let mut any = false;
    let mut connected = None;
    for addr in addrs {
        any = true;
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                connected = Some(s);
                break;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Ok(Err(_)) | Err(_) => refused = false,
        }
    }
    let tcp = match connected {
        Some(tcp) => tcp,
        None if !any => {
            return Err(ImapProblem::Resolve {
                host: server.host.clone(),
            });
        }
        None => {
            return Err(ImapProblem::Connect {
                host: server.host.clone(),
                port: server.port,
                refused,
            });
        }
    };
    report.address = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);

    let tcp = match server.security {
        Security::ImplicitTls => tcp,
        Security::StartTls => {
            let mut client = async_imap::Client::new(tcp);
            read_greeting(&mut client).await?;
            with_timeout(COMMAND_TIMEOUT, "starting TLS", async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match e {
                        ImapError::No(_) | ImapError::Bad(_) => ImapProblem::NoStartTls,
                        other => protocol_problem(&other),
                    })
            })
            .await?;
            // Anything the server (or someone in between) sent after its OK is dropped
            // with the client's buffer, as STARTTLS requires.
            client.into_inner()
        }
    };

    let (connector, verifier) = tls_connector(&settings.trust)?;
    let name = ServerName::try_from(server.host.clone())
        .map_err(|e| ImapProblem::Tls(format!("{:?} is not a valid TLS name: {e}", server.host)))?;
    let handshake = tokio::time::timeout(TLS_TIMEOUT, connector.connect(name, tcp)).await;
    report.certificate_sha256 = verifier.seen();
    let tls = match handshake {
        Err(_) => return Err(ImapProblem::Timeout("the TLS handshake")),
        Ok(Err(e)) => return Err(tls_problem(&e, &server.host)),
        Ok(Ok(tls)) => tls,
    };
    report.tls_version = tls
        .get_ref()
        .1
        .protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."));
    report.trusted_by = Some(settings.trust.describe());

    let mut client = async_imap::Client::new(tls);
    if server.security == Security::ImplicitTls {
        read_greeting(&mut client).await?;
    }
    let capabilities = capabilities(&mut client).await?;
    report.capabilities = capabilities.clone();
    Ok(Connected {
        client,
        capabilities,
    })
}

pub(super) async fn read_greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), ImapProblem>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    with_timeout(COMMAND_TIMEOUT, "waiting for the greeting", async {
        let greeting = client
            .read_response()
            .await
            .map_err(|e| io_problem(&e))?
            .ok_or_else(|| {
                ImapProblem::Protocol("the server closed the connection before greeting".into())
            })?;
        // The greeting's text is never shown: only its status, in passdrop's words.
        match greeting.parsed() {
            Response::Data {
                status: Status::Ok, ..
            } => Ok(()),
            Response::Data {
                status: Status::PreAuth,
                ..
            } => Err(ImapProblem::Greeting(
                "it logged in without a password (PREAUTH), so it cannot check one".into(),
            )),
            Response::Data {
                status: Status::Bye,
                ..
            } => Err(ImapProblem::Greeting(
                "it said BYE at once (busy, or not taking connections from this machine)".into(),
            )),
            Response::Data { status, .. } => Err(ImapProblem::Greeting(format!(
                "it greeted with {} instead of OK",
                format!("{status:?}").to_ascii_uppercase()
            ))),
            _ => Err(ImapProblem::NotImap),
        }
    })
    .await
}

pub(super) async fn capabilities<T>(
    client: &mut async_imap::Client<T>,
) -> Result<Vec<String>, ImapProblem>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    let (tx, rx) = async_channel::unbounded();
    with_timeout(COMMAND_TIMEOUT, "asking for capabilities", async {
        client
            .run_command_and_check_ok("CAPABILITY", Some(tx))
            .await
            .map_err(|e| protocol_problem(&e))
    })
    .await?;
    let mut found = Vec::new();
    while let Ok(response) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = response
            && let Response::Capabilities(list) = data.parsed()
        {
            for c in list {
                let name = match c {
                    Capability::Imap4rev1 => "IMAP4REV1".to_owned(),
                    Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
                    Capability::Atom(a) => a.to_ascii_uppercase(),
                };
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
    }
    Ok(found)
}

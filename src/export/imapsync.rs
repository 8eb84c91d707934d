//! imapsync's batch file: one `host1;user1;password1;host2;user2;password2;extra;` line
//! per user, no header, LF line ends, as imapsync's FAQ loop reads it (read it with
//! `IFS=';' read -r`, so that backslashes stay). host1 is the batch's old server; host2
//! and the destination login form are given at export and never stored; password2 stays
//! empty (give the destination's credentials to imapsync yourself, e.g. `--authuser2`);
//! `extra` carries the old server's port and TLS options.
//!
//! The file has no quoting: a `;` or a line break inside a value cannot be carried. Such
//! a row is refused, by line and EmailAddress, and nothing is written.

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::formats::{Format, SourceServer, refuse_bytes};
use super::{ExportError, M365Row};

/// What no value of the file may hold.
const FORBIDDEN: [(u8, &str); 3] = [
    (b';', "a ';'"),
    (b'\r', "a carriage return"),
    (b'\n', "a line break"),
];

/// The destination login (user2) of each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestLogin {
    /// The EmailAddress.
    Email,
    /// The UserName (the old server's login).
    UserName,
}

impl DestLogin {
    /// The value `--dest-login` and the console take.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::UserName => "user-name",
        }
    }

    /// Reads a form value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Email, Self::UserName]
            .into_iter()
            .find(|l| l.as_str() == value)
    }
}

/// An imapsync export: where from, where to, and which login the destination takes.
#[derive(Debug, Clone)]
pub struct Imapsync {
    source: SourceServer,
    dest_host: String,
    dest_login: DestLogin,
}

impl Imapsync {
    /// Checks the destination host (a host name or address: no spaces, separators or
    /// control characters) and the source server's host.
    pub fn new(
        source: SourceServer,
        dest_host: &str,
        dest_login: DestLogin,
    ) -> Result<Self, ExportError> {
        let dest_host = dest_host.trim();
        for (what, host) in [
            ("the destination host", dest_host),
            ("the old server's host", &source.host),
        ] {
            if host.is_empty() {
                return Err(ExportError::Setting(format!("{what} is empty")));
            }
            if host
                .chars()
                .any(|c| c == ';' || c == '#' || c.is_whitespace() || c.is_control())
            {
                return Err(ExportError::Setting(format!(
                    "{what} must be a host name or address, without spaces, ';' or '#'"
                )));
            }
        }
        Ok(Self {
            source,
            dest_host: dest_host.to_owned(),
            dest_login,
        })
    }

    /// imapsync's options for the old server: its TLS, and its port when not the usual.
    fn extra(&self) -> String {
        let (tls, usual) = if self.source.implicit_tls {
            ("--ssl1", 993)
        } else {
            ("--tls1", 143)
        };
        if self.source.port == usual {
            tls.to_owned()
        } else {
            format!("--port1 {} {tls}", self.source.port)
        }
    }

    /// Renders the lines into a zeroize-on-drop buffer, or refuses the first row it
    /// cannot carry.
    pub fn render(&self, rows: &[M365Row<'_>]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
        let user2 = |r: &M365Row<'_>| match self.dest_login {
            DestLogin::Email => r.email.to_owned(),
            DestLogin::UserName => r.user_name.to_owned(),
        };
        for (i, r) in rows.iter().enumerate() {
            let f = Format::Imapsync;
            refuse_bytes(
                f,
                i,
                r.email,
                "UserName",
                r.user_name.as_bytes(),
                &FORBIDDEN,
            )?;
            refuse_bytes(
                f,
                i,
                r.email,
                "password",
                r.password.expose_secret(),
                &FORBIDDEN,
            )?;
            refuse_bytes(
                f,
                i,
                r.email,
                "EmailAddress",
                r.email.as_bytes(),
                &FORBIDDEN,
            )?;
        }
        let extra = self.extra();
        let fixed = self.source.host.len() + self.dest_host.len() + extra.len() + 8;
        let capacity: usize = rows
            .iter()
            .map(|r| {
                fixed + r.user_name.len() + r.password.expose_secret().len() + 2 * r.email.len()
            })
            .sum();
        let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
        for r in rows {
            for field in [
                self.source.host.as_bytes(),
                r.user_name.as_bytes(),
                r.password.expose_secret(),
                self.dest_host.as_bytes(),
                user2(r).as_bytes(),
                b"",
                extra.as_bytes(),
            ] {
                buf.extend_from_slice(field);
                buf.push(b';');
            }
            buf.push(b'\n');
        }
        Ok(buf)
    }
}

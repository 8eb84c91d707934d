//! Google Workspace Migration for Microsoft Exchange (GWMME): the user list for an IMAP
//! source, one `userid#password, target` line per user, no header, CRLF. `userid` is the
//! IMAP login (UserName), `target` the Google account (EmailAddress).
//!
//! The file has no quoting: a `#` or `,` inside a value, or a line break, cannot be
//! carried, and neither can spaces or tabs at either end of a password (they sit against
//! the separators, where a reader may trim them). Such a row is refused, by line and
//! EmailAddress, and nothing is written.

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::formats::{Format, cannot_carry, refuse_bytes};
use super::{ExportError, M365Row};

/// What no value of the file may hold.
const FORBIDDEN: [(u8, &str); 4] = [
    (b'#', "a '#'"),
    (b',', "a comma"),
    (b'\r', "a carriage return"),
    (b'\n', "a line break"),
];

/// Renders the user list into a zeroize-on-drop buffer, or refuses the first row it
/// cannot carry.
pub fn render(rows: &[M365Row<'_>]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    for (i, r) in rows.iter().enumerate() {
        let password = r.password.expose_secret();
        refuse_bytes(
            Format::Gwmme,
            i,
            r.email,
            "UserName",
            r.user_name.as_bytes(),
            &FORBIDDEN,
        )?;
        refuse_bytes(Format::Gwmme, i, r.email, "password", password, &FORBIDDEN)?;
        refuse_bytes(
            Format::Gwmme,
            i,
            r.email,
            "EmailAddress",
            r.email.as_bytes(),
            &FORBIDDEN,
        )?;
        let edge = |b: Option<&u8>| b.is_some_and(|b| matches!(b, b' ' | b'\t'));
        if edge(password.first()) || edge(password.last()) {
            return Err(cannot_carry(
                Format::Gwmme,
                i,
                r.email,
                "the password starts or ends with a space or tab".to_owned(),
            ));
        }
    }
    let capacity: usize = rows
        .iter()
        .map(|r| r.user_name.len() + r.password.expose_secret().len() + r.email.len() + 8)
        .sum();
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    for r in rows {
        buf.extend_from_slice(r.user_name.as_bytes());
        buf.push(b'#');
        buf.extend_from_slice(r.password.expose_secret());
        buf.extend_from_slice(b", ");
        buf.extend_from_slice(r.email.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    Ok(buf)
}

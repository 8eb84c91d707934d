//! BitTitan MigrationWiz's Bulk Add CSV: `Source Email,Source Login Name,Source Password,
//! Destination Email,Destination Login Name,Destination Password,Flags`. The destination
//! mailbox is the same EmailAddress; its login and password stay empty (MigrationWiz uses
//! the destination's administrative credentials), and so do the flags. UTF-8 without a
//! BOM, CRLF, RFC 4180 quoting only where a field needs it, so every password passdrop
//! accepts can be carried byte-exact.

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::{ExportError, M365Row, push_record};

/// The header, exactly as BitTitan's sample file.
pub const HEADER: [&[u8]; 7] = [
    b"Source Email",
    b"Source Login Name",
    b"Source Password",
    b"Destination Email",
    b"Destination Login Name",
    b"Destination Password",
    b"Flags",
];

/// Renders the Bulk Add CSV into a zeroize-on-drop buffer.
pub fn render(rows: &[M365Row<'_>]) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    // Sized up front (every byte a doubled quote at worst) so the buffer never
    // reallocates and leaves copies of passwords behind in freed memory.
    let capacity: usize = 160
        + rows
            .iter()
            .map(|r| {
                2 * (2 * r.email.len() + r.user_name.len() + r.password.expose_secret().len()) + 24
            })
            .sum::<usize>();
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    push_record(&mut buf, &HEADER);
    for r in rows {
        push_record(
            &mut buf,
            &[
                r.email.as_bytes(),
                r.user_name.as_bytes(),
                r.password.expose_secret(),
                r.email.as_bytes(),
                b"",
                b"",
                b"",
            ],
        );
    }
    Ok(buf)
}

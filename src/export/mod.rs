//! Writing files out: the migration files for the targets admins use (one module per
//! format beside this one) and the mail-merge links file.
//!
//! Every format keeps each password byte-exact; a value a format cannot carry is refused
//! with its line and EmailAddress (never the password), and nothing is written.
//!
//! The Microsoft file is exactly `EmailAddress,UserName,Password` (plus `,UserRoot` when
//! the roster had UserRoot values), UTF-8 without BOM, CRLF line ends, RFC 4180 quoting
//! only where a field needs it, and passwords byte-exact.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretBox};
use zeroize::Zeroizing;

mod formats;
pub mod gwmme;
pub mod imapsync;
pub mod migrationwiz;
pub mod powershell;

pub use formats::{BEFORE_SENDING, Format, SourceServer, Target, closing_checklist, formula_rows};

/// Most rows Microsoft accepts in one migration CSV.
pub const MAX_M365_ROWS: usize = 50_000;
/// Largest migration CSV Microsoft accepts.
pub const MAX_M365_BYTES: usize = 10 * 1000 * 1000;

/// One row of the Microsoft 365 migration CSV.
pub struct M365Row<'a> {
    /// EmailAddress.
    pub email: &'a str,
    /// UserName (the IMAP login).
    pub user_name: &'a str,
    /// The password, exactly as submitted.
    pub password: &'a SecretBox<[u8]>,
    /// UserRoot, when the roster had one.
    pub user_root: Option<&'a str>,
}

/// Why an export file could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// More rows than Microsoft accepts.
    #[error("{0} rows is more than Microsoft's limit of 50,000 per migration file")]
    TooManyRows(usize),
    /// More bytes than Microsoft accepts.
    #[error("the file would be {0} bytes, more than Microsoft's limit of 10 MB")]
    TooLarge(usize),
    /// A value this format cannot carry; named by its line and EmailAddress, never the
    /// password.
    #[error(
        "line {line} of the {format} file ({email}): {why}, which this format cannot carry; \
         nothing was written (change the value, or choose another format)"
    )]
    CannotCarry {
        /// The format's name.
        format: &'static str,
        /// The line of the file the row would be on (1 is the first line).
        line: usize,
        /// The row's EmailAddress.
        email: String,
        /// What is in the way, without the value.
        why: String,
    },
    /// A setting the admin gave that cannot go into the file as it is.
    #[error("{0}; nothing was written")]
    Setting(String),
}

/// Appends one RFC 4180 field, quoted only when it contains a quote, comma, CR or LF.
/// Written by hand (rather than through `csv::Writer`) so that every byte of a password
/// lands only in the caller's zeroize-on-drop buffer, never in a writer's own buffer.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|b| matches!(b, b'"' | b',' | b'\r' | b'\n'))
    {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// Appends one CRLF-terminated record.
fn push_record(out: &mut Vec<u8>, fields: &[&[u8]]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_field(out, field);
    }
    out.extend_from_slice(b"\r\n");
}

/// Renders the Microsoft 365 CSV into a zeroize-on-drop buffer.
pub fn render_m365_csv(
    rows: &[M365Row<'_>],
    with_user_root: bool,
) -> Result<Zeroizing<Vec<u8>>, ExportError> {
    if rows.len() > MAX_M365_ROWS {
        return Err(ExportError::TooManyRows(rows.len()));
    }
    // Sized up front (worst case: every byte a doubled quote) so the buffer never
    // reallocates and leaves copies of passwords behind in freed memory.
    let capacity: usize = 64
        + rows
            .iter()
            .map(|r| {
                2 * (r.email.len()
                    + r.user_name.len()
                    + r.password.expose_secret().len()
                    + r.user_root.map_or(0, str::len))
                    + 16
            })
            .sum::<usize>();
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    if with_user_root {
        push_record(
            &mut buf,
            &[b"EmailAddress", b"UserName", b"Password", b"UserRoot"],
        );
    } else {
        push_record(&mut buf, &[b"EmailAddress", b"UserName", b"Password"]);
    }
    for r in rows {
        let fields: [&[u8]; 4] = [
            r.email.as_bytes(),
            r.user_name.as_bytes(),
            r.password.expose_secret(),
            r.user_root.unwrap_or_default().as_bytes(),
        ];
        push_record(&mut buf, &fields[..if with_user_root { 4 } else { 3 }]);
    }
    if buf.len() > MAX_M365_BYTES {
        return Err(ExportError::TooLarge(buf.len()));
    }
    Ok(buf)
}

/// The first characters that make a spreadsheet read a cell as a formula (OWASP's CSV
/// injection list): `=`, `+`, `-`, `@`, tab and carriage return.
pub const FORMULA_STARTS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// Whether a spreadsheet opening the file would run this value as a formula. The export
/// keeps every password byte-exact (Microsoft needs it so), so passdrop warns instead of
/// changing it; this is the one place that decides what needs the warning.
pub fn formula_risk(value: &[u8]) -> bool {
    value.first().is_some_and(|b| FORMULA_STARTS.contains(b))
}

/// The warning for the admin when passwords of these users (their EmailAddress, never
/// the password) look like formulas.
pub fn formula_warning(emails: &[String]) -> String {
    format!(
        "WARNING: {} {} with =, +, -, @, a tab or a carriage return, which a spreadsheet \
         runs as a formula: {}. Never open this file in Excel, LibreOffice or another \
         spreadsheet program (and never save it from one); upload it to Microsoft as it is.",
        emails.len(),
        if emails.len() == 1 {
            "password starts"
        } else {
            "passwords start"
        },
        emails.join(", ")
    )
}

/// One row of the mail-merge links CSV.
pub struct LinkRow<'a> {
    /// EmailAddress.
    pub email: &'a str,
    /// DisplayName, or empty.
    pub display_name: &'a str,
    /// The full link. Secret until delivered.
    pub link: &'a str,
}

/// The UTF-8 byte order mark: offered for the links CSV only (Excel needs it to read
/// accented names), never written into the Microsoft 365 file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Renders the links CSV (`EmailAddress,DisplayName,Link`) into a zeroize-on-drop buffer,
/// starting with a UTF-8 byte order mark when `excel_bom`.
pub fn render_links_csv(rows: &[LinkRow<'_>], excel_bom: bool) -> Zeroizing<Vec<u8>> {
    let capacity = 64
        + rows
            .iter()
            .map(|r| 2 * (r.email.len() + r.display_name.len() + r.link.len()) + 8)
            .sum::<usize>();
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    if excel_bom {
        buf.extend_from_slice(UTF8_BOM);
    }
    push_record(&mut buf, &[b"EmailAddress", b"DisplayName", b"Link"]);
    for r in rows {
        push_record(
            &mut buf,
            &[
                r.email.as_bytes(),
                r.display_name.as_bytes(),
                r.link.as_bytes(),
            ],
        );
    }
    buf
}

/// A new output file for secret data, created 0600 before any work is done (so a bad
/// path fails early) and removed again unless `finish` (or `fill` then `keep`)
/// succeeds.
pub struct SecretFile {
    path: std::path::PathBuf,
    file: Option<fs::File>,
    /// Where `fill` wrote, until `keep` renames it to `path`.
    partial: Option<std::path::PathBuf>,
}

impl SecretFile {
    /// Creates `path` with mode 0600; never overwrites an existing file.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| {
                if path.exists() {
                    format!(
                        "{} already exists; passdrop never overwrites a file",
                        path.display()
                    )
                } else {
                    format!("could not create {}", path.display())
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            file: Some(file),
            partial: None,
        })
    }

    /// Writes all of `bytes`, syncs them and the file's directory entry to disk, and
    /// keeps the file.
    pub fn finish(mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let Some(mut file) = self.file.take() else {
            anyhow::bail!("{} was already written", self.path.display());
        };
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| sync_parent(&self.path))
            .with_context(|| format!("could not write {}", self.path.display()))?;
        self.path = std::path::PathBuf::new();
        Ok(())
    }

    /// Writes all of `bytes` and syncs them, but not under the file's name yet: beside
    /// it, as `NAME.partial` (0600), which `keep` renames to the name. Until then a
    /// process killed midway leaves no whole file under the name, and dropping this
    /// removes both.
    pub fn fill(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if self.file.take().is_none() {
            anyhow::bail!("{} was already written", self.path.display());
        }
        let mut name = self.path.as_os_str().to_owned();
        name.push(".partial");
        let partial = std::path::PathBuf::from(name);
        // Never over a file (nor through a link): one a killed run left is named.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| {
                if partial.exists() {
                    format!(
                        "{} already exists (left by a run that was stopped?); passdrop never \
                         overwrites a file",
                        partial.display()
                    )
                } else {
                    format!("could not create {}", partial.display())
                }
            })?;
        self.partial = Some(partial);
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", self.path.display()))
    }

    /// Gives what `fill` wrote the file's name, and keeps it.
    pub fn keep(mut self) -> anyhow::Result<()> {
        let Some(partial) = &self.partial else {
            anyhow::bail!("{} was never written", self.path.display());
        };
        fs::rename(partial, &self.path)
            .and_then(|()| sync_parent(&self.path))
            .with_context(|| format!("could not write {}", self.path.display()))?;
        self.partial = None;
        self.path = std::path::PathBuf::new();
        Ok(())
    }
}

/// Syncs the directory holding `path`, so that its entry (a new name, a rename) is on
/// disk too.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::File::open(dir)?.sync_all(),
        _ => fs::File::open(".")?.sync_all(),
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        // Not finished: do not leave an empty or partial file that looks like output.
        if let Some(partial) = &self.partial {
            let _ = fs::remove_file(partial);
        }
        if !self.path.as_os_str().is_empty() {
            self.file = None;
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes secret bytes to a new file created with mode 0600; never overwrites.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    SecretFile::create(path)?.finish(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_secret_file_takes_its_name_only_when_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (path, partial) = (
            dir.path().join("links.csv"),
            dir.path().join("links.csv.partial"),
        );
        // Dropped after `fill`: neither the name nor the partial file is left.
        let mut file = SecretFile::create(&path).unwrap();
        file.fill(b"secret").unwrap();
        assert!(partial.exists() && fs::read(&path).unwrap().is_empty());
        drop(file);
        assert!(!path.exists() && !partial.exists());
        // A partial file a killed run left is named, never replaced; nothing is kept.
        fs::write(&partial, b"old").unwrap();
        let mut file = SecretFile::create(&path).unwrap();
        let refused = file.fill(b"secret").unwrap_err().to_string();
        assert!(refused.contains("already exists"), "{refused}");
        assert!(file.keep().is_err(), "nothing was written to keep");
        assert_eq!(fs::read(&partial).unwrap(), b"old");
        assert!(!path.exists());
        fs::remove_file(&partial).unwrap();
        // `keep` gives the name.
        let mut file = SecretFile::create(&path).unwrap();
        file.fill(b"secret").unwrap();
        file.keep().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert!(!partial.exists());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    fn pw(s: &str) -> SecretBox<[u8]> {
        SecretBox::from(s.as_bytes().to_vec().into_boxed_slice())
    }

    #[test]
    fn the_m365_csv_has_the_exact_header_crlf_and_minimal_quoting() {
        let (a, b) = (pw("plain"), pw("with,comma \"quoted\""));
        let rows = [
            M365Row {
                email: "ann@x.example",
                user_name: "ann",
                password: &a,
                user_root: None,
            },
            M365Row {
                email: "bob@x.example",
                user_name: "bob",
                password: &b,
                user_root: None,
            },
        ];
        let out = render_m365_csv(&rows, false).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "EmailAddress,UserName,Password\r\nann@x.example,ann,plain\r\n\
             bob@x.example,bob,\"with,comma \"\"quoted\"\"\"\r\n"
        );
    }

    #[test]
    fn passwords_are_never_trimmed_or_prefixed() {
        let p = pw(" =SUM(A1) ");
        let rows = [M365Row {
            email: "a@x.example",
            user_name: "a",
            password: &p,
            user_root: None,
        }];
        let out = render_m365_csv(&rows, false).unwrap();
        assert!(out.ends_with(b"a@x.example,a, =SUM(A1) \r\n"));
        assert!(!out.starts_with(b"\xEF\xBB\xBF"));
    }

    #[test]
    fn formula_risk_is_the_owasp_list_of_first_characters() {
        for risky in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=WEBSERVICE(\"x\")",
        ] {
            assert!(formula_risk(risky.as_bytes()), "{risky:?}");
        }
        for safe in ["", "pass=word", " =SUM(A1)", "x-1", "é=", "1+1"] {
            assert!(!formula_risk(safe.as_bytes()), "{safe:?}");
        }
        let warning = formula_warning(&["ann@x.example".to_owned()]);
        assert!(warning.contains("1 password starts"), "{warning}");
        assert!(warning.contains("ann@x.example"), "{warning}");
    }

    #[test]
    fn user_root_is_a_column_only_when_asked() {
        let p = pw("x");
        let rows = [M365Row {
            email: "a@x.example",
            user_name: "a",
            password: &p,
            user_root: Some("/u/a"),
        }];
        let out = render_m365_csv(&rows, true).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "EmailAddress,UserName,Password,UserRoot\r\na@x.example,a,x,/u/a\r\n"
        );
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let big = pw(&"x".repeat(1000));
        let rows: Vec<_> = (0..10_500)
            .map(|_| M365Row {
                email: "a@x.example",
                user_name: "a",
                password: &big,
                user_root: None,
            })
            .collect();
        assert!(matches!(
            render_m365_csv(&rows, false),
            Err(ExportError::TooLarge(_))
        ));
    }

    #[test]
    fn the_links_csv_has_a_bom_only_when_asked() {
        let rows = [LinkRow {
            email: "zoe@x.example",
            display_name: "Zoë Ångström",
            link: "https://p/s/t",
        }];
        let plain = render_links_csv(&rows, false);
        assert!(plain.starts_with(b"EmailAddress,"));
        let excel = render_links_csv(&rows, true);
        assert!(excel.starts_with(b"\xEF\xBB\xBFEmailAddress,"));
        assert_eq!(&excel[3..], plain.as_slice());
    }

    #[test]
    fn secret_files_are_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_secret_file(&path, b"one").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = write_secret_file(&path, b"two").unwrap_err();
        assert!(format!("{err:#}").contains("never overwrites"));
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }
}

//! The export formats, what each needs beside the rows, and what the admin is told
//! around an export (the formula warning's rows, the closing checklist, the reminder
//! before sending links).

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::imapsync::Imapsync;
use super::{ExportError, M365Row, formula_risk};

/// The export formats `passdrop export --format` and the console's export page offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Microsoft 365 IMAP migration CSV (the default).
    M365,
    /// The Microsoft 365 CSV and a PowerShell script beside it that creates the IMAP
    /// endpoint and the migration batch.
    M365PowerShell,
    /// BitTitan MigrationWiz Bulk Add CSV.
    MigrationWiz,
    /// Google Workspace Migration for Microsoft Exchange (GWMME) user list.
    Gwmme,
    /// imapsync's `host1;user1;password1;host2;user2;password2;extra;` lines.
    Imapsync,
}

impl Format {
    /// Every format, in the order they are offered.
    pub const ALL: [Self; 5] = [
        Self::M365,
        Self::M365PowerShell,
        Self::MigrationWiz,
        Self::Gwmme,
        Self::Imapsync,
    ];

    /// The value `--format` and the console's select take.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M365 => "m365",
            Self::M365PowerShell => "m365-powershell",
            Self::MigrationWiz => "migrationwiz",
            Self::Gwmme => "gwmme",
            Self::Imapsync => "imapsync",
        }
    }

    /// Reads a form value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    /// The format in words, for the console's select.
    pub fn label(self) -> &'static str {
        match self {
            Self::M365 => "Microsoft 365 migration CSV",
            Self::M365PowerShell => "Microsoft 365 CSV and PowerShell script",
            Self::MigrationWiz => "BitTitan MigrationWiz Bulk Add CSV",
            Self::Gwmme => "Google Workspace (GWMME) user list",
            Self::Imapsync => "imapsync file",
        }
    }

    /// The password file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::M365 | Self::M365PowerShell | Self::MigrationWiz => "csv",
            Self::Gwmme | Self::Imapsync => "txt",
        }
    }

    /// The line of the file the first row is on (after the header, if any).
    pub fn first_row_line(self) -> usize {
        match self {
            Self::M365 | Self::M365PowerShell | Self::MigrationWiz => 2,
            Self::Gwmme | Self::Imapsync => 1,
        }
    }
}

/// The old server as an export file names it (the batch's IMAP settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceServer {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS from the first byte (`imaps://`); otherwise STARTTLS.
    pub implicit_tls: bool,
}

/// What to render the password file as, with what the format needs beside the rows.
#[derive(Debug, Clone)]
pub enum Target {
    /// The Microsoft 365 CSV (also the CSV beside the PowerShell script).
    M365,
    /// MigrationWiz Bulk Add CSV.
    MigrationWiz,
    /// GWMME user list.
    Gwmme,
    /// imapsync lines.
    Imapsync(Imapsync),
}

impl Target {
    /// The format of the password file.
    pub fn format(&self) -> Format {
        match self {
            Self::M365 => Format::M365,
            Self::MigrationWiz => Format::MigrationWiz,
            Self::Gwmme => Format::Gwmme,
            Self::Imapsync(_) => Format::Imapsync,
        }
    }

    /// Renders the rows into a zeroize-on-drop buffer, or refuses (naming the row) when
    /// a value cannot be carried.
    pub fn render(
        &self,
        rows: &[M365Row<'_>],
        with_user_root: bool,
    ) -> Result<Zeroizing<Vec<u8>>, ExportError> {
        match self {
            Self::M365 => super::render_m365_csv(rows, with_user_root),
            Self::MigrationWiz => super::migrationwiz::render(rows),
            Self::Gwmme => super::gwmme::render(rows),
            Self::Imapsync(target) => target.render(rows),
        }
    }
}

/// Refuses `value` when it holds any of `forbidden`, naming the row and the field.
pub(super) fn refuse_bytes(
    format: Format,
    index: usize,
    email: &str,
    field: &str,
    value: &[u8],
    forbidden: &[(u8, &str)],
) -> Result<(), ExportError> {
    match forbidden.iter().find(|(b, _)| value.contains(b)) {
        Some((_, name)) => Err(cannot_carry(
            format,
            index,
            email,
            format!("the {field} contains {name}"),
        )),
        None => Ok(()),
    }
}

/// The refusal of row `index` (0-based) of a file of `format`.
pub(super) fn cannot_carry(format: Format, index: usize, email: &str, why: String) -> ExportError {
    ExportError::CannotCarry {
        format: format.as_str(),
        line: index + format.first_row_line(),
        email: email.to_owned(),
        why,
    }
}

/// The rows whose password a spreadsheet would run as a formula, as
/// "EmailAddress (line N)" in file order: never the password.
pub fn formula_rows(rows: &[M365Row<'_>], format: Format) -> Vec<String> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| formula_risk(r.password.expose_secret()))
        .map(|(i, r)| format!("{} (line {})", r.email, i + format.first_row_line()))
        .collect()
}

/// What the admin does after an export, in order, for the format written.
pub fn closing_checklist(format: Format) -> Vec<&'static str> {
    let mut steps = Vec::with_capacity(4);
    steps.push(match format {
        Format::M365 | Format::M365PowerShell => {
            "Once the migration is complete, remove the migration batch in Microsoft 365 \
             (Remove-MigrationBatch, or delete it in the Exchange admin center): it keeps \
             every password."
        }
        Format::MigrationWiz => {
            "Once the migration is complete, delete the MigrationWiz project's items (or the \
             project): they keep every password."
        }
        Format::Gwmme | Format::Imapsync => {
            "Once the migration is complete, delete every copy of the file on the machine \
             that ran it: it holds every password."
        }
    });
    steps.push(match format {
        Format::M365PowerShell => {
            "Delete the CSV and the .ps1 from your machine (and from Downloads, the recycle \
             bin and any backup)."
        }
        _ => "Delete the file from your machine (and from Downloads, the recycle bin and any backup).",
    });
    steps.push(
        "Have users change their old passwords, or retire the old mailboxes, so the \
         collected passwords stop opening anything.",
    );
    steps.push("Purge the batch in passdrop (if it has not been purged yet).");
    steps
}

/// The reminder before links go out.
pub const BEFORE_SENDING: &str = "Send links before the MX change: a link sent to the \
    mailbox being moved must arrive while the user can still read that mailbox (or send it \
    to their AlternateEmail).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_reads_back_from_its_name() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("M365"), None);
        assert_eq!(Format::parse(""), None);
    }

    #[test]
    fn the_checklist_ends_with_the_purge_and_names_the_script_when_there_is_one() {
        let steps = closing_checklist(Format::M365PowerShell);
        assert!(steps[0].contains("remove the migration batch"));
        assert!(steps[1].contains(".ps1"));
        assert!(steps[3].starts_with("Purge"));
        assert!(!closing_checklist(Format::M365)[1].contains(".ps1"));
    }
}

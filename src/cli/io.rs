//! The terminal and files: the passphrase, secret output (a 0600 file or stdout), the
//! roster, and the IMAP connection report.

use std::io::{IsTerminal as _, Read as _, Write};
use std::path::Path;

use anyhow::Context as _;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{CliResult, Failure};
use crate::export::SecretFile;
use crate::imap;

/// Reads the passphrase from a file, `PASSDROP_PASSPHRASE`, or a terminal prompt.
pub(super) fn read_passphrase(file: Option<&Path>, confirm: bool) -> Result<SecretString, Failure> {
    read_secret(file, "PASSDROP_PASSPHRASE", "Admin passphrase: ", confirm)
}

/// Reads a new admin passphrase (`admin change-passphrase`) from a file,
/// `PASSDROP_NEW_PASSPHRASE`, or a terminal prompt asked twice.
pub(super) fn read_new_passphrase(file: Option<&Path>) -> Result<SecretString, Failure> {
    read_secret(
        file,
        "PASSDROP_NEW_PASSPHRASE",
        "New admin passphrase: ",
        true,
    )
}

/// Reads a passphrase from a file, the variable `env`, or a terminal prompt (asked
/// twice when `confirm`).
fn read_secret(
    file: Option<&Path>,
    env: &str,
    prompt: &str,
    confirm: bool,
) -> Result<SecretString, Failure> {
    if let Some(path) = file {
        let raw =
            Zeroizing::new(std::fs::read(path).with_context(|| {
                format!("could not read the passphrase file {}", path.display())
            })?);
        let text = std::str::from_utf8(&raw)
            .map_err(|_| anyhow::anyhow!("the passphrase file {} is not UTF-8", path.display()))?;
        // One trailing line end is the file's, not the passphrase's.
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(Failure::Usage(format!(
                "the passphrase file {} is empty",
                path.display()
            )));
        }
        return Ok(SecretString::from(text.to_owned()));
    }
    if let Ok(value) = std::env::var(env) {
        return Ok(SecretString::from(value));
    }
    if !std::io::stdin().is_terminal() {
        let option = env
            .trim_start_matches("PASSDROP_")
            .to_lowercase()
            .replace('_', "-");
        return Err(Failure::Usage(format!(
            "no passphrase given: use --{option}-file FILE or {env}, or run in a terminal"
        )));
    }
    let first = SecretString::from(
        rpassword::prompt_password(prompt).context("could not read the passphrase")?,
    );
    if confirm {
        let second = SecretString::from(
            rpassword::prompt_password("Type it again: ")
                .context("could not read the passphrase")?,
        );
        if !crate::crypto::secrets_equal(&first, &second) {
            return Err(Failure::Usage(
                "the two passphrases differ; nothing was changed".to_owned(),
            ));
        }
    }
    Ok(first)
}

/// Where secret output goes: a new 0600 file (created before any work, removed again if
/// the command fails) or stdout.
pub(super) enum Output {
    /// A new file, created 0600.
    File(SecretFile),
    /// Standard output.
    Stdout,
}

impl Output {
    /// Creates the file now, so a command fails before its work if it cannot write.
    pub(super) fn open(path: Option<&Path>) -> Result<Self, Failure> {
        Ok(match path {
            Some(path) => Self::File(SecretFile::create(path)?),
            None => Self::Stdout,
        })
    }

    /// Writes `bytes` and closes the file (or flushes stdout).
    pub(super) fn finish(self, bytes: &[u8]) -> CliResult {
        match self {
            Self::File(file) => file.finish(bytes)?,
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .context("could not write to stdout")?;
            }
        }
        Ok(())
    }
}

/// Reads the roster CSV from a file, or from stdin for `-`.
pub(super) fn read_roster(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("could not read the roster from stdin")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("could not read the roster {}", path.display()))
}

/// Writes an IMAP connection report, one aligned `label: value` line each.
pub(super) fn print_imap_report(out: &mut dyn Write, report: &imap::ConnectionReport) {
    for (label, value) in report.lines() {
        let _ = writeln!(out, "{:<20} {value}", format!("{label}:"));
    }
}

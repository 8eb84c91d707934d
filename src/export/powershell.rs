//! The PowerShell script written beside the Microsoft 365 CSV (`--format
//! m365-powershell`): it creates the IMAP migration endpoint from the batch's old server
//! and a migration batch from the CSV, in Exchange Online PowerShell.
//!
//! The script never holds a password or anything a link holder typed: only values the
//! admin set (the batch name, the old server, the CSV's file name, the concurrency, the
//! folders to leave out). Each is a PowerShell single-quoted string, in which nothing is
//! expanded (`$(...)`, backticks, double quotes are literal); the only special characters
//! are the single quotes, `'` and the typographic ‘ ’ ‚ ‛ that PowerShell also takes for
//! one, and each is doubled. A value with a control character or a line separator is
//! refused. The file starts with a UTF-8 byte order mark: without it Windows PowerShell
//! 5.1 reads a script as the system's ANSI code page, where the bytes of some UTF-8
//! letters read as ‘ or ’ and would end a string early.

use super::ExportError;
use super::formats::SourceServer;

/// The characters PowerShell ends a single-quoted string with.
pub const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// The UTF-8 byte order mark the script starts with.
pub const BOM: &str = "\u{FEFF}";

/// Microsoft's default for an IMAP endpoint's concurrent migrations; the script sets it
/// explicitly.
pub const DEFAULT_MAX_CONCURRENT: u32 = 20;

/// The most concurrent migrations `--max-concurrent` accepts.
pub const MAX_CONCURRENT: u32 = 100;

/// `value` as a PowerShell single-quoted string literal, or why it cannot be one.
pub fn quote(what: &str, value: &str) -> Result<String, ExportError> {
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(ExportError::Setting(format!(
            "{what} contains a control character (U+{:04X}), which the PowerShell script \
             cannot carry",
            u32::from(c)
        )));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

/// What the script is made from: only values the admin set.
#[derive(Debug, Clone)]
pub struct Script<'a> {
    /// The passdrop batch's name (the endpoint and the migration batch are named after
    /// it).
    pub batch_name: &'a str,
    /// The old server.
    pub source: &'a SourceServer,
    /// The CSV's file name, in the script's folder.
    pub csv_file_name: &'a str,
    /// The endpoint's concurrent migrations (and incremental syncs).
    pub max_concurrent: u32,
    /// Folders to leave out of the migration (`-ExcludeFolders`).
    pub exclude_folders: &'a [String],
}

/// Renders the script (with its byte order mark and CRLF line ends).
pub fn render_script(s: &Script<'_>) -> Result<String, ExportError> {
    if !(1..=MAX_CONCURRENT).contains(&s.max_concurrent) {
        return Err(ExportError::Setting(format!(
            "the concurrency must be between 1 and {MAX_CONCURRENT}"
        )));
    }
    if s.csv_file_name.contains(['/', '\\']) || s.csv_file_name.is_empty() {
        return Err(ExportError::Setting(
            "the CSV's file name must be a name without a folder".to_owned(),
        ));
    }
    let csv = quote("the CSV's file name", s.csv_file_name)?;
    let endpoint = quote("the batch name", &format!("passdrop {} IMAP", s.batch_name))?;
    let batch = quote("the batch name", &format!("passdrop {}", s.batch_name))?;
    let host = quote("the old server's host", &s.source.host)?;
    let security = if s.source.implicit_tls {
        "'Ssl'"
    } else {
        "'Tls'"
    };
    let folders = s
        .exclude_folders
        .iter()
        .map(|f| quote("a folder name", f))
        .collect::<Result<Vec<_>, _>>()?;
    let (port, n) = (s.source.port, s.max_concurrent);
    let folders = folders.join(", ");
    let lines = [
        "# Made by passdrop: creates the IMAP migration endpoint and the migration batch in",
        "# Microsoft 365 from the CSV beside this script. It holds no password: those are only",
        "# in the CSV. Run it in Exchange Online PowerShell (Connect-ExchangeOnline first),",
        "# then start the batch with Start-MigrationBatch.",
        "# Afterwards: remove the migration batch once it is complete (Remove-MigrationBatch;",
        "# it keeps every password), delete the CSV and this script, purge the batch in passdrop.",
        "$ErrorActionPreference = 'Stop'",
        &format!("$csvPath = Join-Path -Path $PSScriptRoot -ChildPath {csv}"),
        &format!("$endpointName = {endpoint}"),
        &format!("$batchName = {batch}"),
        &format!("$excludeFolders = @({folders})"),
        &format!(
            "New-MigrationEndpoint -IMAP -Name $endpointName -RemoteServer {host} -Port {port} \
             -Security {security} -MaxConcurrentMigrations {n} -MaxConcurrentIncrementalSyncs {n}"
        ),
        "$batchArgs = @{",
        "    Name = $batchName",
        "    SourceEndpoint = $endpointName",
        "    CSVData = [System.IO.File]::ReadAllBytes($csvPath)",
        "}",
        "if ($excludeFolders.Count -gt 0) { $batchArgs['ExcludeFolders'] = $excludeFolders }",
        "New-MigrationBatch @batchArgs",
        "Write-Host ('Created the migration batch: ' + $batchName)",
    ];
    let mut out = String::from(BOM);
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PowerShell tokenizer for what the script uses: `#` comments to the end of the
    /// line and single-quoted strings (any of the five quote characters ends one; two in
    /// a row are one literal, the second). Returns the code with every literal replaced
    /// by `'?'`, and the literals' values. A double quote or here-string outside a
    /// literal fails: the script must not use any.
    fn tokenize(script: &str) -> (String, Vec<String>) {
        let mut code = String::new();
        let mut literals = Vec::new();
        let mut chars = script.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '#' {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            } else if SINGLE_QUOTES.contains(&c) {
                let mut value = String::new();
                loop {
                    let c = chars.next().expect("an unterminated string");
                    if SINGLE_QUOTES.contains(&c) {
                        match chars.peek() {
                            Some(n) if SINGLE_QUOTES.contains(n) => {
                                value.push(*n);
                                chars.next();
                            }
                            _ => break,
                        }
                    } else {
                        value.push(c);
                    }
                }
                code.push_str("'?'");
                literals.push(value);
            } else {
                assert!(
                    !matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}'),
                    "a double-quoted string outside a literal"
                );
                code.push(c);
            }
        }
        (code, literals)
    }

    fn source(host: &str) -> SourceServer {
        SourceServer {
            host: host.to_owned(),
            port: 993,
            implicit_tls: true,
        }
    }

    fn script(
        name: &str,
        host: &str,
        csv: &str,
        folders: &[String],
    ) -> Result<String, ExportError> {
        render_script(&Script {
            batch_name: name,
            source: &source(host),
            csv_file_name: csv,
            max_concurrent: 20,
            exclude_folders: folders,
        })
    }

    #[test]
    fn hostile_values_stay_literal() {
        let hostile = [
            "$(Remove-Item -Recurse C:\\)",
            "`$env:USERPROFILE`n",
            "it's ‘quoted’ ‚low‛ and \"double\" “curly”",
            "a; Invoke-Expression 'x'",
            "'; calc; '",
            "''",
            "‘",
            "@{x=1} | % { $_ } # not a comment",
            "Zoë Ångström 東京",
        ];
        let benign = script("b", "h", "c.csv", &["f".to_owned()]).unwrap();
        let (skeleton, _) = tokenize(&benign);
        for value in hostile {
            let folders = vec![value.to_owned(), "Other".to_owned()];
            let csv = format!("{}.csv", value.replace(['/', '\\'], "_"));
            let text = script(value, value, &csv, &folders).unwrap();
            assert!(text.starts_with(BOM));
            let (code, literals) = tokenize(&text);
            // Same code as with plain values, one literal more for the second folder:
            // nothing of the value became code.
            assert_eq!(
                code.replacen("@('?', '?')", "@('?')", 1),
                skeleton,
                "{value:?}"
            );
            assert!(
                literals.contains(&value.to_owned()),
                "{value:?}: {literals:?}"
            );
            assert!(literals.contains(&format!("passdrop {value}")), "{value:?}");
            assert!(literals.contains(&csv), "{value:?}");
        }
    }

    #[test]
    fn control_characters_and_line_breaks_are_refused() {
        for bad in [
            "a\nb",
            "a\rb",
            "a\u{0}b",
            "tab\there",
            "a\u{2028}b",
            "a\u{85}b",
        ] {
            let err = script(bad, "h", "c.csv", &[]).unwrap_err();
            assert!(err.to_string().contains("control character"), "{err}");
            assert!(script("b", bad, "c.csv", &[]).is_err());
            assert!(script("b", "h", "c.csv", &[bad.to_owned()]).is_err());
        }
        assert!(script("b", "h", "dir/c.csv", &[]).is_err());
        assert!(script("b", "h", "..\\c.csv", &[]).is_err());
    }

    #[test]
    fn the_script_names_the_endpoint_the_port_the_security_and_the_concurrency() {
        let text = render_script(&Script {
            batch_name: "Spring",
            source: &SourceServer {
                host: "imap.example.org".to_owned(),
                port: 143,
                implicit_tls: false,
            },
            csv_file_name: "spring.csv",
            max_concurrent: 7,
            exclude_folders: &[],
        })
        .unwrap();
        assert!(text.contains(
            "New-MigrationEndpoint -IMAP -Name $endpointName -RemoteServer 'imap.example.org' \
             -Port 143 -Security 'Tls' -MaxConcurrentMigrations 7 -MaxConcurrentIncrementalSyncs 7\r\n"
        ));
        assert!(text.contains("[System.IO.File]::ReadAllBytes($csvPath)"));
        assert!(text.contains("$excludeFolders = @()\r\n"));
        assert!(text.contains("-ChildPath 'spring.csv'\r\n"));
        for bad in [0, MAX_CONCURRENT + 1] {
            let mut s = Script {
                batch_name: "b",
                source: &source("h"),
                csv_file_name: "c.csv",
                max_concurrent: bad,
                exclude_folders: &[],
            };
            assert!(render_script(&s).is_err());
            s.max_concurrent = 1;
            assert!(render_script(&s).is_ok());
        }
    }
}

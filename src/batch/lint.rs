//! Submission lint: what about a password will trouble the migration, worked out once, at
//! submission (the only time the server sees the password in the clear), as stable codes.
//!
//! Only the codes are stored (with the user's rows, gone at purge); nothing else about
//! the password, not its length, not which character. `lint_password` is a pure function
//! so that the export formats can reuse it to refuse a value a format cannot carry.

use std::fmt;

/// One thing about a password that can trouble a migration. The codes are stable: they
/// are stored, and the readiness report and its JSON show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintCode {
    /// Starts with `=`, `+`, `-`, `@`, a tab or a carriage return: a spreadsheet runs it
    /// as a formula, so the CSV must never be opened in one.
    FormulaLikePassword,
    /// Starts or ends with a space (or a tab): easy to lose when a file is edited by hand
    /// or a value is trimmed.
    SpaceAtEdge,
    /// Holds a character outside ASCII: some migration tools and servers read passwords
    /// in another encoding.
    NonAsciiPassword,
    /// Holds `,`, `;` or `#`: a separator of a format that cannot quote it.
    SeparatorInPassword,
}

impl LintCode {
    /// Every code, in the order reports list them.
    pub const ALL: [Self; 4] = [
        Self::FormulaLikePassword,
        Self::SpaceAtEdge,
        Self::NonAsciiPassword,
        Self::SeparatorInPassword,
    ];

    /// The stored and reported code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FormulaLikePassword => "formula_like_password",
            Self::SpaceAtEdge => "space_at_edge",
            Self::NonAsciiPassword => "non_ascii_password",
            Self::SeparatorInPassword => "separator_in_password",
        }
    }

    /// Reads a stored code; `None` for one this version does not know.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// What it means for the admin, in plain words (never anything of the password).
    pub fn detail(self) -> &'static str {
        match self {
            Self::FormulaLikePassword => {
                "the password starts with =, +, -, @, a tab or a carriage return: a \
                 spreadsheet would run it as a formula, so never open or save the export in \
                 Excel or LibreOffice; upload it as it is"
            }
            Self::SpaceAtEdge => {
                "the password starts or ends with a space: the export keeps it byte-exact, \
                 but a tool or a hand edit that trims values would break it"
            }
            Self::NonAsciiPassword => {
                "the password holds characters outside ASCII: the export writes UTF-8, but \
                 some servers and migration tools read passwords in another encoding"
            }
            Self::SeparatorInPassword => {
                "the password holds , ; or #: the Microsoft 365 and MigrationWiz CSVs quote \
                 it, but formats that cannot quote (imapsync's ';' lines, GWMME's '#' \
                 lines) cannot carry it"
            }
        }
    }

    /// The export formats in which this code matters (by their `--format` names).
    pub fn formats(self) -> &'static [&'static str] {
        match self {
            // Every CSV a spreadsheet can open.
            Self::FormulaLikePassword => &["m365", "migrationwiz"],
            Self::SpaceAtEdge | Self::NonAsciiPassword => &[
                "m365",
                "m365-powershell",
                "migrationwiz",
                "gwmme",
                "imapsync",
            ],
            // ';' separates imapsync's fields, '#' GWMME's user from password, and ','
            // GWMME's password from the target; neither can quote.
            Self::SeparatorInPassword => &["gwmme", "imapsync"],
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The separators `SeparatorInPassword` looks for.
pub const SEPARATORS: [char; 3] = [',', ';', '#'];

/// The lint codes of a password, in `LintCode::ALL` order, each at most once.
pub fn lint_password(password: &str) -> Vec<LintCode> {
    let mut codes = Vec::new();
    if password.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        codes.push(LintCode::FormulaLikePassword);
    }
    let edge = |c: char| c == ' ' || c == '\t';
    if password.starts_with(edge) || password.ends_with(edge) {
        codes.push(LintCode::SpaceAtEdge);
    }
    if !password.is_ascii() {
        codes.push(LintCode::NonAsciiPassword);
    }
    if password.contains(SEPARATORS) {
        codes.push(LintCode::SeparatorInPassword);
    }
    codes
}

/// Codes as stored: space-separated.
pub fn codes_to_stored(codes: &[LintCode]) -> String {
    codes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stored codes read back; unknown ones are skipped.
pub fn codes_from_stored(stored: &str) -> Vec<LintCode> {
    stored
        .split_whitespace()
        .filter_map(LintCode::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_password_has_no_codes() {
        for p in ["Right horse 1", "pass=word", "x-1", "a b", "1+1"] {
            assert!(lint_password(p).is_empty(), "{p:?}");
        }
    }

    #[test]
    fn formula_like_passwords_are_those_a_spreadsheet_runs() {
        for p in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                lint_password(p).contains(&LintCode::FormulaLikePassword),
                "{p:?}"
            );
        }
        for p in [" =1", "a=1", "é="] {
            assert!(
                !lint_password(p).contains(&LintCode::FormulaLikePassword),
                "{p:?}"
            );
        }
    }

    #[test]
    fn spaces_count_only_at_either_edge() {
        assert_eq!(lint_password(" lead"), [LintCode::SpaceAtEdge]);
        assert_eq!(lint_password("trail "), [LintCode::SpaceAtEdge]);
        assert_eq!(lint_password("in side"), []);
        // A leading tab is both formula-like and at the edge.
        assert_eq!(
            lint_password("\tx"),
            [LintCode::FormulaLikePassword, LintCode::SpaceAtEdge]
        );
    }

    #[test]
    fn non_ascii_and_separators_are_found_anywhere() {
        assert_eq!(lint_password("pässwort"), [LintCode::NonAsciiPassword]);
        for p in ["a,b", "a;b", "a#b", "#", ";x;"] {
            assert_eq!(lint_password(p), [LintCode::SeparatorInPassword], "{p:?}");
        }
        assert_eq!(
            lint_password("=é, "),
            [
                LintCode::FormulaLikePassword,
                LintCode::SpaceAtEdge,
                LintCode::NonAsciiPassword,
                LintCode::SeparatorInPassword
            ]
        );
    }

    #[test]
    fn codes_round_trip_through_their_stored_form() {
        let codes = LintCode::ALL.to_vec();
        let stored = codes_to_stored(&codes);
        assert_eq!(
            stored,
            "formula_like_password space_at_edge non_ascii_password separator_in_password"
        );
        assert_eq!(codes_from_stored(&stored), codes);
        assert_eq!(codes_from_stored(""), []);
        assert_eq!(
            codes_from_stored("space_at_edge from_a_later_version"),
            [LintCode::SpaceAtEdge]
        );
        for c in LintCode::ALL {
            assert!(!c.detail().is_empty() && !c.formats().is_empty());
        }
    }
}

//! Reading a roster CSV: one row per mailbox, validated whole before anything is created.
//!
//! A header row is required; columns are matched case-insensitively in any order:
//! `EmailAddress` (required), `UserName` (default: EmailAddress), `DisplayName`,
//! `AlternateEmail`, `UserRoot`, `Language` (a BCP 47 tag of a language passdrop speaks,
//! any case). A UTF-8 BOM is accepted, and so is a Microsoft migration
//! CSV with an empty `Password` column (a filled-in one is refused). Every problem is
//! reported with its line number.

mod lines;
mod seen;

use lines::LineCounter;
use seen::SeenFolded;
use std::collections::BTreeMap;
use std::fmt;

/// Most rows a roster may have (Microsoft's limit for one migration CSV).
pub const MAX_ROWS: usize = 50_000;
/// Longest accepted email address (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest accepted value of any other field.
const MAX_FIELD_LEN: usize = 256;
/// Stop collecting after this many problems: the admin has enough to go on.
const MAX_REPORTED_PROBLEMS: usize = 100;

/// One valid roster row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// EmailAddress: the mailbox being moved.
    pub email: String,
    /// UserName: the IMAP login (defaults to EmailAddress).
    pub user_name: String,
    /// DisplayName, if given.
    pub display_name: Option<String>,
    /// AlternateEmail, if given: where to send the link.
    pub alternate_email: Option<String>,
    /// UserRoot, if given (Microsoft's field for some IMAP servers).
    pub user_root: Option<String>,
    /// Language, if given: a BCP 47 tag in canonical case (`fr-CA`), of a language
    /// passdrop speaks; the pages and the default email use it.
    pub language: Option<String>,
}

/// A valid roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// The rows, in file order.
    pub entries: Vec<RosterEntry>,
}

impl Roster {
    /// Whether any row had a UserRoot value (the export then carries that column).
    pub fn has_user_root(&self) -> bool {
        self.entries.iter().any(|e| e.user_root.is_some())
    }
}

/// One problem found in a roster, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterProblem {
    /// Line number (1 is the header), or `None` for the file as a whole.
    pub line: Option<u64>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for RosterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem found in a roster. Nothing is created when there is any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RosterError {
    /// The problems, in file order.
    pub problems: Vec<RosterProblem>,
    /// Whether more problems were found than listed.
    pub truncated: bool,
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "the roster has {}{} problem{}; nothing was created",
            if self.truncated { "more than " } else { "" },
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        if self.truncated {
            write!(f, "\n  (further problems not listed)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Email,
    UserName,
    DisplayName,
    AlternateEmail,
    UserRoot,
    Language,
    Password,
}

impl Column {
    fn from_header(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "emailaddress" => Self::Email,
            "username" => Self::UserName,
            "displayname" => Self::DisplayName,
            "alternateemail" => Self::AlternateEmail,
            "userroot" => Self::UserRoot,
            "language" => Self::Language,
            "password" => Self::Password,
            _ => return None,
        })
    }
}

struct Problems {
    list: Vec<RosterProblem>,
    truncated: bool,
}

impl Problems {
    fn add(&mut self, line: Option<u64>, message: impl Into<String>) {
        if self.list.len() < MAX_REPORTED_PROBLEMS {
            self.list.push(RosterProblem {
                line,
                message: message.into(),
            });
        } else {
            self.truncated = true;
        }
    }

    fn into_error(self) -> RosterError {
        RosterError {
            problems: self.list,
            truncated: self.truncated,
        }
    }
}

/// Checks the shape of an email address: one `@`, non-empty local part and a dotted-or-not
/// domain, no spaces or control characters. Deliverability is not judged.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.is_empty() {
        return Some("EmailAddress is empty");
    }
    if email.len() > MAX_EMAIL_LEN {
        return Some("EmailAddress is longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("EmailAddress contains a space or control character");
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Some("EmailAddress must contain exactly one @");
    };
    if local.is_empty() || domain.is_empty() {
        return Some("EmailAddress needs text on both sides of the @");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Some("EmailAddress has a malformed domain");
    }
    if email.contains(['"', ',', ';', '<', '>', '(', ')', '[', ']', '\\']) {
        return Some("EmailAddress contains a character that is not allowed in a mailbox");
    }
    None
}

/// Spreadsheet programs run cells starting with these as formulas; a roster value that
/// starts with one would turn the links CSV into an attack on whoever opens it.
fn looks_like_formula(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn field_problem(column: &str, value: &str) -> Option<String> {
    if value.len() > MAX_FIELD_LEN {
        return Some(format!(
            "{column} is longer than {MAX_FIELD_LEN} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Some(format!("{column} contains a control character"));
    }
    if column == "UserRoot" && value.contains(['%', '*']) {
        return Some(format!(
            "{column} contains % or *, which IMAP reads as wildcards"
        ));
    }
    if looks_like_formula(value) {
        return Some(format!(
            "{column} starts with {:?}, which spreadsheets treat as a formula",
            value.chars().next().unwrap_or(' ')
        ));
    }
    None
}

/// Parses and validates a roster. Either every row is valid and the roster is returned,
/// or every problem found is returned with its line number.
pub fn parse_roster(input: &[u8]) -> Result<Roster, RosterError> {
    let mut problems = Problems {
        list: Vec::new(),
        truncated: false,
    };
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input.iter().all(u8::is_ascii_whitespace) {
        problems.add(
            None,
            "the roster is empty: it needs a header row and at least one row",
        );
        return Err(problems.into_error());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.byte_records();

    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            problems.add(Some(1), format!("the header row could not be read: {e}"));
            return Err(problems.into_error());
        }
        None => {
            problems.add(None, "the roster is empty: it needs a header row");
            return Err(problems.into_error());
        }
    };
    let mut lines = LineCounter::new(input);
    let header_line = header.position().map_or(1, |p| lines.line_at(p.byte()));
    // Looked up six times a row: a few entries compared in order, nothing hashed.
    let mut columns: BTreeMap<Column, usize> = BTreeMap::new();
    for (index, raw) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            problems.add(Some(header_line), "the header row is not valid UTF-8");
            continue;
        };
        match Column::from_header(name) {
            Some(col) => {
                if columns.insert(col, index).is_some() {
                    problems.add(
                        Some(header_line),
                        format!("column {:?} appears twice", name.trim()),
                    );
                }
            }
            None => problems.add(
                Some(header_line),
                format!(
                    "unknown column {:?}; the columns are EmailAddress, UserName, DisplayName, \
                     AlternateEmail, UserRoot, Language (and an empty Password)",
                    name.trim()
                ),
            ),
        }
    }
    if !columns.contains_key(&Column::Email) {
        problems.add(Some(header_line), "the header has no EmailAddress column");
    }
    if !problems.list.is_empty() {
        return Err(problems.into_error());
    }

    let width = header.len();
    // Sized once from the lines that can hold a row (`a@b`): blank lines reserve nothing.
    let rows_at_most = MAX_ROWS.min(input.split(|&b| b == b'\n').filter(|l| l.len() > 2).count());
    let mut entries = Vec::with_capacity(rows_at_most);
    let mut seen_emails = SeenFolded::with_capacity(rows_at_most);
    let users = usize::from(columns.contains_key(&Column::UserName)) * rows_at_most;
    let mut seen_users = SeenFolded::with_capacity(users);
    let mut rows = 0usize;
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| lines.line_at(p.byte()));
                problems.add(
                    line,
                    format!("this row could not be read as CSV: {}", e.kind_summary()),
                );
                // The reader cannot resynchronise after a malformed quote; stop here.
                break;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        if record.iter().all(<[u8]>::is_empty) {
            continue; // a row of empty cells, as spreadsheets export at the end
        }
        rows += 1;
        if rows > MAX_ROWS {
            problems.add(
                Some(line),
                format!("the roster has more than {MAX_ROWS} rows (Microsoft's limit per migration batch)"),
            );
            break;
        }
        if record.len() != width {
            problems.add(
                Some(line),
                format!(
                    "this row has {} fields but the header has {width}",
                    record.len()
                ),
            );
            continue;
        }
        let mut text = |col: Column, label: &str| -> Result<Option<String>, ()> {
            let Some(&i) = columns.get(&col) else {
                return Ok(None);
            };
            let raw = record.get(i).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(s) => Ok(Some(s.trim().to_owned())),
                Err(_) => {
                    problems.add(
                        Some(line),
                        format!("{label} is not valid UTF-8 (save the file as UTF-8)"),
                    );
                    Err(())
                }
            }
        };
        let (
            Ok(email),
            Ok(user_name),
            Ok(display_name),
            Ok(alternate_email),
            Ok(user_root),
            Ok(language),
        ) = (
            text(Column::Email, "EmailAddress"),
            text(Column::UserName, "UserName"),
            text(Column::DisplayName, "DisplayName"),
            text(Column::AlternateEmail, "AlternateEmail"),
            text(Column::UserRoot, "UserRoot"),
            text(Column::Language, "Language"),
        )
        else {
            continue;
        };
        let email = email.unwrap_or_default();
        let mut row_ok = true;
        if let Some(&i) = columns.get(&Column::Password)
            && !record.get(i).unwrap_or_default().is_empty()
        {
            // Never echo the value: it may be a real password.
            problems.add(
                Some(line),
                "the Password column must be empty: passdrop collects passwords itself \
                 (delete this file's passwords from wherever it is stored)",
            );
            row_ok = false;
        }
        if let Some(p) = email_problem(&email) {
            problems.add(Some(line), format!("{p} ({email:?})"));
            row_ok = false;
        } else if let Some(p) = field_problem("EmailAddress", &email) {
            problems.add(Some(line), p);
            row_ok = false;
        }
        let user_name = match user_name {
            None => email.clone(),
            Some(u) if u.is_empty() => {
                problems.add(
                    Some(line),
                    "UserName is empty (leave the column out to use EmailAddress)",
                );
                row_ok = false;
                u
            }
            Some(u) => u,
        };
        let optional = |v: Option<String>| v.filter(|s| !s.is_empty());
        let display_name = optional(display_name);
        let alternate_email = optional(alternate_email);
        let user_root = optional(user_root);
        let language = match optional(language).map(|l| crate::i18n::normalise_roster_tag(&l)) {
            None => None,
            Some(Ok(tag)) => Some(tag),
            Some(Err(p)) => {
                problems.add(Some(line), p);
                row_ok = false;
                None
            }
        };
        let explicit_user = columns
            .contains_key(&Column::UserName)
            .then_some(&user_name);
        for (label, value) in [
            ("UserName", explicit_user),
            ("DisplayName", display_name.as_ref()),
            ("UserRoot", user_root.as_ref()),
        ] {
            if let Some(p) = value.and_then(|v| field_problem(label, v)) {
                problems.add(Some(line), p);
                row_ok = false;
            }
        }
        if let Some(alt) = &alternate_email
            && let Some(p) = email_problem(alt)
        {
            problems.add(Some(line), format!("Alternate{p} ({alt:?})"));
            row_ok = false;
        }
        if !email.is_empty()
            && let Some(first) = seen_emails.insert(&email, line)
        {
            problems.add(
                Some(line),
                format!("EmailAddress {email:?} already appears on line {first}"),
            );
            row_ok = false;
        }
        // Without a UserName column it is the address, already checked above.
        if columns.contains_key(&Column::UserName)
            && !user_name.is_empty()
            && let Some(first) = seen_users.insert(&user_name, line)
        {
            problems.add(
                Some(line),
                format!("UserName {user_name:?} already appears on line {first}"),
            );
            row_ok = false;
        }
        if row_ok {
            entries.push(RosterEntry {
                line,
                email,
                user_name,
                display_name,
                alternate_email,
                user_root,
                language,
            });
        }
    }
    if problems.list.is_empty() && entries.is_empty() {
        problems.add(None, "the roster has a header but no rows");
    }
    if problems.list.is_empty() {
        Ok(Roster { entries })
    } else {
        Err(problems.into_error())
    }
}

trait KindSummary {
    fn kind_summary(&self) -> String;
}

impl KindSummary for csv::Error {
    fn kind_summary(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_owned(),
            _ => "malformed quoting or line structure".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(input: &str) -> Vec<String> {
        parse_roster(input.as_bytes())
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_language_column_takes_tags_in_any_case_and_names_bad_ones_with_their_line() {
        let r = parse_roster(
            b"EmailAddress,LANGUAGE\nann@example.com,fr-ca\nbob@example.com,\ncy@example.com,DE\n",
        )
        .unwrap();
        let languages: Vec<_> = r.entries.iter().map(|e| e.language.as_deref()).collect();
        assert_eq!(languages, [Some("fr-CA"), None, Some("de")]);
        let found = problems(
            "EmailAddress,Language\nann@example.com,en\nbob@example.com,english please\n\
             cy@example.com,ja\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("line 3: Language \"english please\" is not a language tag"));
        assert!(found[1].starts_with("line 4: Language \"ja\" is not one passdrop speaks"));
        assert!(found[1].contains("en, de, fr, es, nl, it, pt"));
    }

    #[test]
    fn a_minimal_roster_defaults_user_name_to_the_address() {
        let r = parse_roster(b"EmailAddress\nann@example.com\nbob@example.com\n").unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].user_name, "ann@example.com");
        assert_eq!(r.entries[1].line, 3);
        assert!(!r.has_user_root());
    }

    #[test]
    fn columns_match_case_insensitively_in_any_order() {
        let r = parse_roster(
            b"displayname,USERNAME,emailaddress,AlternateEmail,UserRoot\r\n\
              Ann Lee,ann,ann@example.com,ann@home.example,/users/ann\r\n",
        )
        .unwrap();
        let e = &r.entries[0];
        assert_eq!(e.email, "ann@example.com");
        assert_eq!(e.user_name, "ann");
        assert_eq!(e.display_name.as_deref(), Some("Ann Lee"));
        assert_eq!(e.alternate_email.as_deref(), Some("ann@home.example"));
        assert_eq!(e.user_root.as_deref(), Some("/users/ann"));
        assert!(r.has_user_root());
    }

    #[test]
    fn line_numbers_are_right_with_crlf_line_ends() {
        let p = problems("EmailAddress\r\nann@example.com\r\nbad\r\n\r\nalso-bad\r\n");
        assert!(p[0].starts_with("line 3:"), "{p:?}");
        assert!(p[1].starts_with("line 5:"), "{p:?}");
        let p = problems("EmailAddress\nann@example.com\nbad\n\nalso-bad\n");
        assert!(
            p[0].starts_with("line 3:") && p[1].starts_with("line 5:"),
            "{p:?}"
        );
    }

    #[test]
    fn a_bom_is_accepted() {
        let r = parse_roster(b"\xEF\xBB\xBFEmailAddress\nann@example.com\n").unwrap();
        assert_eq!(r.entries[0].email, "ann@example.com");
    }

    #[test]
    fn a_microsoft_template_with_an_empty_password_column_is_accepted() {
        let r =
            parse_roster(b"EmailAddress,UserName,Password\nann@example.com,ann@oldhost.example,\n")
                .unwrap();
        assert_eq!(r.entries[0].user_name, "ann@oldhost.example");
    }

    #[test]
    fn a_filled_in_password_column_is_refused_without_echoing_it() {
        let p = problems("EmailAddress,Password\nann@example.com,Hunter2Secret\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 2: the Password column must be empty"),
            "{p:?}"
        );
        assert!(!p[0].contains("Hunter2Secret"));
    }

    #[test]
    fn an_address_without_at_is_reported_with_its_line() {
        let p = problems("EmailAddress\nann@example.com\nbob.example.com\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("line 3:"), "{p:?}");
        assert!(p[0].contains('@'));
    }

    #[test]
    fn duplicates_are_reported_with_both_lines() {
        let p = problems("EmailAddress\nann@example.com\nbob@example.com\nANN@example.com\n");
        assert_eq!(
            p,
            vec!["line 4: EmailAddress \"ANN@example.com\" already appears on line 2"]
        );
        let p = problems("EmailAddress,UserName\na@x.example,ann\nb@x.example,ann\n");
        assert!(p[0].starts_with("line 3: UserName"), "{p:?}");
    }

    #[test]
    fn an_empty_user_name_is_reported() {
        let p = problems("EmailAddress,UserName\nann@example.com,\n");
        assert!(p[0].starts_with("line 2: UserName is empty"), "{p:?}");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let p = problems("EmailAddress\nnot-an-address\nann@example.com\n@example.com\nalso bad\n");
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("line 2:"));
        assert!(p[2].starts_with("line 5:"));
    }

    #[test]
    fn more_than_fifty_thousand_rows_are_refused() {
        let mut s = String::from("EmailAddress\n");
        for i in 0..=MAX_ROWS {
            s.push_str(&format!("u{i}@example.com\n"));
        }
        let p = problems(&s);
        assert!(p[0].contains("more than 50000 rows"), "{p:?}");
        assert!(p[0].starts_with("line 50002:"), "{p:?}");
        s.truncate(s.len() - "u50000@example.com\n".len());
        assert_eq!(parse_roster(s.as_bytes()).unwrap().entries.len(), MAX_ROWS);
    }

    #[test]
    fn a_missing_email_column_and_unknown_columns_are_refused() {
        let p = problems("Mail,UserName\nann@example.com,ann\n");
        assert!(
            p.iter().any(|m| m.contains("unknown column \"Mail\"")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("no EmailAddress column")),
            "{p:?}"
        );
    }

    #[test]
    fn empty_and_header_only_rosters_are_refused() {
        assert!(!problems("").is_empty());
        assert!(problems("EmailAddress\n")[0].contains("no rows"));
    }

    #[test]
    fn non_utf8_cells_are_refused_with_their_line() {
        let err = parse_roster(b"EmailAddress,DisplayName\nann@example.com,Ren\xE9\n").unwrap_err();
        assert!(err.problems[0].to_string().starts_with("line 2:"), "{err}");
        assert!(err.to_string().contains("UTF-8"));
    }

    #[test]
    fn formula_cells_are_refused() {
        let p = problems("EmailAddress,DisplayName\nann@example.com,=HYPERLINK(\"x\")\n");
        assert!(p[0].contains("formula"), "{p:?}");
    }

    #[test]
    fn ragged_rows_are_refused() {
        let p = problems("EmailAddress,DisplayName\nann@example.com\n");
        assert!(p[0].starts_with("line 2: this row has 1 fields"), "{p:?}");
    }

    #[test]
    fn trailing_empty_rows_are_ignored() {
        let r = parse_roster(b"EmailAddress,DisplayName\nann@example.com,Ann\n,\n,\n").unwrap();
        assert_eq!(r.entries.len(), 1);
    }
}

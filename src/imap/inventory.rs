//! The mailbox inventory: once a password is verified, the same logged-in session reads,
//! read-only and within a time limit, what the migration will meet: folders and their
//! delimiter, message counts and sizes, messages over the target's size limit, `[Gmail]`
//! folders and shared namespaces.
//!
//! Read-only: `LIST`, `STATUS`, `NAMESPACE`, `GETQUOTAROOT`, `EXAMINE` (never `SELECT`),
//! `SEARCH LARGER` and `FETCH RFC822.SIZE` (never a body). Only a summary comes out. The
//! session holds no password: the caller's copy is dropped (and zeroized) as usual.

use super::wire::{Done, Token, Wire, WireError, decode_mailbox_name, quote};
use super::*;

/// Microsoft's limit for one message in an IMAP migration: 35 MB (35 × 1024 × 1024 bytes).
pub const MESSAGE_SIZE_LIMIT: u64 = 36_700_160;

/// Microsoft's limit of items per mailbox.
pub const MAX_ITEMS_PER_MAILBOX: u64 = 500_000;

/// How long an inventory may take in all.
pub const INVENTORY_DEADLINE: Duration = Duration::from_secs(30);

/// At most this many folders are opened; the rest are counted only.
const MAX_FOLDERS_OPENED: usize = 2_000;

/// At most this many message sizes are fetched in all (the fallback for the total size,
/// and the largest message).
const MAX_SIZES_FETCHED: u64 = 20_000;

/// At most this many problem folders are kept (their names are stored).
const MAX_PROBLEM_FOLDERS: usize = 100;

/// What an inventory may do.
#[derive(Debug, Clone, Copy)]
pub struct InventoryLimits {
    /// Messages larger than this (bytes) are counted as too large for the target.
    pub message_limit: u64,
    /// The whole inventory's time limit.
    pub deadline: Duration,
    /// Ask `STATUS` for `SIZE` (tests turn it off to reach the fallbacks).
    pub status_size: bool,
    /// Use the quota where offered when sizes are not known otherwise (tests turn it
    /// off to reach the fetched sizes).
    pub quota: bool,
}

impl Default for InventoryLimits {
    fn default() -> Self {
        Self {
            message_limit: MESSAGE_SIZE_LIMIT,
            deadline: INVENTORY_DEADLINE,
            status_size: true,
            quota: true,
        }
    }
}

/// Why a folder will trouble the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderProblem {
    /// A `/` inside a name (not as the delimiter): Microsoft does not migrate it.
    NameHasSlash,
    /// Under `[Gmail]` (or `[Google Mail]`): labels that duplicate mail.
    GmailLabels,
    /// An other users' or shared namespace.
    SharedNamespace,
}

impl FolderProblem {
    /// The readiness code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NameHasSlash => "folder_name_has_slash",
            Self::GmailLabels => "gmail_labels",
            Self::SharedNamespace => "shared_namespace",
        }
    }
}

/// What the inventory found: counts, sizes and the names of problem folders only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxInventory {
    /// Folders listed.
    pub folders: u64,
    /// The hierarchy delimiter, if the server named one.
    pub delimiter: Option<char>,
    /// Messages in all.
    pub messages: u64,
    /// Their total size in bytes (from STATUS SIZE, the quota, or fetched sizes).
    pub bytes: u64,
    /// The largest message's size, when sizes were fetched.
    pub largest_message_bytes: Option<u64>,
    /// Messages over the limit.
    pub oversized_messages: u64,
    /// Folders (or namespaces) that will trouble the migration.
    pub problem_folders: Vec<(FolderProblem, String)>,
    /// Not everything could be read (time, or too many folders): counts are a floor.
    pub partial: bool,
}

impl MailboxInventory {
    /// More items than Microsoft migrates per mailbox.
    pub fn too_many_items(&self) -> bool {
        self.messages > MAX_ITEMS_PER_MAILBOX
    }
}

/// A session the server accepted, kept for the inventory. Dropping it closes the
/// connection.
pub struct LoggedIn(pub(super) Authenticated);

impl LoggedIn {
    /// Logs out (bounded) without reading anything.
    pub async fn close(self) {
        self.0.logout().await;
    }
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoggedIn")
    }
}

/// Like `verify_password`, but an accepted login's session is handed back (for
/// `take_inventory`) instead of closed.
pub async fn verify_password_keeping(
    settings: &ImapSettings,
    user: &str,
    password: &SecretString,
) -> (Verdict, Option<LoggedIn>) {
    let mut report = ConnectionReport::default();
    let session = match tokio::time::timeout(CONNECT_BUDGET, connect(settings, &mut report)).await {
        Ok(Ok(s)) => s,
        Ok(Err(problem)) => return (Verdict::CouldNotCheck(problem), None),
        Err(_) => {
            return (
                Verdict::CouldNotCheck(ImapProblem::Timeout("connecting")),
                None,
            );
        }
    };
    let (verdict, session) = session.log_in_keeping(user, password, None).await;
    (verdict, session.map(LoggedIn))
}

/// One listed folder.
struct Folder {
    raw: Vec<u8>,
    selectable: bool,
}

/// Reads the inventory within `limits.deadline`, then logs out. What could not be read
/// in time leaves `partial` set; the session is closed in every case.
pub async fn take_inventory(session: LoggedIn, limits: InventoryLimits) -> MailboxInventory {
    let LoggedIn(mut session) = session;
    let mut inventory = MailboxInventory::default();
    let deadline = tokio::time::Instant::now() + limits.deadline;
    let finished = {
        let mut wire = Wire::new(session.stream());
        let outcome =
            tokio::time::timeout_at(deadline, read_inventory(&mut wire, limits, &mut inventory))
                .await;
        let finished = matches!(outcome, Ok(Ok(())));
        if finished {
            let _ = tokio::time::timeout(LOGOUT_TIMEOUT, wire.run("LOGOUT", |_| {})).await;
        }
        finished
    };
    inventory.partial |= !finished;
    drop(session);
    inventory
}

async fn read_inventory(
    wire: &mut Wire<'_>,
    limits: InventoryLimits,
    inv: &mut MailboxInventory,
) -> Result<(), WireError> {
    let mut capabilities = Vec::new();
    wire.run("CAPABILITY", |t| {
        if matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("CAPABILITY")) {
            capabilities.extend(
                t[1..]
                    .iter()
                    .filter_map(Token::text)
                    .map(|c| c.to_ascii_uppercase()),
            );
        }
    })
    .await?;
    let has = |c: &str| capabilities.iter().any(|x| x == c);

    if has("NAMESPACE") {
        let mut shared = Vec::new();
        wire.run("NAMESPACE", |t| {
            if matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("NAMESPACE")) {
                shared = other_namespaces(&t[1..]);
            }
        })
        .await?;
        for prefix in shared {
            inv.problem_folders
                .push((FolderProblem::SharedNamespace, decode_mailbox_name(&prefix)));
        }
    }

    let mut folders = Vec::new();
    let mut delimiter = None;
    wire.run("LIST \"\" \"*\"", |t| {
        if let Some((flags, delim, name)) = list_entry(t) {
            if delimiter.is_none() {
                delimiter = delim;
            }
            let selectable = !flags.iter().any(|f| {
                f.eq_ignore_ascii_case("\\Noselect") || f.eq_ignore_ascii_case("\\NonExistent")
            });
            folders.push(Folder {
                raw: name,
                selectable,
            });
        }
    })
    .await?;
    inv.folders = folders.len() as u64;
    inv.delimiter = delimiter;
    for folder in &folders {
        let name = decode_mailbox_name(&folder.raw);
        if let Some(problem) = folder_problem(&name, delimiter) {
            inv.problem_folders.push((problem, name));
        }
    }

    // Sizes: STATUS SIZE where the server takes it (Dovecot does without announcing it),
    // else the quota, else fetched sizes.
    let mut status_size = limits.status_size;
    let mut size_known = false;
    let mut fetch_budget = MAX_SIZES_FETCHED;
    let mut fetched_bytes = 0u64;
    let mut all_fetched = true;
    let opened = folders
        .iter()
        .filter(|f| f.selectable)
        .take(MAX_FOLDERS_OPENED);
    if folders.iter().filter(|f| f.selectable).count() > MAX_FOLDERS_OPENED {
        inv.partial = true;
    }
    for folder in opened {
        let Some(quoted) = quote(&folder.raw) else {
            inv.partial = true;
            continue;
        };
        let (mut messages, mut size) = (None, None);
        let mut collect = |t: &[Token]| {
            if let Some((m, s)) = status_entry(t) {
                messages = messages.or(m);
                size = size.or(s);
            }
        };
        let done = if status_size {
            let done = wire
                .run(&format!("STATUS {quoted} (MESSAGES SIZE)"), &mut collect)
                .await?;
            if done == Done::Bad {
                status_size = false;
            }
            done
        } else {
            Done::Bad
        };
        if done == Done::Bad {
            wire.run(&format!("STATUS {quoted} (MESSAGES)"), &mut collect)
                .await?;
        }
        let messages = messages.unwrap_or(0);
        inv.messages += messages;
        if let Some(size) = size {
            inv.bytes += size;
            size_known = true;
        }
        if messages == 0 {
            continue;
        }
        if wire.run(&format!("EXAMINE {quoted}"), |_| {}).await? != Done::Ok {
            inv.partial = true;
            continue;
        }
        let mut oversized = Vec::new();
        wire.run(&format!("SEARCH LARGER {}", limits.message_limit), |t| {
            if matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("SEARCH")) {
                oversized.extend(t[1..].iter().filter_map(Token::number));
            }
        })
        .await?;
        inv.oversized_messages += oversized.len() as u64;
        // Fetch every size while the budget lasts (the total, the largest); else only
        // the oversized ones' (the largest).
        let range = if messages <= fetch_budget {
            fetch_budget -= messages;
            Some("1:*".to_owned())
        } else {
            all_fetched = false;
            (!oversized.is_empty()).then(|| {
                oversized
                    .iter()
                    .take(1_000)
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        if let Some(range) = range {
            let whole = range == "1:*";
            let mut largest = inv.largest_message_bytes;
            let mut sum = 0u64;
            wire.run(&format!("FETCH {range} (RFC822.SIZE)"), |t| {
                if let Some(size) = fetch_size(t) {
                    sum += size;
                    largest = Some(largest.map_or(size, |l: u64| l.max(size)));
                }
            })
            .await?;
            inv.largest_message_bytes = largest;
            if whole {
                fetched_bytes += sum;
            }
        }
        wire.run("CLOSE", |_| {}).await?;
    }
    if !size_known && limits.quota && has("QUOTA") {
        let mut used_kib = None;
        wire.run("GETQUOTAROOT \"INBOX\"", |t| {
            if let Some(kib) = quota_storage(t) {
                used_kib = Some(used_kib.unwrap_or(0) + kib);
            }
        })
        .await?;
        if let Some(kib) = used_kib {
            inv.bytes = kib * 1024;
            size_known = true;
        }
    }
    if inv.problem_folders.len() > MAX_PROBLEM_FOLDERS {
        inv.problem_folders.truncate(MAX_PROBLEM_FOLDERS);
        inv.partial = true;
    }
    if !size_known {
        inv.bytes = fetched_bytes;
        if !all_fetched {
            inv.partial = true;
        }
    }
    Ok(())
}

/// The problem a folder's name brings, if any.
fn folder_problem(name: &str, delimiter: Option<char>) -> Option<FolderProblem> {
    let top = match delimiter {
        Some(d) => name.split(d).next().unwrap_or(name),
        None => name,
    };
    if top.eq_ignore_ascii_case("[Gmail]") || top.eq_ignore_ascii_case("[Google Mail]") {
        return Some(FolderProblem::GmailLabels);
    }
    if delimiter != Some('/') && name.contains('/') {
        return Some(FolderProblem::NameHasSlash);
    }
    None
}

/// `LIST (flags) delimiter name` → (flags, delimiter, raw name).
pub(super) fn list_entry(t: &[Token]) -> Option<(Vec<String>, Option<char>, Vec<u8>)> {
    if !matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("LIST")) {
        return None;
    }
    if t.get(1) != Some(&Token::Open) {
        return None;
    }
    let close = t.iter().position(|x| *x == Token::Close)?;
    let flags = t[2..close].iter().filter_map(Token::text).collect();
    let delimiter = match t.get(close + 1)? {
        Token::Str(s) if s.len() == 1 => Some(char::from(s[0])),
        _ => None,
    };
    let name = match t.get(close + 2)? {
        Token::Str(s) => s.clone(),
        Token::Atom(a) => a.as_bytes().to_vec(),
        _ => return None,
    };
    Some((flags, delimiter, name))
}

/// `STATUS name (MESSAGES n SIZE m)` → (messages, size).
fn status_entry(t: &[Token]) -> Option<(Option<u64>, Option<u64>)> {
    if !matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("STATUS")) {
        return None;
    }
    let open = t.iter().position(|x| *x == Token::Open)?;
    let (mut messages, mut size) = (None, None);
    for pair in t[open + 1..].chunks(2) {
        if let [Token::Atom(key), value] = pair {
            match key.to_ascii_uppercase().as_str() {
                "MESSAGES" => messages = value.number(),
                "SIZE" => size = value.number(),
                _ => {}
            }
        }
    }
    Some((messages, size))
}

/// `n FETCH (RFC822.SIZE s)` → s.
fn fetch_size(t: &[Token]) -> Option<u64> {
    if !matches!(t.get(1), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("FETCH")) {
        return None;
    }
    let at = t
        .iter()
        .position(|x| matches!(x, Token::Atom(a) if a.eq_ignore_ascii_case("RFC822.SIZE")))?;
    t.get(at + 1)?.number()
}

/// `QUOTA root (STORAGE used limit ...)` → used (KiB).
fn quota_storage(t: &[Token]) -> Option<u64> {
    if !matches!(t.first(), Some(Token::Atom(a)) if a.eq_ignore_ascii_case("QUOTA")) {
        return None;
    }
    let at = t
        .iter()
        .position(|x| matches!(x, Token::Atom(a) if a.eq_ignore_ascii_case("STORAGE")))?;
    t.get(at + 1)?.number()
}

/// The prefixes of the other users' and shared namespaces in a NAMESPACE answer
/// (`(("" "/")) (("Other/" "/")) NIL`).
fn other_namespaces(t: &[Token]) -> Vec<Vec<u8>> {
    // Split the three top-level groups: each is NIL or a parenthesised list.
    let mut groups: Vec<&[Token]> = Vec::new();
    let mut i = 0;
    while i < t.len() && groups.len() < 3 {
        match t[i] {
            Token::Nil => {
                groups.push(&[]);
                i += 1;
            }
            Token::Open => {
                let mut depth = 0usize;
                let start = i;
                while i < t.len() {
                    match t[i] {
                        Token::Open => depth += 1,
                        Token::Close => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                groups.push(&t[start..i]);
            }
            _ => i += 1,
        }
    }
    groups
        .iter()
        .skip(1)
        .flat_map(|g| {
            // Each namespace is `("prefix" "delim" ...)`: the string after an inner `(`.
            g.windows(2).filter_map(|w| match w {
                [Token::Open, Token::Str(prefix)] => Some(prefix.clone()),
                _ => None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::wire::tokenize;
    use super::*;

    fn tokens(line: &str) -> Vec<Token> {
        let mut out = Vec::new();
        tokenize(line.as_bytes(), &mut out).unwrap();
        out
    }

    #[test]
    fn folder_names_are_judged_against_their_delimiter() {
        assert_eq!(
            folder_problem("Projects/2024", Some('.')),
            Some(FolderProblem::NameHasSlash)
        );
        assert_eq!(folder_problem("Projects/2024", Some('/')), None);
        assert_eq!(
            folder_problem("[Gmail].All Mail", Some('.')),
            Some(FolderProblem::GmailLabels)
        );
        assert_eq!(
            folder_problem("[Gmail]/Sent Mail", Some('/')),
            Some(FolderProblem::GmailLabels)
        );
        assert_eq!(folder_problem("INBOX", Some('.')), None);
    }

    #[test]
    fn answers_are_read_for_their_numbers() {
        let t = tokens(r#"LIST (\HasNoChildren \Noselect) "." "a.b""#);
        let (flags, delim, name) = list_entry(&t).unwrap();
        assert_eq!(flags, ["\\HasNoChildren", "\\Noselect"]);
        assert_eq!((delim, name.as_slice()), (Some('.'), &b"a.b"[..]));
        let t = tokens(r#"STATUS "INBOX" (MESSAGES 3 SIZE 4567)"#);
        assert_eq!(status_entry(&t), Some((Some(3), Some(4567))));
        let t = tokens(r#"STATUS INBOX (MESSAGES 3)"#);
        assert_eq!(status_entry(&t), Some((Some(3), None)));
        assert_eq!(fetch_size(&tokens("12 FETCH (RFC822.SIZE 999)")), Some(999));
        assert_eq!(
            quota_storage(&tokens(r#"QUOTA "" (STORAGE 10 512)"#)),
            Some(10)
        );
        assert_eq!(quota_storage(&tokens(r#"QUOTAROOT INBOX """#)), None);
    }

    #[test]
    fn only_other_and_shared_namespaces_are_problems() {
        let t = tokens(r#"(("" ".")) NIL NIL"#);
        assert!(other_namespaces(&t).is_empty());
        let t = tokens(r#"(("" "/")) (("Other Users/" "/")) (("Public/" "/")("Shared/" "/"))"#);
        assert_eq!(
            other_namespaces(&t),
            [
                b"Other Users/".to_vec(),
                b"Public/".to_vec(),
                b"Shared/".to_vec()
            ]
        );
    }

    #[test]
    fn too_many_items_is_over_half_a_million() {
        let mut inv = MailboxInventory {
            messages: MAX_ITEMS_PER_MAILBOX,
            ..MailboxInventory::default()
        };
        assert!(!inv.too_many_items());
        inv.messages += 1;
        assert!(inv.too_many_items());
    }
}

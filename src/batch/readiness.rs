//! Migration readiness: the mailbox inventory after a verified submission, the per-user
//! and per-batch problems with stable codes (the readiness report both front ends show),
//! and the server's problems.
//!
//! The report's JSON shape is a stable surface (README, "Readiness"): `batch {id, name,
//! totals}`, `server {problems}`, `users [...]`, times in RFC 3339.

use std::collections::HashMap;

use serde::Serialize;

use super::lint::{LintCode, codes_from_stored};
use super::*;
use crate::imap::{FolderProblem, InventoryLimits, LoggedIn, MailboxInventory};
use crate::storage::{InventoryRecord, RecheckOutcome, RecipientStatus, UserReadiness};

/// Microsoft's limit of rows in one migration CSV.
pub const MAX_CSV_ROWS: usize = 50_000;

/// Microsoft's limit for the migration CSV's size, in bytes.
pub const MAX_CSV_BYTES: u64 = 10 * 1024 * 1024;

/// A password's length in the size estimate (passwords are never measured).
const ESTIMATED_PASSWORD_BYTES: u64 = 24;

/// At most this many inventories talk to old servers at once, so that a burst of
/// submissions does not become a burst of long sessions.
pub const MAX_CONCURRENT_INVENTORIES: usize = 4;

/// How long an inventory waits for a free slot before it gives up (the session is
/// closed; the user simply has no inventory).
const INVENTORY_SLOT_WAIT: Duration = Duration::from_secs(20);

static INVENTORY_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_INVENTORIES);

/// Hands a verified session to a background task that reads the mailbox inventory and
/// stores its summary. Returns at once: the user's answer never waits for it.
pub fn spawn_inventory(store: Store, session: LoggedIn, recipient_id: i64) {
    tokio::spawn(async move { inventory_now(&store, session, recipient_id).await });
}

/// Reads the mailbox inventory in `session` (waiting, bounded, for one of the
/// `MAX_CONCURRENT_INVENTORIES` slots; else the session is closed and the user simply
/// has no inventory) and stores its summary. The admin login's probe calls it for each
/// user it opens, one at a time.
pub async fn inventory_now(store: &Store, session: LoggedIn, recipient_id: i64) {
    let Ok(Ok(_slot)) = tokio::time::timeout(INVENTORY_SLOT_WAIT, INVENTORY_SLOTS.acquire()).await
    else {
        tracing::info!(recipient_id, "no mailbox inventory: too many running");
        session.close().await;
        return;
    };
    let inventory = imap::take_inventory(session, InventoryLimits::default()).await;
    save_inventory(store, recipient_id, &inventory, crate::config::now()).await;
}

/// Stores an inventory's summary (counts, sizes, problem folders); failures are logged.
pub async fn save_inventory(
    store: &Store,
    recipient_id: i64,
    inventory: &MailboxInventory,
    now: i64,
) {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let record = InventoryRecord {
        folders: to_i64(inventory.folders),
        messages: to_i64(inventory.messages),
        bytes: to_i64(inventory.bytes),
        largest_message_bytes: inventory.largest_message_bytes.map(to_i64),
        oversized_messages: to_i64(inventory.oversized_messages),
        problem_folders: inventory
            .problem_folders
            .iter()
            .map(|(p, name)| (p.code().to_owned(), name.clone()))
            .collect(),
        mailbox_codes: if inventory.too_many_items() {
            vec!["too_many_items".to_owned()]
        } else {
            Vec::new()
        },
        partial: inventory.partial,
    };
    match store.save_inventory(recipient_id, &record, now).await {
        Ok(()) => tracing::info!(
            recipient_id,
            folders = record.folders,
            messages = record.messages,
            partial = record.partial,
            "mailbox inventory stored"
        ),
        Err(e) => tracing::warn!(recipient_id, error = %e, "could not store a mailbox inventory"),
    }
}

/// One problem: a stable code and plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The stable code (README, "Readiness codes").
    pub code: String,
    /// What it means here, in plain words.
    pub detail: String,
}

impl Problem {
    fn new(code: &str, detail: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The server's (and the migration file's) problems, and whether the server was asked.
#[derive(Debug, Clone, Default)]
pub struct ServerProblems {
    /// The problems found.
    pub problems: Vec<Problem>,
    /// Why the server was not tested (`--offline`, no server set), if it was not.
    pub not_tested: Option<String>,
}

/// Tests the batch's old server the way Microsoft 365 will meet it (bounded): the
/// connection test (`imap::check_connection`) read by `imap::microsoft_view::problems`:
/// `server_unreachable`, `tls_below_1_2`, `certificate_not_trusted`, `host_not_public`,
/// `server_throttling` (also from `throttling`, the advice when recent checks looked
/// throttled: `batch::recent_throttling`). `offline` skips the test and says so.
pub async fn server_problems(
    settings: Option<&ImapSettings>,
    offline: bool,
    throttling: Option<String>,
) -> ServerProblems {
    let Some(settings) = settings else {
        return ServerProblems {
            problems: Vec::new(),
            not_tested: Some("the batch has no old IMAP server set".to_owned()),
        };
    };
    if offline {
        return ServerProblems {
            problems: throttling
                .map(|why| Problem::new("server_throttling", why))
                .into_iter()
                .collect(),
            not_tested: Some(format!("{} was not tested (--offline)", settings.server)),
        };
    }
    let mut report = imap::check_connection(settings).await;
    report.throttling = throttling;
    let problems = imap::microsoft_view::problems(&report)
        .into_iter()
        .map(|p| Problem::new(p.code, p.detail))
        .collect();
    ServerProblems {
        problems,
        not_tested: None,
    }
}

/// The advice to give when the batch's old server recently looked throttled
/// (`batch::recent_throttling`), for `server_problems`.
pub async fn recent_throttling_advice(
    store: &Store,
    batch: &Batch,
    now: i64,
) -> BatchResult<Option<String>> {
    let Some(imap) = &batch.imap else {
        return Ok(None);
    };
    Ok(super::recent_throttling(store, &batch.id, now)
        .await?
        .map(|at| {
            super::throttling_advice(&imap.server.to_string(), &crate::config::format_time(at))
        }))
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// The batch and its totals.
    pub batch: BatchSummary,
    /// The server's problems (and the migration file's limits).
    pub server: ServerSection,
    /// Every user of the batch, in roster order.
    pub users: Vec<UserReport>,
}

/// `batch` in the report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    /// The batch id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Sums over the mailboxes inventoried.
    pub totals: Totals,
}

/// `batch.totals`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    /// Mailboxes with an inventory.
    pub mailboxes: u64,
    /// Their messages.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// `server` in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSection {
    /// The problems.
    pub problems: Vec<Problem>,
}

/// One user in the report.
#[derive(Debug, Clone, Serialize)]
pub struct UserReport {
    /// EmailAddress.
    pub email: String,
    /// One of the states `batch status` shows (pending, opened, submitted, verified,
    /// locked, revoked, expired).
    pub state: &'static str,
    /// When the old server accepted the password (RFC 3339), if it did.
    pub verified_at: Option<String>,
    /// When the password was last re-checked (RFC 3339), if it was.
    pub rechecked_at: Option<String>,
    /// The mailbox inventory, if one was read.
    pub mailbox: Option<MailboxSection>,
    /// The user's problems.
    pub problems: Vec<Problem>,
}

/// `users[].mailbox`.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxSection {
    /// Folders.
    pub folders: i64,
    /// Messages.
    pub messages: i64,
    /// Bytes.
    pub bytes: i64,
    /// The largest message, when known.
    pub largest_message_bytes: Option<i64>,
    /// Names of the folders that will trouble the migration.
    pub problem_folders: Vec<String>,
}

impl ReadinessReport {
    /// Every problem listed, server's and users'.
    pub fn problem_count(&self) -> usize {
        self.server.problems.len() + self.users.iter().map(|u| u.problems.len()).sum::<usize>()
    }
}

/// The state a user is in, as `batch status` words it.
pub fn user_state(s: &RecipientStatus, now: i64) -> &'static str {
    match (s.submitted_at, s.link_state) {
        (Some(_), _) if s.imap_check == Some(ImapCheck::Verified) => "verified",
        (Some(_), _) => "submitted",
        (None, LinkState::Live) if s.link_expires_at <= now => "expired",
        (None, LinkState::Live) if s.opened_at.is_some() => "opened",
        (None, LinkState::Live | LinkState::Used | LinkState::Replaced) => "pending",
        (None, LinkState::Revoked) => "revoked",
        (None, LinkState::Locked) => "locked",
    }
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

/// One user's problems from what is stored.
fn user_problems(
    s: &RecipientStatus,
    r: Option<&UserReadiness>,
    checks: bool,
    app_password: bool,
    covered: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let app_password_problem = || {
        Problem::new(
            "app_password_required",
            "the old server answered that an application password is required: the user \
             must create one (two-step sign-in) and send it through a new link",
        )
    };
    let admin_refused = || {
        Problem::new(
            RecheckOutcome::AdminLoginRefused.as_str(),
            "the old server's admin login no longer opens this mailbox (last re-check): the \
             user needs their own password; reissue their link (recheck --reissue-failed)",
        )
    };
    if s.submitted_at.is_none() && !covered {
        problems.push(Problem::new(
            "not_submitted",
            "no password yet: this mailbox cannot be migrated",
        ));
        if r.is_some_and(|r| matches!(r.recheck, Some((RecheckOutcome::AdminLoginRefused, _)))) {
            problems.push(admin_refused());
        }
        if app_password {
            problems.push(app_password_problem());
        }
        return problems;
    }
    match s.imap_check {
        // Covered by the admin login: its probe opened the mailbox (like a verified
        // password).
        _ if covered => {}
        Some(ImapCheck::Verified) => {}
        Some(ImapCheck::Unverified) => problems.push(Problem::new(
            "not_verified",
            "accepted while the old server could not be reached: the password was never checked",
        )),
        None if checks => problems.push(Problem::new(
            "not_verified",
            "submitted before the batch checked passwords with the old server",
        )),
        None => problems.push(Problem::new(
            "not_verified",
            "the batch does not check passwords with an old server: a typo shows only when \
             the migration starts",
        )),
    }
    // A user with no row (no codes, re-check or inventory) still gets every problem
    // that does not need one.
    if let Some(r) = r {
        match r.recheck {
            Some((RecheckOutcome::PasswordChanged, _)) => problems.push(Problem::new(
                "password_changed",
                "the old server refused the password at the last re-check: the user changed it; \
             reissue their link (recheck --reissue-failed)",
            )),
            Some((RecheckOutcome::Inconclusive, _)) => problems.push(Problem::new(
                "recheck_inconclusive",
                "the last re-check got no clear answer from the old server; run it again",
            )),
            Some((RecheckOutcome::AdminLoginRefused, _)) => problems.push(admin_refused()),
            _ => {}
        }
    }
    if app_password {
        problems.push(app_password_problem());
    }
    let Some(r) = r else {
        return problems;
    };
    if let Some((inv, _)) = &r.inventory {
        if inv.oversized_messages > 0 {
            let largest = inv
                .largest_message_bytes
                .map(|b| format!(" (the largest {})", mb(b)))
                .unwrap_or_default();
            problems.push(Problem::new(
                "message_too_large",
                format!(
                    "{} message{} over 35 MB{largest}: Microsoft skips them; move them \
                     elsewhere before the migration",
                    inv.oversized_messages,
                    if inv.oversized_messages == 1 { "" } else { "s" }
                ),
            ));
        }
        if inv.mailbox_codes.iter().any(|c| c == "too_many_items") {
            problems.push(Problem::new(
                "too_many_items",
                format!(
                    "{} messages: Microsoft migrates at most 500,000 items per mailbox",
                    inv.messages
                ),
            ));
        }
        for (code, words) in [
            (
                FolderProblem::NameHasSlash.code(),
                "a '/' in the name: Microsoft does not migrate these folders; rename them",
            ),
            (
                FolderProblem::GmailLabels.code(),
                "Gmail labels: the same mail appears in several folders and is migrated \
                 once per label; exclude [Gmail] folders",
            ),
            (
                FolderProblem::SharedNamespace.code(),
                "other users' or shared folders: not migrated with this mailbox",
            ),
        ] {
            let names: Vec<&str> = inv
                .problem_folders
                .iter()
                .filter(|(c, _)| c == code)
                .map(|(_, n)| n.as_str())
                .collect();
            if !names.is_empty() {
                problems.push(Problem::new(code, format!("{words}: {}", names.join(", "))));
            }
        }
    }
    for code in codes_from_stored(&r.lint_codes) {
        problems.push(Problem::new(code.as_str(), lint_words(code)));
    }
    problems
}

fn lint_words(code: LintCode) -> String {
    format!(
        "{} (matters for: {})",
        code.detail(),
        code.formats().join(", ")
    )
}

/// Builds the readiness report of a batch from what is stored, with `server` (from
/// `server_problems`).
pub async fn readiness_report(
    store: &Store,
    batch: &Batch,
    server: &ServerProblems,
    now: i64,
) -> BatchResult<ReadinessReport> {
    let statuses = store.recipient_statuses(&batch.id).await?;
    let facts: HashMap<i64, UserReadiness> = store
        .user_readiness(&batch.id)
        .await?
        .into_iter()
        .map(|r| (r.recipient_id, r))
        .collect();
    let app_password: std::collections::HashSet<String> =
        super::app_password_required(store, &batch.id)
            .await?
            .into_iter()
            .map(|(email, _)| email)
            .collect();
    // Users the old server's admin login opens need no password of their own (issue 18).
    let probes = match &batch.admin_login {
        Some(_) => store.probe_records(&batch.id).await?,
        None => HashMap::new(),
    };
    let mut totals = Totals::default();
    let mut users = Vec::with_capacity(statuses.len());
    let (mut rows, mut csv_bytes) = (0usize, 0u64);
    for s in &statuses {
        let r = facts.get(&s.recipient.id);
        if s.submitted_at.is_some() {
            rows += 1;
            csv_bytes += (s.recipient.email.len()
                + s.recipient.user_name.len()
                + s.recipient.user_root.as_deref().map_or(0, str::len))
                as u64
                + ESTIMATED_PASSWORD_BYTES
                + 8;
        }
        let mailbox = r.and_then(|r| r.inventory.as_ref()).map(|(inv, _)| {
            totals.mailboxes += 1;
            totals.messages += u64::try_from(inv.messages).unwrap_or(0);
            totals.bytes += u64::try_from(inv.bytes).unwrap_or(0);
            MailboxSection {
                folders: inv.folders,
                messages: inv.messages,
                bytes: inv.bytes,
                largest_message_bytes: inv.largest_message_bytes,
                problem_folders: inv.problem_folders.iter().map(|(_, n)| n.clone()).collect(),
            }
        });
        let covered = s.submitted_at.is_none()
            && probes
                .get(&s.recipient.id)
                .is_some_and(|p| matches!(p.state, crate::storage::ProbeState::Covered));
        users.push(UserReport {
            email: s.recipient.email.clone(),
            state: if covered {
                "covered by admin login"
            } else {
                user_state(s, now)
            },
            verified_at: if covered {
                probes
                    .get(&s.recipient.id)
                    .map(|p| crate::config::rfc3339(p.probed_at))
            } else {
                (s.imap_check == Some(ImapCheck::Verified))
                    .then_some(s.submitted_at)
                    .flatten()
                    .map(crate::config::rfc3339)
            },
            rechecked_at: r
                .and_then(|r| r.recheck)
                .map(|(_, at)| crate::config::rfc3339(at)),
            mailbox,
            problems: user_problems(
                s,
                r,
                batch.imap.is_some(),
                app_password.contains(&s.recipient.email),
                covered,
            ),
        });
    }
    let mut problems = server.problems.clone();
    if rows > MAX_CSV_ROWS {
        problems.push(Problem::new(
            "too_many_rows",
            format!(
                "{rows} rows: Microsoft takes at most 50,000 per migration CSV; split the batch"
            ),
        ));
    }
    if csv_bytes > MAX_CSV_BYTES {
        problems.push(Problem::new(
            "file_too_large",
            format!(
                "the CSV would be about {}: Microsoft takes at most 10 MB; split the batch",
                mb(i64::try_from(csv_bytes).unwrap_or(i64::MAX))
            ),
        ));
    }
    if let Some(at) = super::admin_login::admin_password_refused(store, batch).await? {
        problems.push(Problem::new(
            "admin_password_refused",
            format!(
                "the old server refused the admin password at the re-check of {}: the users \
                 its admin login covers cannot be migrated with it (the export leaves them \
                 out); set the admin login again, or re-check once the server takes it",
                crate::config::format_time(at)
            ),
        ));
    }
    Ok(ReadinessReport {
        batch: BatchSummary {
            id: batch.id.clone(),
            name: batch.name.clone(),
            totals,
        },
        server: ServerSection { problems },
        users,
    })
}

/// The report as JSON (pretty-printed, one object).
pub fn readiness_json(report: &ReadinessReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Recipient;

    fn status(
        submitted: Option<i64>,
        link: LinkState,
        check: Option<ImapCheck>,
    ) -> RecipientStatus {
        RecipientStatus {
            recipient: Recipient {
                id: 1,
                batch_id: "b".into(),
                roster_line: 2,
                email: "ann@example.com".into(),
                user_name: "ann".into(),
                display_name: None,
                alternate_email: None,
                user_root: None,
                language: None,
            },
            link_state: link,
            link_expires_at: 100,
            submitted_at: submitted,
            mail_client: None,
            opened_at: None,
            imap_check: check,
            needs_help_at: None,
            reported_at: None,
        }
    }

    #[test]
    fn states_are_the_words_batch_status_uses() {
        let verified = status(Some(5), LinkState::Used, Some(ImapCheck::Verified));
        assert_eq!(user_state(&verified, 50), "verified");
        assert_eq!(
            user_state(&status(Some(5), LinkState::Used, None), 50),
            "submitted"
        );
        assert_eq!(
            user_state(&status(None, LinkState::Live, None), 50),
            "pending"
        );
        assert_eq!(
            user_state(&status(None, LinkState::Live, None), 100),
            "expired"
        );
        assert_eq!(
            user_state(&status(None, LinkState::Locked, None), 50),
            "locked"
        );
        assert_eq!(
            user_state(&status(None, LinkState::Revoked, None), 50),
            "revoked"
        );
        let mut opened = status(None, LinkState::Live, None);
        opened.opened_at = Some(10);
        assert_eq!(user_state(&opened, 50), "opened");
    }

    #[test]
    fn problems_come_from_the_stored_facts() {
        let s = status(None, LinkState::Live, None);
        let codes = |p: Vec<Problem>| p.into_iter().map(|p| p.code).collect::<Vec<_>>();
        assert_eq!(
            codes(user_problems(&s, None, true, false, false)),
            ["not_submitted"]
        );
        // A submitted user with no readiness row (no codes, re-check or inventory)
        // keeps the problems that need no row.
        let s = status(Some(5), LinkState::Used, Some(ImapCheck::Unverified));
        assert_eq!(
            codes(user_problems(&s, None, true, true, false)),
            ["not_verified", "app_password_required"]
        );
        let s = status(Some(5), LinkState::Used, Some(ImapCheck::Verified));
        let r = UserReadiness {
            recipient_id: 1,
            lint_codes: "space_at_edge".into(),
            recheck: Some((RecheckOutcome::PasswordChanged, 9)),
            inventory: Some((
                InventoryRecord {
                    folders: 3,
                    messages: 600_000,
                    bytes: 10,
                    largest_message_bytes: Some(40_000_000),
                    oversized_messages: 1,
                    problem_folders: vec![("folder_name_has_slash".into(), "a/b".into())],
                    mailbox_codes: vec!["too_many_items".into()],
                    partial: false,
                },
                8,
            )),
        };
        assert_eq!(
            codes(user_problems(&s, Some(&r), true, false, false)),
            [
                "password_changed",
                "message_too_large",
                "too_many_items",
                "folder_name_has_slash",
                "space_at_edge"
            ]
        );
        // Covered by the admin login (no password of their own): like a verified user,
        // their mailbox's problems and their re-check; a refused admin login at the
        // last re-check makes them a user without a password.
        let s = status(None, LinkState::Live, None);
        let mut covered = r.clone();
        covered.lint_codes = String::new();
        covered.recheck = Some((RecheckOutcome::AdminLoginRefused, 9));
        assert_eq!(
            codes(user_problems(&s, Some(&covered), true, false, true)),
            [
                "admin_login_refused",
                "message_too_large",
                "too_many_items",
                "folder_name_has_slash"
            ]
        );
        assert_eq!(
            codes(user_problems(&s, Some(&covered), true, false, false)),
            ["not_submitted", "admin_login_refused"]
        );
    }
}

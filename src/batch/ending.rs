//! The end of a batch: what an export does to the automatic purge (the rule both front
//! ends apply), the export itself, the purge, and the retention that purges batches
//! nobody purged.

use zeroize::Zeroizing;

use super::{BatchError, BatchResult, MAINTENANCE_INTERVAL, open_batch_key, open_passwords};
use crate::crypto::AdminKey;
use crate::export::{self, M365Row, Target};
use std::sync::Arc;

use super::Tally;
use crate::storage::{AuditKind, Batch, LinkState, LossAllowed, Store, StoreError, Tombstone};

/// What an export does to the automatic purge date. The rule: an export never moves
/// the purge before the live links of users who have not submitted expire, unless the
/// admin chooses `Early` (a deliberate choice: a red notice on the console, an explicit
/// flag on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeChoice {
    /// "Partial export, keep collecting": the purge date stays as it is.
    KeepCollecting,
    /// The default: purge the batch's retention-after-export later, but not before the
    /// live links of the users still pending expire.
    AfterLinksExpire,
    /// Purge the batch's retention-after-export later even if that cuts pending users'
    /// links short.
    Early,
}

impl PurgeChoice {
    /// The value the console's form sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepCollecting => "keep-collecting",
            Self::AfterLinksExpire => "after-links-expire",
            Self::Early => "early",
        }
    }

    /// Reads a form value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::KeepCollecting, Self::AfterLinksExpire, Self::Early]
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

/// What an export would do to the automatic purge, or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgePlan {
    /// The choice it follows.
    pub choice: PurgeChoice,
    /// The automatic purge before the export.
    pub purge_at_before: i64,
    /// The automatic purge after it.
    pub purge_at: i64,
    /// When the last live link of a user who has not submitted expires (`None`: no such
    /// link, so no purge date cuts a link short).
    pub links_until: Option<i64>,
    /// The export's purge date to store (`None`: leave it as it is).
    pub export_purge_at: Option<i64>,
}

impl PurgePlan {
    /// Whether the export brings the purge forward to before a pending user's live link
    /// expires: only ever by the admin's deliberate choice.
    pub fn cuts_links_short(&self) -> bool {
        self.purge_at < self.purge_at_before && self.links_until.is_some_and(|t| self.purge_at < t)
    }
}

/// When a batch will be purged automatically if nobody purges it first: its retention
/// after the links expire, or the date an export set, whichever comes first.
pub fn automatic_purge_at(batch: &Batch) -> i64 {
    let after_expiry = batch
        .expires_at
        .saturating_add(batch.retain_after_expiry_secs);
    batch
        .export_purge_at
        .map_or(after_expiry, |t| after_expiry.min(t))
}

/// The rule, for both front ends: what an export at `now` with `choice` does to the
/// automatic purge, given when the last pending user's live link expires. An export only
/// ever brings the date forward, never before that link's expiry unless the choice is
/// `Early`; `KeepCollecting` leaves it as it is.
pub fn purge_plan(
    batch: &Batch,
    links_until: Option<i64>,
    choice: PurgeChoice,
    now: i64,
) -> PurgePlan {
    let purge_at_before = automatic_purge_at(batch);
    let after_export = now.saturating_add(batch.retain_after_export_secs);
    let candidate = match choice {
        PurgeChoice::KeepCollecting => None,
        PurgeChoice::AfterLinksExpire => {
            Some(links_until.map_or(after_export, |t| after_export.max(t)))
        }
        PurgeChoice::Early => Some(after_export),
    };
    let export_purge_at = candidate.map(|c| batch.export_purge_at.map_or(c, |e| e.min(c)));
    let purge_at = export_purge_at.map_or(purge_at_before, |e| purge_at_before.min(e));
    PurgePlan {
        choice,
        purge_at_before,
        purge_at,
        links_until,
        export_purge_at,
    }
}

/// A user who has not submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUser {
    /// EmailAddress.
    pub email: String,
    /// DisplayName, if any.
    pub display_name: Option<String>,
    /// When their live link expires; `None` if they have no live link (revoked, locked,
    /// expired).
    pub live_until: Option<i64>,
}

/// What the export and purge pages (and commands) tell the admin before they act.
#[derive(Debug, Clone)]
pub struct ExportOutlook {
    /// Who has not submitted, in roster order.
    pub pending: Vec<PendingUser>,
    /// When the last of their live links expires, if any is live.
    pub live_links_until: Option<i64>,
    /// The automatic purge as it stands.
    pub purge_at: i64,
    /// The last export: rows written and when.
    pub last_export: Option<(i64, i64)>,
    /// The last re-check of the passwords, if any ran.
    pub last_recheck: Option<crate::storage::BatchRecheck>,
    /// Users whose last re-check found their password changed, or the admin login (or,
    /// while `admin_password_refused` stands, its password) refused (left out of an
    /// export unless asked).
    pub password_changed: Vec<String>,
    /// When the last re-check found the old server refusing the admin password, unless
    /// a later one got in (`admin_login::admin_password_refused`).
    pub admin_password_refused: Option<i64>,
    /// Whose password is in no file the admin was given (`unexported`).
    pub unexported: super::Unexported,
}

impl ExportOutlook {
    /// The pending users whose links still work (and stop working at a purge).
    pub fn with_live_links(&self) -> impl Iterator<Item = &PendingUser> {
        self.pending.iter().filter(|p| p.live_until.is_some())
    }
}

/// Who has not submitted, their links, the purge date and the last export.
pub async fn export_outlook(store: &Store, batch: &Batch, now: i64) -> BatchResult<ExportOutlook> {
    // Users the old server's admin login covers are exported with it: not pending.
    let covered = super::admin_login::covered_ids(store, batch).await?;
    let statuses = store.recipient_statuses(&batch.id).await?;
    // While a re-check's refusal of the admin password stands, covered users are left
    // out like stale ones (`admin_login::covered_for_export`).
    let admin_password_refused = super::admin_login::admin_password_refused(store, batch).await?;
    let held_back: Vec<String> = statuses
        .iter()
        .filter(|s| admin_password_refused.is_some() && s.submitted_at.is_none())
        .filter(|s| covered.contains(&s.recipient.id))
        .map(|s| s.recipient.email.clone())
        .collect();
    let pending: Vec<PendingUser> = statuses
        .into_iter()
        .filter(|s| s.submitted_at.is_none() && !covered.contains(&s.recipient.id))
        .map(|s| PendingUser {
            live_until: (s.link_state == LinkState::Live && s.link_expires_at > now)
                .then_some(s.link_expires_at),
            email: s.recipient.email,
            display_name: s.recipient.display_name,
        })
        .collect();
    let live_links_until = pending.iter().filter_map(|p| p.live_until).max();
    let last_export = store
        .audit_trail(&batch.id)
        .await?
        .into_iter()
        .rev()
        .find(|e| e.kind == AuditKind::Exported)
        .map(|e| (e.count, e.at));
    Ok(ExportOutlook {
        pending,
        live_links_until,
        purge_at: automatic_purge_at(batch),
        last_export,
        last_recheck: store.last_recheck(&batch.id).await?,
        password_changed: store
            .password_changed_users(&batch.id)
            .await?
            .into_iter()
            .map(|(_, email)| email)
            .chain(held_back)
            .collect(),
        admin_password_refused,
        unexported: super::unexported(store, batch).await?,
    })
}

/// A finished Microsoft 365 export, held in memory until written.
pub struct M365Export {
    /// The CSV bytes (zeroized on drop).
    pub csv: Zeroizing<Vec<u8>>,
    /// Rows written.
    pub rows: usize,
    /// Email addresses of recipients who have not submitted, in roster order.
    pub missing: Vec<String>,
    /// The rows whose password a spreadsheet would run as a formula
    /// (`export::formula_risk`), as "EmailAddress (line N)" in file order: the admin is
    /// warned, naming them (never the passwords).
    pub formula_risk: Vec<String>,
    /// Email addresses of users whose last re-check found their password changed (or the
    /// admin login, or its password, refused): left out of the file unless asked
    /// (`include_stale`), and named (covered users held back for a refused admin
    /// password only when left out).
    pub stale: Vec<String>,
    /// Recipient ids of everyone who had submitted when the export read the batch
    /// (stale ones included): what `export_purge_plan` counts as not pending.
    pub submitted: std::collections::HashSet<i64>,
    /// Every submission the export read (stale ones included: left out on purpose), as
    /// (recipient id, `storage::submission_tag`): recorded with the export, so that a
    /// purge knows who submitted after it (`unexported`).
    pub seen: Vec<(i64, i64)>,
    /// Where a submission made after the read can be (`super::submitted_since`).
    pub late_watch: crate::storage::LateWatch,
}

/// Opens every password of a batch with the unlocked admin key and renders the
/// Microsoft 365 CSV. Nothing is written anywhere; the export is recorded, with what
/// `choice` does to the automatic purge (returned beside the file).
pub async fn export_m365(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    choice: PurgeChoice,
    now: i64,
) -> BatchResult<(M365Export, PurgePlan)> {
    export_m365_with(store, batch, admin, choice, false, now).await
}

/// Like `export_m365`; `include_stale` keeps the users whose last re-check found their
/// password changed (left out otherwise).
pub async fn export_m365_with(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    choice: PurgeChoice,
    include_stale: bool,
    now: i64,
) -> BatchResult<(M365Export, PurgePlan)> {
    let exported = prepare_m365_with(store, batch, admin, include_stale).await?;
    let plan = record_export_of(store, batch, &exported, choice, now).await?;
    Ok((exported, plan))
}

/// Records an export just prepared, once its file is handed over: its audit row, the
/// submissions it read (`M365Export::seen`), and the automatic purge as `choice` says
/// (`purge_plan`); returns the plan applied. `export_purge_plan` then `mark_export_of`,
/// for a caller that reads the plan while the file is still being written.
pub async fn record_export_of(
    store: &Store,
    batch: &Batch,
    exported: &M365Export,
    choice: PurgeChoice,
    now: i64,
) -> BatchResult<PurgePlan> {
    let plan = export_purge_plan(store, batch, exported, choice, now).await?;
    mark_export_of(store, batch, exported, &plan, now).await?;
    Ok(plan)
}

/// The automatic purge recording `exported` at `now` sets, as `choice` says
/// (`purge_plan`): read, nothing written. The users still pending are found from the
/// export itself (who had submitted when it read the batch) and the live links,
/// instead of `export_outlook` reading every submission again (about 70 MB of pages
/// for 50,000 users). A user who submitted after the read is in neither (their link is
/// used): `unexported` names them afterwards.
pub async fn export_purge_plan(
    store: &Store,
    batch: &Batch,
    exported: &M365Export,
    choice: PurgeChoice,
    now: i64,
) -> BatchResult<PurgePlan> {
    let covered = super::admin_login::covered_ids(store, batch).await?;
    let live_links_until = store
        .live_link_expiries(&batch.id, now)
        .await?
        .into_iter()
        .filter(|(id, _)| !exported.submitted.contains(id) && !covered.contains(id))
        .map(|(_, expires_at)| expires_at)
        .max();
    Ok(purge_plan(batch, live_links_until, choice, now))
}

/// Records `exported`, once its file is handed over, with the `plan` that
/// `export_purge_plan` read for the same `now`: the audit row, the submissions it read
/// and the purge date, in one transaction.
pub async fn mark_export_of(
    store: &Store,
    batch: &Batch,
    exported: &M365Export,
    plan: &PurgePlan,
    now: i64,
) -> BatchResult<()> {
    store
        .mark_exported(
            &batch.id,
            exported.rows,
            now,
            plan.export_purge_at,
            &exported.seen,
        )
        .await?;
    Ok(())
}

/// Like `export_m365`, but without recording the export (for a caller that may still
/// not hand the file over).
pub async fn prepare_m365(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
) -> BatchResult<M365Export> {
    prepare_export(store, batch, admin, &Target::M365, None, false).await
}

/// Like `prepare_m365`; `include_stale` keeps the users whose last re-check found their
/// password changed.
pub async fn prepare_m365_with(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    include_stale: bool,
) -> BatchResult<M365Export> {
    prepare_export(store, batch, admin, &Target::M365, None, include_stale).await
}

/// Opens every password of a batch and renders the file `target` says, without
/// recording the export; `tally` (if given) counts the passwords opened. A value the
/// format cannot carry refuses the whole file (`ExportError::CannotCarry`). Users whose
/// last re-check found their password changed are left out unless `include_stale`, and
/// named either way (`M365Export::stale`).
pub async fn prepare_export(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    target: &Target,
    tally: Option<Arc<Tally>>,
    include_stale: bool,
) -> BatchResult<M365Export> {
    let read = read_for_export(store, batch).await?;
    prepare_export_from(store, batch, admin, target, tally, include_stale, read).await
}

/// What an export reads from the database before it opens anything: the sealed
/// passwords (still sealed: only the batch key opens them), who has not submitted, and
/// whose password a re-check found changed. Needs no key, so `passdrop export` reads it
/// while Argon2 unlocks the admin key (one core each) instead of after.
pub struct ExportRead {
    submissions: Vec<crate::storage::StoredSubmission>,
    missing: Vec<String>,
    stale_users: Vec<(i64, String)>,
    late_watch: crate::storage::LateWatch,
}

/// Reads what `prepare_export_from` needs from the database (`ExportRead`).
pub async fn read_for_export(store: &Store, batch: &Batch) -> BatchResult<ExportRead> {
    let (submissions, missing, late_watch) = store.submissions_for_export(&batch.id).await?;
    let stale_users = store.password_changed_users(&batch.id).await?;
    Ok(ExportRead {
        submissions,
        missing,
        stale_users,
        late_watch,
    })
}

/// `prepare_export` with its database reads already done (`read_for_export`, for the
/// same batch).
pub async fn prepare_export_from(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    target: &Target,
    tally: Option<Arc<Tally>>,
    include_stale: bool,
    read: ExportRead,
) -> BatchResult<M365Export> {
    if matches!(target, Target::Imapsync(_)) {
        // The file names the old server: it must be the one the admin signed for.
        super::require_signed_batch_by_admin(store, admin, batch).await?;
    }
    let batch_key = open_batch_key(store, batch, admin).await?;
    let ExportRead {
        mut submissions,
        missing,
        stale_users,
        late_watch,
    } = read;
    // Everyone who had submitted when the file was read, stale or not (as
    // `export_outlook` counts them): not pending, for the purge rule.
    let submitted = submissions.iter().map(|s| s.recipient.id).collect();
    let seen = submissions
        .iter()
        .map(|s| {
            (
                s.recipient.id,
                crate::storage::submission_tag(&s.sealed.enc),
            )
        })
        .collect();
    if !include_stale {
        submissions.retain(|s| !stale_users.iter().any(|(id, _)| *id == s.recipient.id));
    }
    let mut stale: Vec<String> = stale_users.into_iter().map(|(_, email)| email).collect();
    // One X25519 exchange per password: opened off the async runtime, on every core.
    let batch_id = batch.id.clone();
    if let Some(tally) = &tally {
        tally.set_total(submissions.len());
    }
    let (submissions, passwords) = tokio::task::spawn_blocking(move || {
        let passwords = open_passwords(&batch_key, &batch_id, &submissions, tally.as_deref());
        (submissions, passwords)
    })
    .await
    .map_err(anyhow::Error::new)?;
    let passwords = passwords?;
    tracing::debug!(passwords = passwords.len(), "export: passwords opened");
    let mut rows: Vec<M365Row<'_>> = submissions
        .iter()
        .zip(&passwords)
        .map(|(s, p)| M365Row {
            email: &s.recipient.email,
            user_name: &s.recipient.user_name,
            password: p,
            user_root: s.recipient.user_root.as_deref(),
        })
        .collect();
    // Users the old server's admin login covers, who gave no password: the admin form
    // (`super::admin_login::export_row_for`).
    let covered =
        super::admin_login::covered_for_export(store, batch, admin, include_stale).await?;
    if let Some(c) = &covered {
        // Left out while the old server's refusal of the admin password stands.
        stale.extend(c.held_back.iter().cloned());
    }
    let admin_rows: Vec<(&str, super::admin_login::ExportRowFor<'_>)> = covered
        .iter()
        .flat_map(|c| {
            let (login, password) = (&c.login, &c.password);
            c.users.iter().filter_map(move |r| {
                super::admin_login::export_row_for(r, None, Some((login, password)))
                    .map(|row| (r.email.as_str(), row))
            })
        })
        .collect();
    rows.extend(
        admin_rows
            .iter()
            .map(|(email, (name, password, root))| M365Row {
                email,
                user_name: name,
                password,
                user_root: root.as_deref(),
            }),
    );
    let covered_emails: std::collections::HashSet<&str> =
        admin_rows.iter().map(|(email, _)| *email).collect();
    let missing: Vec<String> = missing
        .into_iter()
        .filter(|m| !covered_emails.contains(m.as_str()))
        .collect();
    let with_user_root = batch.has_user_root || rows.iter().any(|r| r.user_root.is_some());
    // Only Microsoft's CSV has a UserRoot column: elsewhere a userroot admin row would
    // be the admin's own login, and would migrate the admin's mailbox for the user.
    if !matches!(
        target.format(),
        export::Format::M365 | export::Format::M365PowerShell
    ) && admin_rows.iter().any(|(_, (_, _, root))| root.is_some())
    {
        return Err(export::ExportError::Setting(format!(
            "the old server's admin login uses the userroot form, which only the Microsoft 365 \
             CSV can carry (its UserRoot column); {} cannot, so export as m365 or \
             m365-powershell",
            target.format().as_str()
        ))
        .into());
    }
    let csv = target.render(&rows, with_user_root)?;
    tracing::debug!(bytes = csv.len(), "export: file rendered");
    let formula_risk = export::formula_rows(&rows, target.format());
    // The sealed passwords and the opened ones (wiped as they drop) are freed on a
    // blocking thread, off the export's way: 50,000 of each are 300,000 allocations,
    // 15-20 ms on one core (issue 21).
    let row_count = rows.len();
    drop(rows);
    tokio::task::spawn_blocking(move || drop((submissions, passwords)));
    super::admin_login::record_admin_rows(store, batch, admin_rows.len()).await?;
    Ok(M365Export {
        csv,
        rows: row_count,
        missing,
        formula_risk,
        stale,
        submitted,
        seen,
        late_watch,
    })
}

/// Purges a batch: key first, then rows, then compaction. Returns its tombstone.
pub async fn purge(store: &Store, batch: &Batch, now: i64) -> BatchResult<Tombstone> {
    Ok(store.purge_batch(&batch.id, now, LossAllowed::Any).await?)
}

/// Finishes interrupted purges and purges every batch past its retention. Returns the
/// tombstones of the batches it purged.
pub async fn purge_past_retention(store: &Store, now: i64) -> BatchResult<Vec<Tombstone>> {
    store.finish_interrupted_purges().await?;
    let due = store.batches_due_for_purge(now).await?;
    let mut purged = Vec::with_capacity(due.len());
    for b in due {
        tracing::info!(batch_id = %b.id, "purging a batch past its retention period");
        match purge(store, &b, now).await {
            Ok(t) => purged.push(t),
            // Purged; its old pages are wiped on a later round.
            Err(BatchError::Store(StoreError::WipePending { tombstone, .. })) => {
                purged.push(*tombstone);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(purged)
}

/// Runs `purge_past_retention` now and then every `MAINTENANCE_INTERVAL`, forever.
pub async fn maintenance_loop(store: Store) {
    let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
    loop {
        tick.tick().await;
        if let Err(e) = purge_past_retention(&store, crate::config::now()).await {
            tracing::error!(error = %format!("{e:#}"), "automatic purge failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn batch(export_purge_at: Option<i64>) -> Batch {
        Batch {
            expires_at: 7 * DAY,
            link_lifetime_secs: 7 * DAY,
            ask_mail_client: true,
            first_exported_at: export_purge_at.map(|t| t - DAY),
            export_purge_at,
            retain_after_expiry_secs: 7 * DAY,
            retain_after_export_secs: DAY,
            ..Batch::for_tests("b")
        }
    }

    #[test]
    fn a_partial_export_never_purges_before_the_links_expire_by_default() {
        let b = batch(None);
        let plan = purge_plan(&b, Some(7 * DAY), PurgeChoice::AfterLinksExpire, DAY);
        assert_eq!(plan.purge_at_before, 14 * DAY);
        assert_eq!(plan.purge_at, 7 * DAY);
        assert!(!plan.cuts_links_short());
        // A link reissued later than the batch's own expiry counts too.
        let plan = purge_plan(&b, Some(9 * DAY), PurgeChoice::AfterLinksExpire, DAY);
        assert_eq!(plan.purge_at, 9 * DAY);
    }

    #[test]
    fn only_the_deliberate_choice_purges_before_the_links_expire() {
        let b = batch(None);
        let plan = purge_plan(&b, Some(7 * DAY), PurgeChoice::Early, DAY);
        assert_eq!(plan.purge_at, 2 * DAY);
        assert_eq!(plan.export_purge_at, Some(2 * DAY));
        assert!(plan.cuts_links_short());
    }

    #[test]
    fn keep_collecting_leaves_the_purge_date_as_it_is() {
        for existing in [None, Some(10 * DAY)] {
            let b = batch(existing);
            let plan = purge_plan(&b, Some(7 * DAY), PurgeChoice::KeepCollecting, DAY);
            assert_eq!(plan.purge_at, plan.purge_at_before);
            assert_eq!(plan.export_purge_at, None);
            assert!(!plan.cuts_links_short());
        }
    }

    #[test]
    fn with_nobody_pending_the_export_purges_after_the_usual_retention() {
        let plan = purge_plan(&batch(None), None, PurgeChoice::AfterLinksExpire, DAY);
        assert_eq!(plan.purge_at, 2 * DAY);
        assert!(!plan.cuts_links_short());
    }

    #[test]
    fn an_export_only_ever_brings_the_purge_forward() {
        // An earlier deliberate choice stands; a later default export does not undo it.
        let b = batch(Some(2 * DAY));
        let plan = purge_plan(&b, Some(7 * DAY), PurgeChoice::AfterLinksExpire, DAY + 60);
        assert_eq!(plan.purge_at, 2 * DAY);
        assert_eq!(plan.export_purge_at, Some(2 * DAY));
        // Everyone has submitted since: the later export brings it forward.
        let b = batch(Some(7 * DAY));
        let plan = purge_plan(&b, None, PurgeChoice::AfterLinksExpire, 3 * DAY);
        assert_eq!(plan.purge_at, 4 * DAY);
        // Never past the retention after expiry.
        let plan = purge_plan(
            &batch(None),
            Some(20 * DAY),
            PurgeChoice::AfterLinksExpire,
            DAY,
        );
        assert_eq!(plan.purge_at, 14 * DAY);
        assert!(!plan.cuts_links_short());
    }

    #[test]
    fn choices_read_back_from_their_form_values() {
        for c in [
            PurgeChoice::KeepCollecting,
            PurgeChoice::AfterLinksExpire,
            PurgeChoice::Early,
        ] {
            assert_eq!(PurgeChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(PurgeChoice::parse("Early"), None);
    }
}

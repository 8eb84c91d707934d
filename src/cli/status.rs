//! `passdrop batch list` and `batch status`: the batches, and one batch's users with
//! their states (submitted, verified, probed, reported, ...).

use super::table::{Align, Table};
use super::{BatchArg, CliResult};
use crate::batch;
use crate::config::{self, TimeZoneSetting, format_time_in};
use crate::imap::WhenUnreachable;
use crate::storage::{ImapCheck, LinkState, Store};

/// Lists the batches, then the purged ones.
pub(super) async fn list(store: &Store, time_zone: &TimeZoneSetting) -> CliResult {
    let format_time = |t| format_time_in(t, time_zone);
    let batches = store.list_batches().await?;
    let tombstones = store.list_tombstones().await?;
    if batches.is_empty() && tombstones.is_empty() {
        println!(
            "No batches yet. Create one with `passdrop batch create --name NAME --roster FILE`."
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        ("ID", Align::Left),
        ("NAME", Align::Left),
        ("SUBMITTED", Align::Right),
        ("EXPIRES", Align::Left),
        ("STATE", Align::Left),
    ]);
    let now = config::now();
    for s in &batches {
        let state = if s.batch.expires_at <= now {
            "expired"
        } else {
            "collecting"
        };
        table.row(vec![
            s.batch.id.clone(),
            s.batch.name.clone(),
            format!("{}/{}", s.submitted, s.recipients),
            format_time_in(
                s.batch.expires_at,
                &TimeZoneSetting::or_stored(s.batch.time_zone.as_deref(), time_zone),
            ),
            state.to_owned(),
        ]);
    }
    for t in &tombstones {
        table.row(vec![
            t.batch_id.clone(),
            t.name.clone(),
            format!("{}/{}", t.submitted, t.recipients),
            "-".to_owned(),
            format!("purged {}", format_time(t.purged_at)),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

/// Prints each user's progress in a batch, and what to check with them.
pub(super) async fn status(
    store: &Store,
    time_zone: &TimeZoneSetting,
    batch: &BatchArg,
) -> CliResult {
    let b = batch.find(store).await?;
    let zone = TimeZoneSetting::or_stored(b.time_zone.as_deref(), time_zone);
    let format_time = |t| format_time_in(t, &zone);
    let statuses = store.recipient_statuses(&b.id).await?;
    let deliveries = store.deliveries(&b.id).await?;
    let probes = match &b.admin_login {
        Some(_) => Some(store.probe_records(&b.id).await?),
        None => None,
    };
    let now = config::now();
    println!(
        "Batch “{}” (id {}), created {}, links valid until {}",
        b.name,
        b.id,
        format_time(b.created_at),
        format_time(b.expires_at)
    );
    println!(
        "Purged automatically on {} unless you purge it sooner.",
        format_time(batch::automatic_purge_at(&b))
    );
    if let Some(imap) = &b.imap {
        println!(
            "Passwords are checked against {} ({}; when it cannot be reached: {}).",
            imap.server,
            imap.trust.describe(),
            match imap.when_unreachable {
                WhenUnreachable::AskToRetry => "users are asked to try again later",
                WhenUnreachable::AcceptUnverified => "passwords are accepted, marked not verified",
            }
        );
        if let Some(at) = batch::recent_throttling(store, &b.id, now).await? {
            println!(
                "WARNING: {}",
                batch::throttling_advice(&imap.server.to_string(), &format_time(at))
            );
        }
        let app = batch::app_password_required(store, &b.id).await?;
        if !app.is_empty() {
            let emails: Vec<&str> = app.iter().map(|(e, _)| e.as_str()).collect();
            println!(
                "The old server asked for an app password (two-step sign-in) for: {}. They \
                 were told to create one; their tries were not counted.",
                emails.join(", ")
            );
        }
    }
    if let Some(login) = &b.admin_login {
        println!(
            "Mailboxes are opened with the old server's admin login {} ({} form) wherever \
             the probe found it works; only the others get a link.",
            login.user, login.form
        );
    }
    let mut table = Table::new(&[
        ("EMAIL", Align::Left),
        ("STATUS", Align::Left),
        ("READS MAIL", Align::Left),
        ("DETAIL", Align::Left),
    ]);
    let (mut submitted, mut pending, mut pop_risk, mut attention) = (0, 0, 0, 0);
    for s in &statuses {
        let (status, detail) = match (s.submitted_at, s.link_state) {
            (Some(at), LinkState::Live) if s.link_expires_at > now => (
                "submitted",
                format!("{}; a reissued link is still open", format_time(at)),
            ),
            (Some(at), _) => ("submitted", format_time(at)),
            (None, LinkState::Live) if s.link_expires_at <= now => (
                "expired",
                format!("since {}", format_time(s.link_expires_at)),
            ),
            (None, LinkState::Live) => (
                "pending",
                format!("link valid until {}", format_time(s.link_expires_at)),
            ),
            (None, LinkState::Revoked) => ("revoked", String::new()),
            (None, LinkState::Locked) => (
                "locked",
                "too many refused attempts; reissue the link".to_owned(),
            ),
            (None, LinkState::Used | LinkState::Replaced) => ("pending", String::new()),
        };
        let email = deliveries
            .get(&s.recipient.id)
            .map(|d| match d.state.as_str() {
                "sent" if d.reminders > 0 => format!(
                    "emailed {} (reminded {}x)",
                    d.sent_at.map(format_time).unwrap_or_default(),
                    d.reminders
                ),
                "sent" => format!("emailed {}", d.sent_at.map(format_time).unwrap_or_default()),
                "failed" => format!("email failed: {}", d.last_error.as_deref().unwrap_or("")),
                "queued" => match &d.last_error {
                    Some(e) => format!("email queued, retrying ({e})"),
                    None => "email queued".to_owned(),
                },
                _ => match &d.last_error {
                    Some(e) => format!("email outcome unknown ({e}; it may have arrived)"),
                    None => "email outcome unknown (sending stopped mid-message)".to_owned(),
                },
            });
        let detail = match email {
            Some(e) if detail.is_empty() => e,
            Some(e) => format!("{detail}; {e}"),
            None => detail,
        };
        let detail = match s.imap_check {
            Some(ImapCheck::Verified) => {
                format!("{detail} (password checked with the IMAP server)")
            }
            Some(ImapCheck::Unverified) => {
                format!("{detail} (NOT checked: the IMAP server could not be reached)")
            }
            None => detail,
        };
        let detail = match &probes {
            Some(probes) if s.submitted_at.is_none() => {
                let probe = super::admin_login::probe_detail(probes, s.recipient.id);
                if detail.is_empty() {
                    probe
                } else {
                    format!("{detail}; {probe}")
                }
            }
            _ => detail,
        };
        // The user's own word comes first: it is what the admin must act on.
        let mut states = Vec::new();
        if let Some(at) = s.reported_at {
            states.push(format!(
                "REPORTED by the user {} (\"this wasn't me\")",
                format_time(at)
            ));
        }
        if let Some(at) = s.needs_help_at {
            states.push(format!("NEEDS HELP since {}", format_time(at)));
        }
        let detail = match (states.is_empty(), detail.is_empty()) {
            (true, _) => detail,
            (false, true) => states.join("; "),
            (false, false) => format!("{}; {detail}", states.join("; ")),
        };
        attention += usize::from(!states.is_empty());
        if s.submitted_at.is_some() {
            submitted += 1;
        } else {
            pending += 1;
        }
        let client = s.mail_client;
        if client.is_some_and(batch::MailClient::pop_risk) {
            pop_risk += 1;
        }
        let client_text = match client {
            Some(c) if c.pop_risk() => format!("{} (!)", c.as_str()),
            Some(c) => c.as_str().to_owned(),
            None => "-".to_owned(),
        };
        table.row(vec![
            s.recipient.email.clone(),
            status.to_owned(),
            client_text,
            detail,
        ]);
    }
    print!("{}", table.render());
    println!(
        "{submitted} submitted, {pending} not yet, {} in all",
        statuses.len()
    );
    if let Some(probes) = &probes {
        println!(
            "{}",
            super::admin_login::probe_counts(probes, statuses.len())
        );
    }
    if attention > 0 {
        println!(
            "{attention} users reported their link or asked for help: contact them through a \
             channel you trust, then clear their state on the console's batch page."
        );
    }
    if pop_risk > 0 {
        println!(
            "(!) {pop_risk} users read mail in one program on one computer, or are not sure: \
             if that program uses POP, their folders and old mail may live only on that \
             computer and will not move with the server. Check with them; if so, export \
             their mail to a PST file and import it into Microsoft 365."
        );
    }
    Ok(())
}

//! `passdrop batch recheck` (are the collected passwords still the ones the old server
//! takes?) and `passdrop batch readiness` (what will trouble the migration, with stable
//! codes; `--json` for scripts).

use std::sync::Arc;

use clap::Args;

use super::send::run_sending;
use super::smtp::{relay, smtp_settings};
use super::{BatchArg, CliResult, Context, Failure, PassphraseArgs, SmtpArgs};
use crate::batch::{self, readiness};
use crate::config;
use crate::imap::CheckGate;
use crate::outbox;

/// `passdrop batch recheck` options.
#[derive(Debug, Args)]
#[command(mut_arg("passphrase_file", |a| a.help(
    "Read the passphrase (it opens the sealed passwords) from this file instead of \
     PASSDROP_PASSPHRASE or a prompt"
)))]
pub struct RecheckArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Then issue new links to exactly the users whose password (or, for users the admin
    /// login covered, the admin login) no longer works (written as a links CSV to
    /// stdout, unless --send).
    #[arg(long, env = "PASSDROP_REISSUE_FAILED")]
    pub reissue_failed: bool,
    /// Email those new links at once (through the relay of the --smtp-* options, or the
    /// saved one).
    #[arg(long, requires = "reissue_failed")]
    pub send: bool,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The SMTP relay's settings (with --send).
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

/// `passdrop batch readiness` options.
#[derive(Debug, Args)]
pub struct ReadinessArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Print the report as one JSON object (the shape is in the README).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when any problem is listed (for scripts and CI).
    #[arg(long)]
    pub strict: bool,
    /// Do not test the old server (its problems are then not listed; the report says so).
    #[arg(long)]
    pub offline: bool,
}

/// Re-checks every submitted password at the old server, and covered users through the
/// admin login; reissues (and emails) new links to the users whose password (or admin
/// login) no longer works when asked.
pub(super) async fn recheck(ctx: &Context, args: RecheckArgs) -> CliResult {
    let store = &ctx.store;
    let configured = if args.send {
        ctx.url_for_email()?;
        smtp_settings(&args.smtp)?
    } else {
        None
    };
    let b = args.batch.find(store).await?;
    if b.imap.is_none() {
        return Err(Failure::Usage(format!(
            "batch “{}” has no old IMAP server to re-check passwords with; set one with \
             `passdrop batch set-imap`",
            b.name
        )));
    }
    let passphrase = args.passphrase.read(false)?;
    let admin = batch::unlock_admin(store, passphrase).await?;
    // Checked before anything is re-checked, so that --send cannot fail half-way.
    let settings = if args.send {
        let settings = relay(store, configured, Some(&admin)).await?;
        settings.test_connection().await.map_err(|e| {
            anyhow::anyhow!("the relay cannot be used, so nothing was re-checked: {e}")
        })?;
        Some(settings)
    } else {
        None
    };
    let gate = Arc::new(CheckGate::default());
    let mut shown = 0usize;
    let mut progress = |done: usize, total: usize| {
        // A line each tenth (and the last): enough to see it move, never a flood.
        if done == total || done * 10 / total.max(1) > shown {
            shown = done * 10 / total.max(1);
            eprintln!("re-checked {done} of {total}");
        }
    };
    let summary = batch::recheck(store, &b, &admin, &gate, &mut progress).await?;
    eprintln!(
        "Re-check ran: {} checked, {} failed (password changed), {} without a clear answer.",
        summary.checked,
        summary.password_changed.len(),
        summary.inconclusive.len()
    );
    if !summary.password_changed.is_empty() {
        eprintln!(
            "Password no longer works: {}",
            summary.password_changed.join(", ")
        );
    }
    if !summary.admin_login_refused.is_empty() {
        eprintln!(
            "The admin login no longer opens (they now need their own password): {}",
            summary.admin_login_refused.join(", ")
        );
    }
    if !summary.inconclusive.is_empty() {
        eprintln!(
            "No clear answer (run the re-check again later): {}",
            summary.inconclusive.join(", ")
        );
    }
    if summary.admin_password_refused {
        return Err(Failure::Error(anyhow::anyhow!(
            "the old server refused the admin password ([AUTHENTICATIONFAILED]): the admin \
             login of batch “{}” no longer works, so the re-check of the users it covers \
             stopped and marked nobody after it (those re-checked before keep their outcome), \
             and the export leaves them out until a re-check gets in; set it again with \
             `passdrop batch set-imap --imap-admin-password-file`",
            b.name
        )));
    }
    if !args.reissue_failed
        || (summary.password_changed.is_empty() && summary.admin_login_refused.is_empty())
    {
        return Ok(());
    }
    let url = if args.send {
        ctx.url_for_email()?
    } else {
        &ctx.url
    };
    let links = batch::reissue_password_changed(store, url, &b, config::now()).await?;
    eprintln!(
        "Issued new links for {}; their previous links no longer work.",
        links
            .iter()
            .map(|l| l.email.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Some(settings) = settings else {
        let output = super::io::Output::open(None)?;
        output.finish(&batch::links_csv(&links, false))?;
        return Ok(());
    };
    let mut letters = Vec::new();
    for link in links {
        let recipient = store.recipient(&b, &link.email).await?;
        letters.push(outbox::Letter { recipient, link });
    }
    for letter in &letters {
        let selection = outbox::Selection::One(letter.recipient.email.clone());
        outbox::enqueue(
            store,
            &b,
            std::slice::from_ref(letter),
            &selection,
            config::now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let job = outbox::Job::new(
        &b.id,
        settings,
        letters,
        ctx.settings_key.clone(),
        ctx.time_zone.clone(),
    );
    let failed = run_sending(
        store,
        &b.id,
        &job,
        1.0,
        config::DEFAULT_SEND_RETRY_WAIT,
        true,
    )
    .await?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Error(anyhow::anyhow!(
            "some new links were not emailed ({}); send them again with `passdrop send {}`",
            failed.join(", "),
            b.name
        )))
    }
}

/// Prints the readiness report (text or JSON); exit 1 with --strict when any problem is
/// listed.
pub(super) async fn readiness(ctx: &Context, args: ReadinessArgs) -> CliResult {
    let store = &ctx.store;
    let b = args.batch.find(store).await?;
    let throttling = readiness::recent_throttling_advice(store, &b, config::now()).await?;
    let server = readiness::server_problems(b.imap.as_ref(), args.offline, throttling).await;
    let report = readiness::readiness_report(store, &b, &server, config::now()).await?;
    if args.json {
        println!("{}", readiness::readiness_json(&report));
    } else {
        print!("{}", report_text(&report, &server));
    }
    if let Some(why) = &server.not_tested {
        eprintln!("The old server was not tested: {why}.");
    }
    if args.strict && report.problem_count() > 0 {
        return Err(Failure::Error(anyhow::anyhow!(
            "{} problems listed (--strict)",
            report.problem_count()
        )));
    }
    Ok(())
}

fn report_text(report: &readiness::ReadinessReport, server: &readiness::ServerProblems) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let t = &report.batch.totals;
    let _ = writeln!(
        out,
        "Readiness of batch “{}” (id {}): {} mailboxes inventoried, {} messages, {:.1} MB.",
        report.batch.name,
        report.batch.id,
        t.mailboxes,
        t.messages,
        t.bytes as f64 / 1_048_576.0
    );
    if report.server.problems.is_empty() {
        let _ = writeln!(
            out,
            "Server: {}",
            if server.not_tested.is_some() {
                "not tested"
            } else {
                "no problem found"
            }
        );
    }
    for p in &report.server.problems {
        let _ = writeln!(out, "Server: {}: {}", p.code, p.detail);
    }
    for u in &report.users {
        let mailbox = u.mailbox.as_ref().map_or(String::new(), |m| {
            format!(
                ", {} folders, {} messages, {:.1} MB",
                m.folders,
                m.messages,
                m.bytes as f64 / 1_048_576.0
            )
        });
        let _ = writeln!(out, "{} ({}{mailbox})", u.email, u.state);
        for p in &u.problems {
            let _ = writeln!(out, "  {}: {}", p.code, p.detail);
        }
    }
    let _ = writeln!(out, "{} problems listed.", report.problem_count());
    out
}

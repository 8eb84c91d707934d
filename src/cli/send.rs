//! `passdrop send`: email each user their link through the relay, and the progress of
//! a sending run (also used by `link reissue --send`).

use std::time::Duration;

use clap::Args;

use super::smtp::{relay, smtp_settings};
use super::{BatchArg, CliResult, Context, Failure, PassphraseArgs, SendingArgs, SmtpArgs};
use crate::batch;
use crate::config::{self, PublicUrl, format_time};
use crate::outbox;
use crate::storage::Store;

/// `passdrop send` options.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// A reminder: every user who has not submitted, even if already emailed.
    #[arg(long, conflicts_with = "to")]
    pub pending: bool,
    /// Only this user (by EmailAddress).
    #[arg(long)]
    pub to: Option<String>,
    /// The sending rate and retry wait.
    #[command(flatten)]
    pub sending: SendingArgs,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The SMTP relay's settings.
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

impl SendArgs {
    /// Queues the chosen users' messages and sends them, showing progress; fails if any
    /// was not sent.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        let url = ctx.url_for_email()?;
        send(&ctx.store, url, self, &ctx.settings_key, &ctx.time_zone).await
    }
}

/// Emails the links of `args.batch` (all not yet emailed, a reminder, or one user).
async fn send(
    store: &Store,
    url: &PublicUrl,
    args: SendArgs,
    key_file: &crate::batch::SettingsKeyFile,
    time_zone: &crate::config::TimeZoneSetting,
) -> CliResult {
    let retry_wait = args.sending.retry_wait()?;
    let configured = smtp_settings(&args.smtp)?;
    let b = args.batch.find(store).await?;
    let passphrase = args.passphrase.read(false)?;
    let admin = batch::unlock_admin(store, passphrase).await?;
    let settings = relay(store, configured, Some(&admin)).await?;
    let letters = outbox::letters_from_live_links(store, url, &b, &admin, config::now()).await?;
    drop(admin);
    let selection = match (&args.to, args.pending) {
        (Some(to), _) => outbox::Selection::One(to.clone()),
        (None, true) => outbox::Selection::Reminder,
        (None, false) => outbox::Selection::Unsent,
    };
    settings
        .test_connection()
        .await
        .map_err(|e| anyhow::anyhow!("the relay cannot be used, so nothing was sent: {e}"))?;
    let plan = outbox::enqueue(store, &b, &letters, &selection, config::now())
        .await
        .map_err(|e| match e {
            outbox::OutboxError::Store(e) => Failure::Error(e.into()),
            e => Failure::Error(anyhow::anyhow!("{e}")),
        })?;
    if plan.unreachable > 0 && args.to.is_none() {
        eprintln!(
            "{} users who have not submitted have no open link to email (expired, revoked or \
             locked): reissue theirs with `passdrop link reissue BATCH EMAIL --send`.",
            plan.unreachable
        );
    }
    eprintln!("Reminder: {}", crate::export::BEFORE_SENDING);
    let letters = outbox::letters_to_hold(store, &b.id, letters, &selection).await?;
    let job = outbox::Job::new(
        &b.id,
        settings,
        letters,
        key_file.clone(),
        time_zone.clone(),
    );
    let strict = matches!(selection, outbox::Selection::One(_));
    let failed = run_sending(
        store,
        &b.id,
        &job,
        args.sending.send_rate,
        retry_wait,
        strict,
    )
    .await?;
    if !plan.unknown.is_empty() {
        eprintln!(
            "Not sent again (an earlier run stopped while sending, so they may have it): {}. \
             Use --to EMAIL to send one anyway.",
            plan.unknown.join(", ")
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Error(anyhow::anyhow!(
            "not sent to: {} (see the reasons above; run the same command again to retry them)",
            failed.join(", ")
        )))
    }
}

/// The progress of a sending run on stderr: a line per message, and on a terminal an
/// `indicatif` bar below them with the rate and the time left (`cli::progress`).
struct Progress {
    /// A skipped message counts as failed (when one user was asked for).
    skipped_fails: bool,
    total: usize,
    done: usize,
    sent: usize,
    failed: Vec<String>,
    bar: super::progress::Progress,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            skipped_fails: false,
            total,
            done: 0,
            sent: 0,
            failed: Vec::new(),
            bar: super::progress::Progress::lines_only(
                "Sending",
                u64::try_from(total).unwrap_or(u64::MAX),
            ),
        }
    }

    fn say(&mut self, line: &str) {
        self.bar
            .println(&format!("[{}/{}] {line}", self.done, self.total));
        self.bar.set(u64::try_from(self.done).unwrap_or(u64::MAX));
        self.bar
            .message(format!("sent {} failed {}", self.sent, self.failed.len()));
    }

    fn event(&mut self, event: outbox::Event) {
        match event {
            outbox::Event::Sent {
                email,
                address,
                answer,
            } => {
                self.done += 1;
                self.sent += 1;
                self.say(&format!("{email}: sent to {address} ({answer})"));
            }
            outbox::Event::Retrying { email, reason, at } => self.say(&format!(
                "{email}: temporary failure ({reason}); trying again at {}",
                format_time(at)
            )),
            outbox::Event::Failed {
                email,
                attempts,
                reason,
            } => {
                self.done += 1;
                self.say(&format!("{email}: FAILED after {attempts} tries: {reason}"));
                self.failed.push(email);
            }
            outbox::Event::Unknown { email, reason } => {
                self.done += 1;
                self.say(&format!(
                    "{email}: NO CLEAR ANSWER ({reason}); it may have arrived, so it is not sent \
                     again unless you use --to"
                ));
                self.failed.push(email);
            }
            outbox::Event::Skipped { email } => {
                self.done += 1;
                self.say(&format!(
                    "{email}: skipped (the link was used, revoked or replaced meanwhile, or \
                     another run is sending to them)"
                ));
                if self.skipped_fails {
                    self.failed.push(email);
                }
            }
        }
    }

    fn finish(self) -> Vec<String> {
        let Self {
            bar,
            failed,
            sent,
            total,
            ..
        } = self;
        bar.finish();
        if total == 0 {
            eprintln!(
                "Nobody to email: everyone chosen has submitted, was emailed already, or has no \
                 open link."
            );
            return failed;
        }
        eprintln!("{sent} sent, {} failed, of {total}.", failed.len());
        failed
    }
}

/// Sends every queued message of `job`'s batch, showing progress; fails if any was
/// refused.
pub(super) async fn run_sending(
    store: &Store,
    batch_id: &str,
    job: &outbox::Job,
    rate: f64,
    retry_wait: Duration,
    skipped_fails: bool,
) -> Result<Vec<String>, Failure> {
    let total = job
        .held()
        .min(store.queued_deliveries(batch_id).await?.len());
    let mut progress = Progress::new(total);
    progress.skipped_fails = skipped_fails;
    let pacer = outbox::Pacer::new(rate);
    let policy = outbox::RetryPolicy::new(retry_wait);
    outbox::drain(store, job, &pacer, policy, &mut |e| progress.event(e)).await?;
    Ok(progress.finish())
}

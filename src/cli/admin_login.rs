//! The old server's admin login on the command line: the `--imap-admin-*` options of
//! `batch create` and `batch set-imap`, and `passdrop batch probe`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::io::Output;
use super::{BatchArg, CliResult, Context, Failure, LinksOutArg, PassphraseArgs};
use crate::batch::admin_login::{
    self, AdminForm, AdminLogin, NewAdminLogin, ProbeOutcome, SetAdminLogin,
};
use crate::batch::{self};
use crate::config;
use crate::imap::CheckGate;

/// The old server's admin (master user) login.
#[derive(Debug, Args)]
pub struct AdminLoginArgs {
    /// Use the old server's admin login instead of users' passwords wherever it works:
    /// dovecot (user*admin), exchange (Domain/Admin/User), mirapoint
    /// (#user@domain#admin#) or userroot (the admin's login with each user's UserRoot).
    /// Users are probed first; only those it does not open get a link.
    #[arg(long, env = "PASSDROP_IMAP_ADMIN_FORM", requires = "imap_admin_user")]
    pub imap_admin_form: Option<String>,
    /// The admin's login on the old server (for exchange: DOMAIN/ADMIN).
    #[arg(long, env = "PASSDROP_IMAP_ADMIN_USER", requires = "imap_admin_form")]
    pub imap_admin_user: Option<String>,
    /// Read the admin password from this file (else it is asked at a prompt; it is
    /// never taken as an option's value).
    #[arg(long, requires = "imap_admin_form")]
    pub imap_admin_password_file: Option<PathBuf>,
    /// Dovecot's master user separator (auth_master_user_separator) [default: *]
    #[arg(long, requires = "imap_admin_form")]
    pub imap_admin_separator: Option<String>,
    /// The user (EmailAddress) to try the admin login with when it is set [default: the
    /// roster's first]
    #[arg(long, requires = "imap_admin_form")]
    pub imap_admin_probe_user: Option<String>,
}

impl AdminLoginArgs {
    /// Reads the options and the admin password; `None` when no admin login is given.
    pub(super) fn read(&self) -> Result<Option<NewAdminLogin>, Failure> {
        let (Some(form), Some(user)) = (&self.imap_admin_form, &self.imap_admin_user) else {
            return Ok(None);
        };
        let form = AdminForm::parse(form)
            .map_err(|e| Failure::Usage(format!("--imap-admin-form: {e}")))?;
        let login =
            AdminLogin::new(form, user, self.imap_admin_separator.as_deref()).map_err(|e| {
                Failure::Usage(format!("--imap-admin-user/--imap-admin-separator: {e}"))
            })?;
        let password = read_admin_password(self.imap_admin_password_file.as_deref())?;
        Ok(Some(NewAdminLogin { login, password }))
    }
}

/// The admin password from a file (one trailing line end dropped) or a prompt.
fn read_admin_password(file: Option<&std::path::Path>) -> Result<SecretString, Failure> {
    let text = if let Some(path) = file {
        let raw = Zeroizing::new(std::fs::read(path).with_context(|| {
            format!("could not read the admin password file {}", path.display())
        })?);
        let text = std::str::from_utf8(&raw).map_err(|_| {
            Failure::Usage(format!(
                "the admin password file {} is not UTF-8",
                path.display()
            ))
        })?;
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        Zeroizing::new(text.to_owned())
    } else if std::io::stdin().is_terminal() {
        Zeroizing::new(
            rpassword::prompt_password("The old server's admin password: ")
                .context("could not read the admin password")?,
        )
    } else {
        return Err(Failure::Usage(
            "no admin password given: use --imap-admin-password-file FILE, or run in a terminal"
                .into(),
        ));
    };
    if text.is_empty() {
        return Err(Failure::Usage("the admin password is empty".into()));
    }
    Ok(SecretString::from(text.to_string()))
}

/// Says what setting the admin login found.
pub(super) fn print_set(batch_name: &str, set: &SetAdminLogin) {
    match &set.outcome {
        None => eprintln!("Batch “{batch_name}” no longer uses an admin login."),
        Some(ProbeOutcome::Covered) => eprintln!(
            "The admin login works: it opened {}'s mailbox. Batch “{batch_name}” now uses it; \
             the other users are probed with `passdrop batch probe` (or in the server, from the console), and \
             only those it does not open get a link.",
            set.probe_user
        ),
        Some(ProbeOutcome::NeedsPassword(words)) => eprintln!(
            "The admin password is right, but the server does not let it open {}'s mailbox \
             ({words}); they will need their own password. Batch “{batch_name}” now uses the \
             admin login; probe the others with `passdrop batch probe`.",
            set.probe_user
        ),
        Some(other) => eprintln!("The admin login was set ({other:?})."),
    }
}

/// `passdrop batch probe` options.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Where the passphrase comes from (it opens the admin password).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Where the links of the users who need them go (written after the probe).
    #[command(flatten)]
    pub links_out: LinksOutArg,
}

/// Probes every user not probed yet through the batch's admin login, showing progress,
/// then writes the links of those who need their password.
pub(super) async fn probe(ctx: &Context, args: ProbeArgs) -> CliResult {
    let store = &ctx.store;
    let b = args.batch.find(store).await?;
    if b.admin_login.is_none() {
        return Err(Failure::Error(anyhow::anyhow!(
            "batch “{}” has no admin login; set one with `passdrop batch set-imap {} \
             --imap-admin-form FORM --imap-admin-user NAME`",
            b.name,
            b.id
        )));
    }
    let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
    let output = Output::open(args.links_out.links_out.as_deref())?;
    let gate = Arc::new(CheckGate::default());
    let interactive = std::io::stderr().is_terminal();
    let summary = admin_login::probe_users(store, &b, &admin, &gate, |done, total| {
        if interactive || done == total || done % 100 == 0 {
            eprint!("\rProbed {done} of {total} users through the admin login");
            if done == total {
                eprintln!();
            }
        }
    })
    .await?;
    let links = batch::open_live_links(store, &ctx.url, &b, &admin, config::now()).await?;
    let links: Vec<_> = links.into_iter().map(|(_, link)| link).collect();
    output.finish(&batch::links_csv(&links, args.links_out.excel_bom))?;
    eprintln!(
        "{} covered by the admin login, {} need their own password, {} without a clear \
         answer (run this again later for them).",
        summary.covered, summary.needs_password, summary.unclear
    );
    eprintln!(
        "{} {} written for the users who need their password (`passdrop send {}` emails \
         only them).",
        links.len(),
        if links.len() == 1 { "link" } else { "links" },
        b.id
    );
    if summary.admin_refused {
        return Err(Failure::Error(anyhow::anyhow!(
            "the old server refused the admin password ([AUTHENTICATIONFAILED]), so probing \
             stopped at once; set it again with `passdrop batch set-imap {} --imap-admin-form \
             ... --imap-admin-user ...`",
            b.id
        )));
    }
    Ok(())
}

/// What `batch status` says about one user's probe (with an admin login set).
pub(super) fn probe_detail(
    probes: &std::collections::HashMap<i64, crate::storage::ProbeRecord>,
    recipient_id: i64,
) -> String {
    use crate::storage::ProbeState;
    match probes.get(&recipient_id) {
        Some(p) if p.state == ProbeState::Covered => {
            "covered by admin login (no link sent)".to_owned()
        }
        Some(p) if p.state == ProbeState::Requested => {
            "covered by admin login; password requested anyway".to_owned()
        }
        Some(p) => format!(
            "needs password: {}",
            p.reason
                .as_deref()
                .unwrap_or("the admin login does not open it")
        ),
        None => "not probed yet (no link until it is)".to_owned(),
    }
}

/// The two groups' sizes, for `batch status`.
pub(super) fn probe_counts(
    probes: &std::collections::HashMap<i64, crate::storage::ProbeRecord>,
    total: usize,
) -> String {
    use crate::storage::ProbeState;
    let covered = probes
        .values()
        .filter(|p| p.state == ProbeState::Covered)
        .count();
    let requested = probes
        .values()
        .filter(|p| p.state == ProbeState::Requested)
        .count();
    let needs = probes
        .values()
        .filter(|p| p.state == ProbeState::NeedsPassword)
        .count();
    format!(
        "Admin login: {covered} covered by it, {needs} need their own password, {requested} \
         covered but asked for their password anyway, {} not probed yet. Ask a covered user \
         for their password with `passdrop link reissue BATCH EMAIL`.",
        total.saturating_sub(covered + requested + needs)
    )
}

/// Before a batch is created: tries the admin login with `probe_email`'s roster row (or
/// the first), so that a refused admin password creates nothing.
pub(super) async fn try_first(
    settings: &crate::imap::ImapSettings,
    login: &NewAdminLogin,
    roster: &crate::roster::Roster,
    probe_email: Option<&str>,
) -> CliResult {
    let entry = match probe_email {
        Some(email) => roster
            .entries
            .iter()
            .find(|e| e.email.eq_ignore_ascii_case(email))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--imap-admin-probe-user: {email:?} is not in the roster"
                ))
            })?,
        None => roster
            .entries
            .first()
            .ok_or_else(|| Failure::Usage("the roster has no users".into()))?,
    };
    let recipient = crate::storage::Recipient {
        id: 0,
        batch_id: String::new(),
        roster_line: i64::try_from(entry.line).unwrap_or(i64::MAX),
        email: entry.email.clone(),
        user_name: entry.user_name.clone(),
        display_name: None,
        alternate_email: None,
        user_root: entry.user_root.clone(),
        language: None,
    };
    admin_login::try_admin_login(settings, login, &recipient)
        .await
        .map_err(|e| Failure::Error(anyhow::anyhow!("the batch was not created: {e}")))?;
    Ok(())
}

//! `passdrop doctor`: checks the settings `serve` would run with, the data directory,
//! the database, the batches' IMAP servers, the SMTP relay and the disk, and prints
//! plain-words findings, each with its fix. It exits 1 if any is a problem. Before
//! passdrop is set up (no database yet) it checks what it can and creates nothing.

use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use clap::Args;

use super::smtp::smtp_settings;
use super::{CliResult, Context, Failure, ProxyArgs, SmtpArgs};
use crate::config::{self, PublicUrl, format_time};
use crate::imap;
use crate::storage::Store;

/// `passdrop doctor` options: the settings `serve` would run with.
#[derive(Debug, Args)]
#[command(
    mut_arg("trust_proxy", |a| a.help("As for `serve`: whether proxy headers are trusted")),
    mut_arg("metrics_listen", |a| a.help("As for `serve`: the metrics address, if any"))
)]
pub struct DoctorArgs {
    /// The reverse proxy and metrics settings.
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Do not connect to the batches' IMAP servers or the SMTP relay.
    #[arg(long)]
    pub offline: bool,
    /// The SMTP relay's settings.
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

impl DoctorArgs {
    /// Examines everything, prints the findings and fails if any is a problem. `modes`
    /// are the data directory's findings, taken before the store was opened (opening it
    /// repairs file modes).
    pub(super) async fn run(self, ctx: &Context, modes: Vec<Finding>) -> CliResult {
        let mut report = examine(
            &ctx.store,
            &ctx.data_dir,
            ctx.listen,
            ctx.given_url(),
            &self,
            modes,
        )
        .await?;
        report.extend(signed_settings_findings(ctx).await?);
        report.push(time_zone_finding(&ctx.time_zone));
        conclude(&report)
    }
}

impl DoctorArgs {
    /// Before `admin init` (or `admin setup-link`) there is no database: the doctor then
    /// checks the settings, the data directory and the disk, says passdrop is not set up
    /// yet, and creates nothing. A fresh install passes; a real problem still fails.
    pub(super) fn run_before_setup(
        self,
        data_dir: &Path,
        listen: SocketAddr,
        public_url: Option<&PublicUrl>,
    ) -> CliResult {
        let mut report = data_dir_findings(data_dir);
        settings_findings(listen, public_url, &self, &mut report);
        report.push(finding(
            Level::Warning,
            format!(
                "passdrop is not set up yet: there is no database in {}",
                data_dir.display()
            ),
            "as the user the service runs as, run `passdrop admin init` (or `passdrop admin \
             setup-link` for a one-time link to choose the passphrase in a browser)",
        ));
        if data_dir.is_dir() {
            disk_findings(data_dir, &mut report);
        }
        conclude(&report)
    }
}

/// Prints the findings; an error if any is a problem.
fn conclude(report: &[Finding]) -> CliResult {
    print(report);
    if report.iter().any(|f| f.level == Level::Problem) {
        Err(Failure::Error(anyhow::anyhow!(
            "the doctor found problems; each has its fix above"
        )))
    } else {
        Ok(())
    }
}

/// The zone times are shown in.
fn time_zone_finding(zone: &config::TimeZoneSetting) -> Finding {
    ok(if zone.is_set() {
        format!(
            "times are shown in {} (--time-zone): it is now {}",
            zone.name(),
            config::format_time_in(config::now(), zone)
        )
    } else {
        "times are shown in UTC (set --time-zone, e.g. Europe/London, for local times)".to_owned()
    })
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// Fine.
    Ok,
    /// Worth a look; passdrop works.
    Warning,
    /// Puts users or data at risk, or stops passdrop from working.
    Problem,
}

/// One finding.
#[derive(Debug, Clone)]
pub(super) struct Finding {
    /// How serious it is.
    level: Level,
    /// What was found, in plain words.
    what: String,
    /// What to do about it; `None` when it is fine.
    fix: Option<String>,
}

fn ok(what: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        what: what.into(),
        fix: None,
    }
}

fn finding(level: Level, what: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        level,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

/// The settings key file and every stored setting's signature.
async fn signed_settings_findings(ctx: &Context) -> Result<Vec<Finding>, Failure> {
    let mut out = key_file_findings(ctx);
    let problems = crate::batch::settings_findings(&ctx.store, &ctx.settings_key).await?;
    if problems.is_empty() {
        out.push(ok(format!(
            "every stored setting matches its signature under {}",
            ctx.settings_key.path().display()
        )));
        return Ok(out);
    }
    out.extend(problems.into_iter().map(|p| {
        finding(
            Level::Problem,
            p,
            "until this is fixed no password is taken or sent with these settings; see \
                 `passdrop admin settings-key` and `passdrop admin sign-settings`",
        )
    }));
    Ok(out)
}

/// Where the key file sits and who can change it: whoever can replace it can sign.
fn key_file_findings(ctx: &Context) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt as _;
    let path = ctx.settings_key.path();
    let shown = path.display();
    let mut out = Vec::new();
    let inside = match (
        path.parent().map(std::fs::canonicalize),
        ctx.data_dir.canonicalize(),
    ) {
        (Some(Ok(parent)), Ok(data)) => parent.starts_with(&data),
        _ => false,
    };
    if inside {
        out.push(finding(
            Level::Problem,
            format!("the settings key file {shown} is inside the data directory"),
            "keep it outside, e.g. --settings-key-file /etc/passdrop/settings-key.pub: \
             whoever can write the data directory could otherwise replace it",
        ));
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return out;
    };
    if meta.mode() & 0o022 != 0 {
        out.push(finding(
            Level::Problem,
            format!(
                "the settings key file {shown} is writable by others (mode {:o})",
                meta.mode() & 0o777
            ),
            format!("chmod 0644 {shown}"),
        ));
    } else if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        out.push(finding(
            Level::Warning,
            format!("the settings key file {shown} is a symbolic link"),
            "whoever can change the link (or the directory it is in) can point it at another \
             key: make it a plain root-owned file",
        ));
    } else if let Some(dir) = path.parent().and_then(|d| std::fs::metadata(d).ok())
        && (dir.mode() & 0o1002 == 0o002
            || euid().is_some_and(|me| me != 0 && dir.uid() == me && meta.uid() != me))
    {
        // A directory this user owns, or anyone may write (without the sticky bit), lets
        // a key file that is not theirs be replaced by another one.
        out.push(finding(
            Level::Problem,
            format!(
                "the directory of the settings key file {shown} belongs to the user passdrop \
                 runs as, or anyone may write it (mode {:o}): the key file could be replaced",
                dir.mode() & 0o777
            ),
            "keep the key file in a root-owned directory that only root can write, e.g. \
             /etc/passdrop (root:passdrop, 0750)",
        ));
    } else if euid().is_some_and(|me| me != 0 && meta.uid() == me) {
        out.push(finding(
            Level::Warning,
            format!("the settings key file {shown} belongs to the user passdrop runs as"),
            format!(
                "fine on a development machine; on a server make it root's \
                 (chown root:root {shown}), so that this user cannot replace it"
            ),
        ));
    }
    out
}

/// This process's effective user id, from /proc (no libc needed).
fn euid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// The data directory's and its files' modes and owner, before anything opens them.
pub(super) fn data_dir_findings(dir: &Path) -> Vec<Finding> {
    let Ok(meta) = std::fs::metadata(dir) else {
        return vec![finding(
            Level::Warning,
            format!("the data directory {} does not exist yet", dir.display()),
            "it is created (0700) on first use; check that this is the directory you meant \
             (--data-dir or PASSDROP_DATA_DIR)",
        )];
    };
    let mut out = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(finding(
            Level::Problem,
            format!(
                "the data directory {} is open to other users (mode {mode:o})",
                dir.display()
            ),
            format!("chmod 700 {}", dir.display()),
        ));
    }
    if let Some(uid) = euid()
        && meta.uid() != uid
    {
        out.push(finding(
            Level::Warning,
            format!(
                "the data directory belongs to user id {}, not to the user running this \
                 (id {uid})",
                meta.uid()
            ),
            "run passdrop's commands as the user that runs the server (for example \
             sudo -u passdrop passdrop ...)",
        ));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let Ok(m) = entry.metadata() else { continue };
            let mode = m.permissions().mode() & 0o777;
            if m.is_file() && mode & 0o077 != 0 {
                out.push(finding(
                    Level::Problem,
                    format!(
                        "{} is readable by other users (mode {mode:o})",
                        entry.path().display()
                    ),
                    format!("chmod 600 {}", entry.path().display()),
                ));
            }
        }
    }
    if out.is_empty() {
        out.push(ok(format!(
            "the data directory {} and its files are private",
            dir.display()
        )));
    }
    out
}

/// Free space on the file system holding `dir`, in bytes (from `df`).
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Below this much free space, SQLite's VACUUM (which rewrites the file) at purge
/// time, and the WAL, may not fit.
const LOW_DISK_BYTES: u64 = 500 * 1024 * 1024;

/// The settings `serve` would run with: the public URL, proxy trust, metrics.
fn settings_findings(
    listen: SocketAddr,
    public_url: Option<&PublicUrl>,
    args: &DoctorArgs,
    out: &mut Vec<Finding>,
) {
    let loopback = listen.ip().is_loopback();
    match public_url {
        None => out.push(finding(
            if loopback {
                Level::Warning
            } else {
                Level::Problem
            },
            format!("no public URL is set: links will read http://{listen}/..."),
            "set --public-url https://your.host (PASSDROP_PUBLIC_URL), the address users \
             reach through your TLS proxy",
        )),
        Some(url) if !url.is_https() => out.push(finding(
            Level::Problem,
            format!(
                "the public URL {url} is not https: passwords would cross the network unencrypted"
            ),
            "put passdrop behind a TLS proxy (deploy/Caddyfile) and set --public-url https://...",
        )),
        Some(url) => out.push(ok(format!("the public URL {url} is https"))),
    }
    if args.proxy.trust_proxy && !loopback {
        out.push(finding(
            Level::Problem,
            format!(
                "proxy headers are trusted (--trust-proxy) while passdrop listens on {listen}, \
                 which is not loopback: clients that reach it directly can choose the \
                 address rate limits count"
            ),
            "listen on 127.0.0.1 behind the proxy (--listen 127.0.0.1:8080), or drop --trust-proxy",
        ));
    } else if !args.proxy.trust_proxy && loopback && public_url.is_some_and(PublicUrl::is_https) {
        out.push(finding(
            Level::Warning,
            "passdrop listens on loopback behind what looks like a proxy, but does not trust \
             its headers: every user would share the proxy's rate limit",
            "pass --trust-proxy (PASSDROP_TRUST_PROXY=true) if a proxy on this machine sets \
             X-Forwarded-For",
        ));
    } else {
        out.push(ok("proxy header trust matches the listen address"));
    }
    if let Some(m) = args.proxy.metrics_listen
        && !m.ip().is_loopback()
    {
        out.push(finding(
            Level::Warning,
            format!("metrics are served on {m}, which is not loopback"),
            "bind metrics to 127.0.0.1 (or a private network) and scrape from there",
        ));
    }
}

/// Everything else: settings, the database, the IMAP servers, the disk.
async fn examine(
    store: &Store,
    dir: &Path,
    listen: SocketAddr,
    public_url: Option<&PublicUrl>,
    args: &DoctorArgs,
    mut out: Vec<Finding>,
) -> anyhow::Result<Vec<Finding>> {
    settings_findings(listen, public_url, args, &mut out);
    if store.admin_exists().await? {
        out.push(ok("an admin passphrase is set"));
    } else {
        out.push(finding(
            Level::Problem,
            "no admin exists yet: nothing can be collected",
            "run `passdrop admin init`, or `passdrop admin setup-link` for a one-time link to \
             choose it in a browser",
        ));
    }
    let now = config::now();
    let batches = store.list_batches().await?;
    let latest = batches.iter().map(|b| b.batch.created_at).max();
    match latest {
        Some(t) if t > now + 300 => out.push(finding(
            Level::Problem,
            format!(
                "this machine's clock ({}) is behind a batch created at {}: links would \
                 expire at the wrong time",
                format_time(now),
                format_time(t)
            ),
            "set the clock right (for example with systemd-timesyncd or chrony)",
        )),
        _ => out.push(ok(format!("the clock reads {}", format_time(now)))),
    }
    let due = store.batches_due_for_purge(now).await?;
    if due.is_empty() {
        out.push(ok("no batch is past its retention period"));
    } else {
        let names: Vec<&str> = due.iter().map(|b| b.name.as_str()).collect();
        out.push(finding(
            Level::Warning,
            format!(
                "{} batch(es) past retention are not purged yet: {}",
                due.len(),
                names.join(", ")
            ),
            "`passdrop serve` purges them within a minute of starting; or run `passdrop \
             purge BATCH`",
        ));
    }
    for s in &batches {
        let Some(settings) = &s.batch.imap else {
            continue;
        };
        if args.offline {
            continue;
        }
        let mut report = imap::check_connection(settings).await;
        if let Some(at) = crate::batch::recent_throttling(store, &s.batch.id, config::now()).await?
        {
            report.throttling = Some(crate::batch::throttling_advice(
                &settings.server.to_string(),
                &format_time(at),
            ));
        }
        for p in imap::microsoft_view::problems(&report) {
            if p.code == "server_unreachable" {
                continue; // said below
            }
            out.push(finding(
                Level::Warning,
                format!(
                    "batch “{}”: as Microsoft 365 will see {} ({}): {}",
                    s.batch.name, settings.server, p.code, p.detail
                ),
                format!(
                    "run `passdrop batch check-imap {}` for the whole report",
                    s.batch.id
                ),
            ));
        }
        match &report.problem {
            None => out.push(ok(format!(
                "batch “{}”: passwords can be checked against {}",
                s.batch.name, settings.server
            ))),
            Some(p) => out.push(finding(
                Level::Problem,
                format!(
                    "batch “{}”: passwords cannot be checked against {}: {p}",
                    s.batch.name, settings.server
                ),
                format!(
                    "run `passdrop batch check-imap {}` for details, then fix the server or \
                     `passdrop batch set-imap`",
                    s.batch.id
                ),
            )),
        }
    }
    let saved = store.smtp_settings().await?;
    match (&args.smtp.smtp_host, saved) {
        (None, None) => out.push(ok(
            "no SMTP relay is set (it is needed only to email the links with `passdrop send`)",
        )),
        (None, Some(saved)) => out.push(ok(format!(
            "the SMTP relay saved in the console: {}:{} ({}); tested when sending",
            saved.host, saved.port, saved.security
        ))),
        (Some(host), _) => match smtp_settings(&args.smtp) {
            Err(f) => {
                let e = f.to_string();
                out.push(finding(
                    Level::Problem,
                    format!("the SMTP settings: {e}"),
                    "fix the --smtp-* settings (PASSDROP_SMTP_*)",
                ));
            }
            Ok(_) if args.offline => {}
            Ok(None) => {}
            Ok(Some(settings)) => match settings.test_connection().await {
                Ok(()) => out.push(ok(format!("the SMTP relay {host} answers"))),
                Err(e) => out.push(finding(
                    Level::Problem,
                    format!("the SMTP relay {host} cannot be used: {e}"),
                    "check the host, port and --smtp-security, then `passdrop smtp test --to YOU`",
                )),
            },
        },
    }
    if let Err(reason) = store.can_write().await {
        out.push(finding(
            Level::Problem,
            format!("nothing can be saved: {reason}"),
            "free space on that disk (or repair it): meanwhile users who submit are told to \
             try again later, their links stay usable, and passdrop recovers by itself",
        ));
    }
    disk_findings(dir, &mut out);
    Ok(out)
}

/// Free space where the data directory is (nothing when it cannot be measured).
fn disk_findings(dir: &Path, out: &mut Vec<Finding>) {
    match free_bytes(dir) {
        Some(free) if free < LOW_DISK_BYTES => out.push(finding(
            Level::Warning,
            format!(
                "only {} MB free where the data directory is",
                free / (1024 * 1024)
            ),
            "free some space: purging rewrites the database file and needs room for a copy",
        )),
        Some(free) => out.push(ok(format!("{} MB free", free / (1024 * 1024)))),
        None => {}
    }
}

/// Prints the findings, problems first.
fn print(findings: &[Finding]) {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| match f.level {
        Level::Problem => 0,
        Level::Warning => 1,
        Level::Ok => 2,
    });
    for f in sorted {
        let tag = match f.level {
            Level::Ok => "ok     ",
            Level::Warning => "WARNING",
            Level::Problem => "PROBLEM",
        };
        println!("{tag}  {}", f.what);
        if let Some(fix) = &f.fix {
            println!("         fix: {fix}");
        }
    }
}

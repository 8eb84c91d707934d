//! `passdrop backup` and `passdrop restore`: a consistent copy of the database taken
//! while the server runs, and putting one back into a new data directory.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliResult, Context};
use crate::storage::{self, BackupSummary};

/// `passdrop backup` options.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (created 0600; an existing file is never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

impl BackupArgs {
    /// Writes the copy and says what it holds.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        let summary = ctx.store.backup_to(&self.out).await?;
        eprintln!("Wrote {}: {}.", self.out.display(), describe(&summary));
        eprintln!(
            "It holds sealed data only (passwords and links are useless without the admin \
             passphrase); purged batches are not in it. It outlives any later purge: keep it \
             only as long as you need it, and delete it once the migration is done."
        );
        Ok(())
    }
}

/// `passdrop restore` options.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (made by `passdrop backup`).
    #[arg(value_name = "FILE")]
    pub backup: PathBuf,
}

impl RestoreArgs {
    /// Checks the copy and puts it into `--data-dir`, which must hold no database yet.
    pub(super) async fn run(self, data_dir: &Path) -> CliResult {
        let summary = storage::restore_into(&self.backup, data_dir).await?;
        eprintln!(
            "Restored {} into {}: {}. Start the server on that data directory.",
            self.backup.display(),
            data_dir.display(),
            describe(&summary)
        );
        Ok(())
    }
}

/// A backup's contents in words.
fn describe(s: &BackupSummary) -> String {
    format!(
        "{} bytes, {} batches with {} users and {} sealed passwords, {} purged batches \
         (their tombstones only)",
        s.bytes, s.batches, s.recipients, s.submissions, s.tombstones
    )
}

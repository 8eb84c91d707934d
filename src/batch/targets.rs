//! What the export formats need from a batch beyond its rows: the old server the
//! PowerShell script and the imapsync file name, and the script itself. Only values the
//! admin set go in, and the folder names the inventory found a problem with (quoted like
//! every value); nothing is stored.

use super::{BatchError, BatchResult, SettingsKeyFile};
use crate::export::imapsync::{DestLogin, Imapsync};
use crate::export::powershell::{self, Script};
use crate::export::{SourceServer, Target};
use crate::imap::Security;
use crate::storage::{Batch, Store};

/// The batch's old server, as the export files name it; an error when it has none.
pub fn source_server(batch: &Batch) -> BatchResult<SourceServer> {
    let Some(imap) = &batch.imap else {
        return Err(BatchError::InvalidName(format!(
            "batch “{}” has no old IMAP server, which this format names; set it first \
             (`passdrop batch set-imap`, or the batch's old-server page)",
            batch.name
        )));
    };
    Ok(SourceServer {
        host: imap.server.host.clone(),
        port: imap.server.port,
        implicit_tls: imap.server.security == Security::ImplicitTls,
    })
}

/// The imapsync target: the batch's old server to `dest_host`, logging in as
/// `dest_login` there.
pub fn imapsync_target(
    batch: &Batch,
    dest_host: &str,
    dest_login: DestLogin,
) -> BatchResult<Target> {
    Ok(Target::Imapsync(Imapsync::new(
        source_server(batch)?,
        dest_host,
        dest_login,
    )?))
}

/// The PowerShell script that creates the endpoint and the migration batch from the CSV
/// named `csv_file_name` beside it. It names the old server, so the batch's settings must
/// match their signature under the key file first (a server changed in the database would
/// send every password there). It leaves out, for every mailbox, the folders the
/// inventory found a problem with (a `/` in the name, Gmail labels, shared namespaces).
pub async fn powershell_script(
    store: &Store,
    key_file: &SettingsKeyFile,
    batch: &Batch,
    csv_file_name: &str,
    max_concurrent: u32,
) -> BatchResult<String> {
    super::require_signed_batch(store, key_file, batch).await?;
    let source = source_server(batch)?;
    let mut exclude_folders: Vec<String> = store
        .user_readiness(&batch.id)
        .await?
        .into_iter()
        .filter_map(|r| r.inventory)
        .flat_map(|(inv, _)| inv.problem_folders.into_iter().map(|(_, name)| name))
        .collect();
    exclude_folders.sort();
    exclude_folders.dedup();
    exclude_folders.truncate(MAX_EXCLUDED_FOLDERS);
    Ok(powershell::render_script(&Script {
        batch_name: &batch.name,
        source: &source,
        csv_file_name,
        max_concurrent,
        exclude_folders: &exclude_folders,
    })?)
}

/// The most folder names the script leaves out.
const MAX_EXCLUDED_FOLDERS: usize = 200;

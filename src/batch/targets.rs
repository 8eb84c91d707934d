//! What the export formats need from a batch beyond its rows: the old server the
//! PowerShell script and the imapsync file name, and the script itself. Only values the
//! admin set go in; nothing is stored.

use super::{BatchError, BatchResult};
use crate::export::imapsync::{DestLogin, Imapsync};
use crate::export::powershell::{self, Script};
use crate::export::{SourceServer, Target};
use crate::imap::Security;
use crate::storage::Batch;

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
/// named `csv_file_name` beside it, leaving out `exclude_folders`.
pub fn powershell_script(
    batch: &Batch,
    csv_file_name: &str,
    max_concurrent: u32,
    exclude_folders: &[String],
) -> BatchResult<String> {
    let source = source_server(batch)?;
    Ok(powershell::render_script(&Script {
        batch_name: &batch.name,
        source: &source,
        csv_file_name,
        max_concurrent,
        exclude_folders,
    })?)
}

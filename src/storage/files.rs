//! The data directory (0700) and the database files (0600).

use super::*;

pub(super) fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("could not set permissions on {}", path.display()))
}

/// Creates the data directory (0700) if needed and tightens it if it exists.
pub(super) fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        use std::os::unix::fs::DirBuilderExt as _;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| {
                format!("could not create the data directory {}", data_dir.display())
            })?;
    }
    if !data_dir.is_dir() {
        anyhow::bail!("{} exists but is not a directory", data_dir.display());
    }
    set_mode(data_dir, 0o700)
}

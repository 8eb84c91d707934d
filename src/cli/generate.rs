//! `passdrop generate` (hidden): writes the man pages and the shell completions from the
//! command line's own definitions, so they cannot drift from `--help`. The Debian
//! package's build (`scripts/build-deb.sh`) runs it and ships what it writes.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory as _, Subcommand};
use clap_complete::Shell;

use super::{Cli, CliResult, Failure};

/// What to generate.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write the man pages: passdrop.1 and one page per command (passdrop-batch-create.1, ...).
    Man(OutDirArg),
    /// Write the bash (passdrop.bash), zsh (_passdrop) and fish (passdrop.fish) completions.
    Completions(OutDirArg),
}

/// Where the generated files go.
#[derive(Debug, Args)]
pub struct OutDirArg {
    /// An existing directory to write the files into (files of the same names are replaced).
    #[arg(long)]
    pub out_dir: PathBuf,
}

impl GenerateCommand {
    /// Writes the files and names each on stdout.
    pub(super) fn run(self) -> CliResult {
        let (dir, written) = match self {
            Self::Man(arg) => {
                check_dir(&arg.out_dir)?;
                clap_mangen::generate_to(Cli::command(), &arg.out_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "could not write man pages into {}: {e}",
                        arg.out_dir.display()
                    )
                })?;
                let mut names: Vec<String> = std::fs::read_dir(&arg.out_dir)?
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("passdrop") && n.ends_with(".1"))
                    .collect();
                names.sort();
                (arg.out_dir, names)
            }
            Self::Completions(arg) => {
                check_dir(&arg.out_dir)?;
                let mut names = Vec::new();
                for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                    let path = clap_complete::generate_to(
                        shell,
                        &mut Cli::command(),
                        "passdrop",
                        &arg.out_dir,
                    )
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "could not write the {shell} completions into {}: {e}",
                            arg.out_dir.display()
                        )
                    })?;
                    names.push(
                        path.file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    );
                }
                (arg.out_dir, names)
            }
        };
        for name in written {
            println!("{}", dir.join(name).display());
        }
        Ok(())
    }
}

/// `--out-dir` must be an existing directory: a typo should not scatter files.
fn check_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "--out-dir {} is not an existing directory",
            dir.display()
        )))
    }
}

//! Parsing the command line, with a `--config` TOML file filling in what neither a flag
//! nor a `PASSDROP_*` variable gave: each setting is re-injected as its long option, so
//! clap checks it exactly as if it had been typed.

use std::path::PathBuf;

use super::Cli;

/// Parses the command line, with the settings of `--config FILE` (or
/// `PASSDROP_CONFIG`, or the build's default file, see `config::BUILT_IN_CONFIG`)
/// filling in what neither a flag nor a variable gave. On bad usage
/// it prints clap's message (or the file's problem) and exits with status 2.
pub fn parse_args() -> Cli {
    match parse_args_from(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(ArgsError::Clap(e)) => e.exit(),
        Err(ArgsError::Config(message)) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}

/// Why the command line could not be parsed.
#[derive(Debug)]
pub enum ArgsError {
    /// clap's own error (also `--help` and `--version`).
    Clap(clap::Error),
    /// A problem in the configuration file.
    Config(String),
}

/// Parses `args` (the program name first) as `parse_args` does.
pub fn parse_args_from(mut args: Vec<std::ffi::OsString>) -> Result<Cli, ArgsError> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let command = Cli::command();
    let matches = command
        .clone()
        .try_get_matches_from(&args)
        .map_err(ArgsError::Clap)?;
    let named = matches.get_one::<PathBuf>("config").cloned();
    // The build's own default (the Debian package's /etc/passdrop/passdrop.toml) counts
    // unless it is missing (`passdrop generate` runs on a build machine without it); one
    // this user may not read is an error, not a silent fallback to other settings.
    let built_in = || {
        crate::config::BUILT_IN_CONFIG.map(PathBuf::from).filter(
            |p| !matches!(std::fs::metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound),
        )
    };
    let is_built_in = named.is_none();
    let Some(path) = named.or_else(built_in) else {
        return Cli::from_arg_matches(&matches).map_err(ArgsError::Clap);
    };
    let shown = path.display();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let hint = if is_built_in {
            " (the default settings file: run passdrop as the passdrop user, e.g. \
             runuser -u passdrop -- passdrop ..., or name another with --config)"
        } else {
            ""
        };
        ArgsError::Config(format!(
            "could not read the configuration file {shown}: {e}{hint}"
        ))
    })?;
    let table: toml::Table = text.parse().map_err(|e| {
        ArgsError::Config(format!(
            "the configuration file {shown} is not valid TOML: {e}"
        ))
    })?;
    // Every option any command has, and the ones the command being run accepts.
    fn all_options(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        for a in cmd.get_arguments() {
            if let Some(long) = a.get_long() {
                out.push((a.get_id().to_string(), long.to_owned()));
            }
        }
        for sub in cmd.get_subcommands() {
            all_options(sub, out);
        }
    }
    let mut known = Vec::new();
    all_options(&command, &mut known);
    let mut leaf_cmd = &command;
    let mut leaf = &matches;
    let mut accepted: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    while let Some((name, sub)) = leaf.subcommand() {
        let Some(next) = leaf_cmd.find_subcommand(name) else {
            break;
        };
        leaf_cmd = next;
        leaf = sub;
        accepted.extend(leaf_cmd.get_arguments().map(|a| a.get_id().to_string()));
    }
    for (key, value) in &table {
        let id = key.replace('-', "_");
        if id == "config" {
            return Err(ArgsError::Config(format!(
                "{shown}: a configuration file cannot name another one"
            )));
        }
        let Some((_, long)) = known.iter().find(|(k, _)| *k == id) else {
            return Err(ArgsError::Config(format!(
                "{shown}: “{key}” is not a passdrop setting (settings are the long option \
                 names, e.g. public_url or rate_limit)"
            )));
        };
        if !accepted.contains(&id) {
            continue; // another command's setting
        }
        let given = [&matches, leaf].iter().any(|m| {
            m.ids().any(|i| i.as_str() == id)
                && matches!(
                    m.value_source(&id),
                    Some(
                        clap::parser::ValueSource::CommandLine
                            | clap::parser::ValueSource::EnvVariable
                    )
                )
        });
        if given {
            continue;
        }
        match value {
            toml::Value::Boolean(true) => args.push(format!("--{long}").into()),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => args.push(format!("--{long}={s}").into()),
            toml::Value::Integer(n) => args.push(format!("--{long}={n}").into()),
            other => {
                return Err(ArgsError::Config(format!(
                    "{shown}: {key} must be a string, a number or true/false, not {}",
                    other.type_str()
                )));
            }
        }
    }
    let matches = command
        .try_get_matches_from(&args)
        .map_err(ArgsError::Clap)?;
    Cli::from_arg_matches(&matches).map_err(ArgsError::Clap)
}

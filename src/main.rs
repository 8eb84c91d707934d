//! The `passdrop` command: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = passdrop::cli::parse_args();
    passdrop::cli::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(passdrop::cli::run(cli))
}

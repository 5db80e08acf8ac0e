//! `sweep`: conpar's experiments across core counts into a run folder.
//! `scripts/sweep` builds this binary and runs it; `sweep --help` teaches
//! the flags and the run folder. The steps are in [`conpar_sweep::run`].

use std::process::ExitCode;

use clap::Parser;
use conpar_sweep::{Cli, EXIT_FAILED, EXIT_USAGE};
use harness::UsageError;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Bad flags exit 2 here, with clap's message naming the flag.
    let cli = Cli::parse();
    match conpar_sweep::run(cli, &argv) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("sweep: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

//! How conpar measures, shared by every concept binary.
//!
//! A binary's `main` calls [`run_main`]; its `run` parses flags (the shared
//! ones are [`cli::Common`] and the per-experiment structs in [`cli`], defined
//! once here and flattened into every binary), then opens a [`Session`], which
//! pins the process with `--cores` *before any thread exists*, installs the
//! deadline and the child guard, measures the harness's own per-sample
//! overhead, and from then on turns each measured case into a [`Record`].
//!
//! The concept crates supply only what differs between models: how to start,
//! switch or reap their unit. They never aggregate; `report` does. What a
//! record is, and the rules of the claims, live in the `record` crate, which
//! this one re-exports ([`Record`], [`claims`], [`hist`]).
//!
//! This crate starts no async runtime and no background thread (the progress
//! display has no tick thread), so a binary may still `fork` after opening a
//! session.

pub mod calibrate;
pub mod cli;
pub mod cores;
pub mod guard;
pub mod interference;
pub mod kitchen;
pub mod limits;
pub mod machine;
pub mod model;
pub mod placement;
pub mod rusage;
pub mod sample;
mod session;
pub mod sink;
pub mod testkit;
mod ui;
pub mod work;

pub use cli::Common;
pub use cores::CoreSet;
pub use model::Model;
pub use placement::Placement;
pub use record::claims::{self, Claim};
pub use record::{Interference, Latency, Record, SCHEMA, Verdict, hist, stats};
pub use sample::{Schedule, Timer};
pub use session::{Case, Outcome, Session, select};
pub use ui::{fmt_ns, fmt_si};

use std::process::ExitCode;

/// An error in what the user asked for: a bad flag value, a flag combination
/// that cannot work here, an unwritable `--out`, a limit too low for the run.
/// Binaries exit with code 2 for these, and 1 for failures during a run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns a [`UsageError`] from a format string.
#[macro_export]
macro_rules! usage_bail {
    ($($arg:tt)*) => {
        return Err($crate::UsageError(format!($($arg)*)).into())
    };
}

/// Exit code for a run that failed while measuring.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for bad input (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

/// The body of every binary's `main`: runs `run`, and on error kills any
/// children still registered with the [`guard`], prints the error chain on
/// stderr and picks the exit code (2 for a [`UsageError`], else 1).
pub fn run_main(run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            guard::kill_children();
            ui::error(&format!("{err:#}"));
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

//! `report`: reads conpar records (files or run folders) and writes the
//! comparison tables, CSV, SVG plots and the claims table.
//!
//! Without `--out` it prints `summary.md` on stdout; with `--out DIR` it
//! writes every output into DIR. A malformed record stops it with the file
//! and line (exit 2); it never deletes or edits a record.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use report::{Report, UsageError};

/// Reads conpar records and writes the comparison tables, plots and verdicts.
///
/// Repetitions are merged by adding their histograms; speedup, efficiency,
/// Karp–Flatt and Amdahl's serial fraction come from the core counts
/// measured; every claim C1–C13 gets a verdict or "not measured".
#[derive(Debug, Parser)]
#[command(name = "report", version, max_term_width = 100)]
struct Cli {
    /// Record files (JSON Lines), or run folders (their raw/*.jsonl)
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Write summary.md, cases.csv, scaling.csv, figures.csv, claims.csv and
    /// the SVG plots into DIR (created if missing; the report's own files in it
    /// are replaced) [default: print summary.md on stdout]
    #[arg(long, allow_negative_numbers = true, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let loaded = report::load::load_paths(&cli.paths)?;
    let report = Report::new(loaded);
    match cli.out {
        Some(dir) => {
            let written = report
                .write_dir(&dir)
                .map_err(|e| UsageError(format!("cannot write --out {}: {e:#}", dir.display())))?;
            eprintln!(
                "report: {} records, {} cases; wrote {} files to {}",
                report.loaded.len(),
                report.cases.len(),
                written.len(),
                dir.display()
            );
        }
        None => print!("{}", report.summary(&[])),
    }
    Ok(())
}

//! `report`: reads conpar records (files or run folders) and writes the
//! comparison tables, CSV, SVG plots, `index.html` and the claims table;
//! compares two runs (`--compare A B`); exports Bencher Metric Format
//! (`--export bencher`).
//!
//! Without `--out` it prints to stdout; with `--out DIR` it writes into DIR.
//! A malformed record stops it with the file and line (exit 2); it never
//! deletes or edits a record.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use report::{Report, UsageError};

/// Reads conpar records and writes the comparison tables, plots and verdicts.
///
/// Records stream through twice and merge into cases as they are read:
/// repetitions by adding their histograms; speedup, efficiency, Karp–Flatt
/// and Amdahl's serial fraction come from the core counts measured; every
/// claim gets a verdict (holds, does not hold, inconclusive with its reason)
/// or "not measured". Records of different machines are never merged: the
/// claims get one column per machine.
///
/// Examples:
///   report results/2026-11-23-linux-vm                 # summary.md on stdout
///   report results/RUN --out results/RUN               # index.html, summary.md, CSV, SVG
///   report --compare results/RUN_A results/RUN_B       # what changed, beyond the noise
///   report results/RUN --export bencher > bmf.json     # for bencher.dev
#[derive(Debug, Parser)]
#[command(name = "report", version, max_term_width = 100, verbatim_doc_comment)]
struct Cli {
    /// Record files (JSON Lines), or run folders (their raw/*.jsonl)
    #[arg(value_name = "PATH", required_unless_present = "compare")]
    paths: Vec<PathBuf>,

    /// Compare run A with run B (each a run folder or a record file): per
    /// case the ratio of ops/s and whether it is faster, slower or within
    /// the noise of the repetitions; per claim whether the outcome changed
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["paths", "export"])]
    compare: Option<Vec<PathBuf>>,

    /// Write another format instead of the report: `bencher` (Bencher Metric
    /// Format JSON: throughput and latency per case, with the spread of the
    /// repetitions as lower and upper values)
    #[arg(long, value_enum, value_name = "FORMAT")]
    export: Option<Export>,

    /// Write into DIR (created if missing; the report's own files in it are
    /// replaced): index.html, summary.md, cases.csv, scaling.csv,
    /// figures.csv, claims.csv and the SVG plots; with --compare, compare.md;
    /// with --export bencher, bencher.json [default: stdout]
    #[arg(long, allow_negative_numbers = true, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Formats `--export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Export {
    /// Bencher Metric Format (JSON).
    Bencher,
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

/// Writes `text` to `DIR/name` (the folder created if missing), or prints it.
fn emit(out: Option<&PathBuf>, name: &str, text: &str) -> anyhow::Result<()> {
    match out {
        Some(dir) => {
            let write = || -> std::io::Result<()> {
                std::fs::create_dir_all(dir)?;
                std::fs::write(dir.join(name), text)
            };
            write()
                .map_err(|e| UsageError(format!("cannot write --out {}: {e}", dir.display())))?;
            eprintln!("report: wrote {}", dir.join(name).display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(ab) = &cli.compare {
        let a = Report::from_paths(&ab[..1])?;
        let b = Report::from_paths(&ab[1..])?;
        let text = report::compare::markdown(
            &a,
            &b,
            &ab[0].display().to_string(),
            &ab[1].display().to_string(),
        );
        return emit(cli.out.as_ref(), "compare.md", &text);
    }
    let report = Report::from_paths(&cli.paths)?;
    if let Some(Export::Bencher) = cli.export {
        let json = serde_json::to_string_pretty(&report::bencher::bmf(&report))?;
        return emit(cli.out.as_ref(), "bencher.json", &format!("{json}\n"));
    }
    match cli.out {
        Some(dir) => {
            let written = report
                .write_dir(&dir)
                .map_err(|e| UsageError(format!("cannot write --out {}: {e:#}", dir.display())))?;
            eprintln!(
                "report: {} records, {} cases; wrote {} files to {}",
                report.provenance.records,
                report.cases.len(),
                written.len(),
                dir.display()
            );
        }
        None => print!("{}", report.summary(&[])),
    }
    Ok(())
}

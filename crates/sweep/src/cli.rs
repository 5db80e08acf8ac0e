//! The sweep's flags and its help. A value that cannot be right on any
//! machine is refused by clap (exit 2, naming the flag); what depends on
//! this machine or on the table (`--cores-list` against the allowed CPUs,
//! `--only` matching no row, a `--bin-dir` lacking binaries, an `--out` that
//! exists) is checked in [`crate::run`] before anything is built.

use std::path::PathBuf;

use clap::Parser;
use regex::Regex;

const ABOUT: &str = "Runs conpar's experiments across core counts into a results run folder";

const LONG_ABOUT: &str = "\
Runs every experiment of conpar's table across core counts into a run folder.

Checks the OS limits, builds the binaries in release (cargo build --release --locked; \
--bin-dir skips it), calibrates the CPU kernel once and passes the same --units-per-ms \
(and --work-units for cpu and gil) to every run, so every record of an experiment does \
identical work (the python rows run with python3 on PATH and each free-threaded python3.Nt \
found, each calibrated in its own units; --quick runs only gil with a free-threaded one). \
Every case runs --reps times, each repetition its own process. A failed \
run is reported and the sweep goes on; Ctrl-C stops the running benchmark and the sweep, \
keeping the records written so far. Last, `report` turns the records into index.html (open \
it in a browser: the claims first, each with its numbers and plots), summary.md, CSV and SVG.

Progress goes to stderr when it is a terminal; otherwise the sweep is quiet but for \
errors. stdout carries only the list --plan prints.";

const AFTER_HELP: &str = "\
The run folder, results/<date>-<os>-<host>/ (…-2, …-3 when that exists already, so a \
second sweep on the same day gets its own), or --out DIR (which must not exist):
  README.md          the command, git revision, toolchain, machine, load, calibration,
                     and every run with its flags, seconds and result
  raw/*.jsonl        the records, one file per binary × experiment (never edited;
                     results/README.md documents them)
  logs/*.log         what each binary printed (its tables and verdicts), every run
                     after a `== command` line
  index.html, summary.md, *.csv, *.svg
                     from `report`; regenerate with: target/release/report DIR --out DIR

How long: --quick about 75 s on 2 CPUs; a full sweep about 6 minutes on 2 CPUs and 7 \
on 16, about a minute more for each free-threaded python found, plus the release build (a minute \
or two when nothing is built yet).

Exit codes: 0 every run and the report succeeded; 1 a run or the report failed (the \
records written are kept); 2 bad usage or too-low OS limits (nothing was run); 130 \
stopped by Ctrl-C.

Examples:
  scripts/sweep --quick                     the whole suite, short, into results/
  scripts/sweep --plan                      what a full sweep would run, one run a line
  scripts/sweep --only '^thread (cpu|gil)$' --cores-list 1,2,4 --reps 5
  scripts/sweep --quick --out /tmp/try      a scratch run folder
  scripts/sweep --bin-dir ~/conpar-bin      binaries built elsewhere: no toolchain needed

The experiment table (which rows, core counts and flags) is in crates/sweep/src/table.rs.";

/// `scripts/sweep`'s flags.
#[derive(Debug, Parser)]
#[command(
    name = "sweep",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// The whole suite in under a minute and a half on 2 CPUs: core counts 1 and the most,
    /// short cases, 3 repetitions (each verdict is the majority's)
    #[arg(long)]
    pub quick: bool,

    /// Repetitions of every case, each its own process; a claim's verdict is the majority's
    /// [default: 3]
    #[arg(long, value_name = "K", value_parser = parse_reps)]
    pub reps: Option<u32>,

    /// Core counts to sweep, comma-separated [default: 1,2,4,… up to the CPUs this process may
    /// use, always including that maximum; quick: 1 and the maximum]
    #[arg(long, value_name = "LIST", value_parser = parse_core_list)]
    pub cores_list: Option<CoreList>,

    /// Run only the rows whose "binary experiment" matches REGEX (e.g. '^thread cpu$', 'echo')
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub only: Option<Regex>,

    /// Write the run folder here; it must not exist [default:
    /// results/<date>-<os>-<host>, with -2, -3, … when that exists]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Use the release binaries already in DIR and build nothing (for a machine without a
    /// Rust toolchain; the records still name the git revision they were built from)
    #[arg(long, value_name = "DIR", value_parser = parse_dir)]
    pub bin_dir: Option<PathBuf>,

    /// Print the runs that would be made on stdout, one a line, and exit
    #[arg(long)]
    pub plan: bool,
}

/// `--cores-list`: core counts, ascending, each once (a type of its own, as
/// clap would take a `Vec` field for a flag given many times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreList(pub Vec<u32>);

fn parse_core_list(s: &str) -> Result<CoreList, String> {
    crate::plan::parse_cores_list(s).map(CoreList)
}

fn parse_reps(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("must be a whole number of 1 or more, not '{s}'")),
    }
}

fn parse_regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| format!("not a regular expression: {e}"))
}

fn parse_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_dir() {
        Ok(p.canonicalize().unwrap_or(p))
    } else {
        Err(format!("'{s}' is not a directory"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_are_checked() {
        let err = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("sweep").chain(args.iter().copied()))
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["--reps", "0"]).contains("--reps"));
        assert!(err(&["--cores-list", "0,x"]).contains("--cores-list"));
        assert!(err(&["--only", "("]).contains("--only"));
        assert!(err(&["--bin-dir", "/no/such/dir"]).contains("--bin-dir"));
        let cli = Cli::try_parse_from(["sweep", "--quick", "--reps", "2", "--cores-list", "2,1"])
            .unwrap();
        assert_eq!(
            (cli.quick, cli.reps, cli.cores_list),
            (true, Some(2), Some(CoreList(vec![1, 2])))
        );
    }
}

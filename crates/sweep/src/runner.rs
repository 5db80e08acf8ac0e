//! Runs the plan: each run its own process, its output appended to
//! `logs/<binary>-<experiment>.log` after a `== command` line, its records
//! to `raw/<binary>-<experiment>.jsonl` through `--out`.
//!
//! A failed run is noted (on stderr at once, with the last lines of its log)
//! and the sweep goes on; a run stopped by the user (exit 130 or 143, or a
//! signal to the sweep) ends the sweep after it. Progress is a bar on stderr
//! when stderr is a terminal, nothing otherwise.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::{Calibrations, Plan, Run};
use crate::stop;

/// How one run went, a row of the README's Runs table.
#[derive(Debug, Clone)]
pub struct Done {
    /// `binary`.
    pub binary: String,
    /// `experiment`.
    pub experiment: String,
    /// `--cores`.
    pub cores: u32,
    /// The repetition.
    pub rep: u32,
    /// Its flags (without `--cores` and `--out`).
    pub args: Vec<String>,
    /// Wall time in milliseconds.
    pub millis: u128,
    /// The exit code (0: ok).
    pub code: i32,
    /// Whether the user stopped the sweep while it ran.
    pub interrupted: bool,
}

impl Done {
    /// `ok`, `failed (exit N)` or `interrupted (exit N)`.
    pub fn result(&self) -> String {
        match self.code {
            0 => "ok".to_string(),
            c if self.interrupted => format!("interrupted (exit {c})"),
            c => format!("failed (exit {c})"),
        }
    }

    /// Seconds with one decimal, truncated (`4.9`).
    pub fn seconds(&self) -> String {
        format!("{}.{}", self.millis / 1000, self.millis % 1000 / 100)
    }
}

/// What the runs left.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every run made, in order.
    pub done: Vec<Done>,
    /// One line per failed run.
    pub failed: Vec<String>,
    /// Whether the user stopped the sweep.
    pub interrupted: bool,
    /// Wall time of all runs, in seconds.
    pub secs: u64,
}

/// Runs every run of `plan` from `bin_dir` into the run folder `out`.
pub fn run_all(
    plan: &Plan<'_>,
    bin_dir: &Path,
    out: &Path,
    cal: &Calibrations,
    tty: bool,
) -> Outcome {
    let bar = progress(plan.runs.len() as u64, tty);
    let started = Instant::now();
    let mut outcome = Outcome::default();
    for run in &plan.runs {
        if stop::requested() {
            break;
        }
        bar.set_message(run.label(plan.reps));
        let mut done = run_one(run, plan, bin_dir, out, cal.of(run), &bar);
        bar.inc(1);
        // A benchmark catches Ctrl-C itself (to kill its children) and exits
        // 130: that exit code is the user's stop.
        if stop::means_stopped(done.code) {
            stop::request();
        }
        done.interrupted = stop::requested();
        if done.code != 0 {
            let log = out.join("logs").join(format!("{}.log", run.stem()));
            outcome.failed.push(format!(
                "{} {} --cores {} rep {}: exit {}, see logs/{}.log",
                done.binary,
                done.experiment,
                done.cores,
                done.rep,
                done.code,
                run.stem()
            ));
            let tail = last_lines(&log, 3);
            bar.suspend(|| {
                eprintln!(
                    "sweep: {} {} --cores {} (rep {}) failed with exit code {}; see {}",
                    done.binary,
                    done.experiment,
                    done.cores,
                    done.rep,
                    done.code,
                    log.display()
                );
                for line in tail {
                    eprintln!("    {line}");
                }
            });
        }
        outcome.done.push(done);
    }
    bar.finish_and_clear();
    outcome.interrupted = stop::requested();
    outcome.secs = started.elapsed().as_secs();
    outcome
}

fn progress(total: u64, tty: bool) -> ProgressBar {
    if !tty {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed:>4} [{bar:24}] {pos}/{len} · ~{eta} left · {wide_msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn run_one(
    run: &Run<'_>,
    plan: &Plan<'_>,
    bin_dir: &Path,
    out: &Path,
    units_per_ms: Option<&str>,
    bar: &ProgressBar,
) -> Done {
    let args = run.args(&plan.mode, units_per_ms);
    let records = out.join("raw").join(format!("{}.jsonl", run.stem()));
    let log_path = out.join("logs").join(format!("{}.log", run.stem()));
    let exe = bin_dir.join(run.row.binary);
    let mut argv: Vec<String> = vec![
        exe.display().to_string(),
        run.row.experiment.to_string(),
        "--cores".to_string(),
        run.cores.to_string(),
    ];
    argv.extend(args.iter().cloned());
    argv.extend(["--out".to_string(), records.display().to_string()]);

    let started = Instant::now();
    let code = match start(&argv, &log_path) {
        Ok(code) => code,
        Err(e) => {
            bar.suspend(|| eprintln!("sweep: cannot run {}: {e:#}", exe.display()));
            127
        }
    };
    Done {
        binary: run.row.binary.to_string(),
        experiment: run.row.experiment.to_string(),
        cores: run.cores,
        rep: run.rep,
        args,
        millis: started.elapsed().as_millis(),
        code,
        interrupted: false,
    }
}

/// Appends `== <command>` to the log, runs the command with stdout and
/// stderr appended there too, and returns its exit code.
fn start(argv: &[String], log_path: &Path) -> anyhow::Result<i32> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", log_path.display()))?;
    writeln!(log, "== {}", shell_words(argv))?;
    let stdout: File = log.try_clone()?;
    let mut child = stop::spawn(
        Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log),
    )?;
    Ok(stop::exit_code(stop::wait(&mut child)?))
}

/// The last `n` lines of a file.
fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// One word as a shell reads it back: as it is when it holds only safe
/// characters, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./,:=+@%^".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words as a shell command line.
pub fn shell_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_words(&["scripts/sweep", "--only", "thread (cpu|gil)", "it's", ""]),
            r"scripts/sweep --only 'thread (cpu|gil)' 'it'\''s' ''"
        );
        assert_eq!(shell_word("--cores-list=1,2"), "--cores-list=1,2");
    }

    #[test]
    fn results_and_seconds() {
        let mut d = Done {
            binary: "thread".into(),
            experiment: "cpu".into(),
            cores: 1,
            rep: 1,
            args: vec![],
            millis: 4_987,
            code: 0,
            interrupted: false,
        };
        assert_eq!((d.result().as_str(), d.seconds().as_str()), ("ok", "4.9"));
        d.code = 3;
        d.millis = 42;
        assert_eq!(
            (d.result().as_str(), d.seconds().as_str()),
            ("failed (exit 3)", "0.0")
        );
        d.code = 130;
        d.interrupted = true;
        assert_eq!(d.result(), "interrupted (exit 130)");
    }
}

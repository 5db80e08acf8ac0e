//! The experiment table — one line per binary × experiment, the truth about
//! what a sweep runs — and the settings of its two modes (full, quick).
//!
//! Adding an experiment to the sweep is adding one line to [`EXPERIMENTS`].
//! The table is not checked against the binaries at run time: the crate's
//! integration test runs every row's `<binary> <experiment> --help` and
//! fails when a row passes a flag the subcommand does not take, so a drifted
//! row fails CI instead of being skipped in a sweep.

use std::fmt;

/// The experiment table.
///
/// ```text
/// binary  experiment  cores  full-sweep args | quick args
/// ```
///
/// `cores`: `all` = every count of the core list; `max` = the largest only;
/// `half` = half the largest (at least 1), so that a load generator gets the
/// other half of the CPUs to itself; a number N = N only (skipped, with a
/// note, where fewer CPUs are allowed). Without `|` both modes get the same
/// args; `-` in place of a mode's args means the row does not run in that
/// mode. `--work-ms X` becomes `--work-units` (X × the calibration), so every
/// binary does exactly the same units of work; the mode's [`ModeSettings::common`]
/// flags are added unless a row sets them.
///
/// The [`PYTHON`] rows run once per Python interpreter the sweep finds
/// (`python3` on PATH, then each free-threaded `python3.13t`, `python3.14t`…),
/// with `--python` and that interpreter's own calibration; where there is no
/// `python3` they are skipped with a note. In quick mode they add 11–13 s of
/// runs on 2 CPUs (three repetitions of eight rows, each a fresh interpreter;
/// measured 2026-12-01), within the 15 s they may take; a free-threaded
/// interpreter runs only `gil` there (all eight rows took it to 91 s).
///
/// Budget: a full sweep on 2 CPUs (core counts 1 and 2 × 3 reps, 111 runs)
/// took 4:50 (2026-11-23); on 16 CPUs (5 core counts × 3 reps) it is about 7
/// minutes plus the build. Quick mode runs every row three times (the
/// majority of repetitions decides each claim) with smaller work: it must
/// stay within 90 s after the build on 2 CPUs.
pub const EXPERIMENTS: &str = "
# C1, C4: the kitchen at every core count, and the seed case (3 cores × 100 orders each)
# (three orders, as in the seed notes: the best possible makespan is then exactly the longest order)
thread             kitchen     all  --orders 3                 | --orders 3
process            kitchen     all  --orders 3                 | --orders 3
coroutine          kitchen     all  --orders 3                 | --orders 3
thread             kitchen     3    --orders 300 --model parallel-only,concurrent-only,thread-per-order | --orders 300 --model parallel-only,concurrent-only,thread-per-order
process            kitchen     3    --orders 300 --model process-per-order | --orders 300 --model process-per-order
# C4 where 3 CPUs are missing: enough orders that their prep needs more than one CPU
thread             kitchen     max  --orders 60 --model parallel-only,concurrent-only,thread-per-order | --orders 30 --model parallel-only,concurrent-only,thread-per-order
coroutine          kitchen     3    --orders 300 --model parallel-only,tokio-current-thread,tokio-multi-thread,smol,async-std | --orders 300 --model parallel-only,tokio-current-thread,tokio-multi-thread,smol,async-std
# C2, C3: fixed CPU work split into tasks
thread             cpu         all  --work-ms 300              | --work-ms 100 --dist balanced
process            cpu         all  --work-ms 300              | --work-ms 100 --dist balanced
coroutine          cpu         all  --work-ms 300              | --work-ms 100 --dist balanced
# C11: one global lock around the work
thread             gil         all  --work-ms 300 --dist balanced | --work-ms 100 --dist balanced
process            gil         all  --work-ms 300 --dist balanced | --work-ms 100 --dist balanced
# C5: N requests to a delay server
blocking-io        requests    1                               | --requests 25
coroutine          requests    1                               | --requests 25
thread             requests    1                               |
# C6: blocking inside an executor; a non-blocking read
coroutine          stall       1                               |
nonblocking-socket wouldblock  1                               |
# C13: sync/async × blocking/non-blocking, one job four ways (the delay server on the other CPU)
nonblocking-socket quadrants   1    --requests 20 --delay-ms 20 | --requests 10 --delay-ms 20
# C7, C10: creation cost, memory per unit, switch cost
thread             spawn       1                               |
process            spawn       1                               | --heap-sizes 64MiB
coroutine          spawn       1                               |
thread             memory      1    --tasks 10000              | --tasks 2000
process            memory      1    --tasks 1000               | --tasks 200
coroutine          memory      1    --tasks 1000000            | --tasks 20000
thread             pingpong    2                               |
process            pingpong    2                               |
coroutine          pingpong    2                               |
# C8: moving bytes between units
thread             share       2    --sizes 1KiB,64KiB,1MiB,16MiB,64MiB | --sizes 1KiB,16MiB
process            share       2    --sizes 1KiB,64KiB,1MiB,16MiB,64MiB | --sizes 1KiB,16MiB
# C9: racing increments
thread             race        max                             |
# C12: echo servers under one load (nonblocking-socket's include io-uring and io-uring-per-core)
blocking-io        echo        half --connections 10,100,1000,10000 | --connections 100
nonblocking-socket echo        half --connections 10,100,1000,10000 | --connections 100
coroutine          echo        half --connections 10,100,1000,10000 | --connections 100
# CPython's own threading, multiprocessing and asyncio, on the same work (once per interpreter)
python             kitchen     1    --orders 3                 | --orders 3
python             kitchen     3    --orders 300 --model multiprocessing-pool,asyncio,multiprocessing-asyncio | -
python             kitchen     max  --orders 60 --model multiprocessing-pool,asyncio,multiprocessing-asyncio | -
python             cpu         all  --work-ms 200 --tasks 64   | -
python             cpu         1    -                          | --work-ms 80 --tasks 16 --dist balanced
python             gil         all  --work-ms 300 --tasks 64 --dist balanced | -
python             gil         max  -                          | --work-ms 200 --tasks 64 --dist balanced
python             requests    1                               | --requests 10 --delay-ms 20
python             stall       1                               |
python             spawn       1                               | --model threading,multiprocessing-fork,asyncio
python             pingpong    2                               | --placement same-cpu
python             memory      1                               | --tasks 10000 --threads 100 --processes 6 --steps 3
";

/// The binary whose rows run once per Python interpreter, with `--python`.
pub const PYTHON: &str = "python";

/// The experiments whose subcommand takes `--units-per-ms` (their flags
/// flatten `harness::cli::CalibrationArgs`): the sweep passes its one
/// calibration to these only. The integration test checks this list against
/// every row's `--help`, both ways.
pub const CALIBRATED: &[&str] = &["cpu", "gil", "kitchen", "quadrants"];

/// Binaries an experiment runs from beside its own binary (`echo` starts the
/// `loadgen` child), so a `--bin-dir` must hold them too.
pub const HELPERS: &[(&str, &str)] = &[("echo", "loadgen")];

/// The binary that merges the records into `summary.md`, CSV and SVG.
pub const REPORT: &str = "report";

/// The binary whose `calibrate` subcommand prints kernel units per millisecond.
pub const CALIBRATOR: &str = "thread";

/// What a mode runs and what it asks of the operating system at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSettings {
    /// `full` or `quick`.
    pub name: &'static str,
    /// Flags every run gets unless its row sets them.
    pub common: &'static [(&'static str, &'static str)],
    /// Repetitions of every case unless `--reps` says otherwise.
    pub reps: u32,
    /// Threads alive at once at most (thread `memory --tasks`).
    pub threads: u64,
    /// Descriptors one process needs at most (echo connections).
    pub open_files: u64,
    /// Memory the biggest case needs (coroutine and thread `memory`).
    pub memory_mib: u64,
}

/// Full mode: every core count, three repetitions.
pub const FULL: ModeSettings = ModeSettings {
    name: "full",
    common: &[
        ("--duration-secs", "0.3"),
        ("--warmup-secs", "0.1"),
        ("--timeout-secs", "600"),
    ],
    reps: 3,
    threads: 11_000,
    open_files: 10_100,
    memory_mib: 4096,
};

/// Quick mode: core counts 1 and the most, three repetitions (so that the
/// majority of them decides every claim), short cases.
pub const QUICK: ModeSettings = ModeSettings {
    name: "quick",
    common: &[
        ("--duration-secs", "0.1"),
        ("--warmup-secs", "0.02"),
        ("--timeout-secs", "120"),
    ],
    reps: 3,
    threads: 3000,
    open_files: 300,
    memory_mib: 1024,
};

impl ModeSettings {
    /// The settings of quick (`true`) or full mode.
    pub fn of(quick: bool) -> ModeSettings {
        if quick { QUICK } else { FULL }
    }

    /// Whether this is quick mode.
    pub fn is_quick(&self) -> bool {
        self.name == QUICK.name
    }
}

/// Which core counts a row runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cores {
    /// Every count of the core list.
    All,
    /// The largest count of the core list.
    Max,
    /// Half the largest count (at least 1).
    Half,
    /// Exactly this many (skipped where fewer CPUs are allowed).
    N(u32),
}

impl fmt::Display for Cores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cores::All => f.write_str("all"),
            Cores::Max => f.write_str("max"),
            Cores::Half => f.write_str("half"),
            Cores::N(n) => write!(f, "{n}"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'t> {
    /// The binary (`thread`).
    pub binary: &'t str,
    /// Its subcommand (`cpu`).
    pub experiment: &'t str,
    /// Which core counts it runs on.
    pub cores: Cores,
    /// Its arguments in full mode.
    pub full: Vec<&'t str>,
    /// Its arguments in quick mode.
    pub quick: Vec<&'t str>,
    /// Whether it runs in full mode (its full args are not `-`).
    pub in_full: bool,
    /// Whether it runs in quick mode (its quick args are not `-`).
    pub in_quick: bool,
}

/// The experiments a second interpreter (a free-threaded build) runs in
/// quick mode: where the GIL is the subject. The others it would only
/// repeat, and quick mode keeps to its 90 s; a full sweep runs them all.
pub const QUICK_FOR_EVERY_INTERPRETER: &[&str] = &["gil"];

impl<'t> Row<'t> {
    /// Whether a per-interpreter row runs with every interpreter found in
    /// `mode`, or with `python3` alone ([`QUICK_FOR_EVERY_INTERPRETER`]).
    pub fn every_interpreter_in(&self, mode: &ModeSettings) -> bool {
        !mode.is_quick() || QUICK_FOR_EVERY_INTERPRETER.contains(&self.experiment)
    }

    /// The row's arguments in the given mode.
    pub fn args(&self, mode: &ModeSettings) -> &[&'t str] {
        if mode.is_quick() {
            &self.quick
        } else {
            &self.full
        }
    }

    /// Whether it runs in the given mode.
    pub fn runs_in(&self, mode: &ModeSettings) -> bool {
        if mode.is_quick() {
            self.in_quick
        } else {
            self.in_full
        }
    }

    /// Whether it runs once per Python interpreter, with `--python`.
    pub fn per_interpreter(&self) -> bool {
        self.binary == PYTHON
    }

    /// `binary experiment`, what `--only` matches.
    pub fn name(&self) -> String {
        format!("{} {}", self.binary, self.experiment)
    }

    /// Whether the experiment takes `--units-per-ms`.
    pub fn calibrated(&self) -> bool {
        CALIBRATED.contains(&self.experiment)
    }

    /// The helper binaries the experiment runs.
    pub fn helpers(&self) -> Vec<&'static str> {
        HELPERS
            .iter()
            .filter(|(exp, _)| *exp == self.experiment)
            .map(|(_, bin)| *bin)
            .collect()
    }
}

/// Parses a table: blank lines and `#` comments are skipped; every other line
/// is `binary experiment cores [full args] [| quick args]`. An error names
/// the line.
pub fn parse(text: &str) -> Result<Vec<Row<'_>>, String> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        if line.trim().is_empty() {
            continue;
        }
        let at = |msg: String| format!("experiment table, line {}: {msg}", i + 1);
        let (fields, quick) = match line.split_once('|') {
            Some((full, quick)) => (full, Some(quick)),
            None => (line, None),
        };
        let mut fields = fields.split_whitespace();
        let (Some(binary), Some(experiment), Some(cores)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(at(format!(
                "'{}' needs a binary, an experiment and cores",
                line.trim()
            )));
        };
        let cores = match cores {
            "all" => Cores::All,
            "max" => Cores::Max,
            "half" => Cores::Half,
            n => match n.parse::<u32>() {
                Ok(n) if n > 0 => Cores::N(n),
                _ => {
                    return Err(at(format!(
                        "'{n}' as the cores of {binary} {experiment}: use all, max, half or a number"
                    )));
                }
            },
        };
        let full: Vec<&str> = fields.collect();
        let quick: Vec<&str> =
            quick.map_or_else(|| full.clone(), |q| q.split_whitespace().collect());
        let skipped = |args: &[&str]| args == ["-"];
        let (in_full, in_quick) = (!skipped(&full), !skipped(&quick));
        if !in_full && !in_quick {
            return Err(at(format!(
                "{binary} {experiment} runs in no mode (`-` on both sides)"
            )));
        }
        let full = if in_full { full } else { Vec::new() };
        let quick = if in_quick { quick } else { Vec::new() };
        for arg in full.iter().chain(&quick) {
            if matches!(*arg, "--cores" | "--out") {
                return Err(at(format!(
                    "{binary} {experiment} sets {arg}, which the sweep sets itself"
                )));
            }
        }
        rows.push(Row {
            binary,
            experiment,
            cores,
            full,
            quick,
            in_full,
            in_quick,
        });
    }
    Ok(rows)
}

/// The flags (`--name`) among a row's arguments.
pub fn flags<'a>(args: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    args.iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split_once('=').map_or(*a, |(flag, _)| flag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses() {
        let rows = parse(EXPERIMENTS).unwrap();
        assert_eq!(rows.len(), 45);
        let first = &rows[0];
        assert_eq!(
            (first.binary, first.experiment, first.cores),
            ("thread", "kitchen", Cores::All)
        );
        let cpu = rows.iter().find(|r| r.name() == "process cpu").unwrap();
        assert_eq!(cpu.full, ["--work-ms", "300"]);
        assert_eq!(cpu.quick, ["--work-ms", "100", "--dist", "balanced"]);
        assert!(cpu.calibrated());
        let spawn = rows.iter().find(|r| r.name() == "thread spawn").unwrap();
        assert_eq!(spawn.cores, Cores::N(1));
        assert!(spawn.full.is_empty() && spawn.quick.is_empty());
        assert!(!spawn.calibrated());
        let echo = rows.iter().find(|r| r.name() == "coroutine echo").unwrap();
        assert_eq!(echo.cores, Cores::Half);
        assert_eq!(echo.helpers(), ["loadgen"]);
        assert_eq!(echo.args(&QUICK), ["--connections", "100"]);
        assert_eq!(echo.args(&FULL), ["--connections", "10,100,1000,10000"]);
        let race = rows.iter().find(|r| r.name() == "thread race").unwrap();
        assert_eq!(race.cores, Cores::Max);
        let q = rows
            .iter()
            .find(|r| r.name() == "nonblocking-socket quadrants")
            .unwrap();
        assert_eq!(q.cores, Cores::N(1));
        assert!(q.calibrated());
        assert_eq!(q.args(&QUICK), ["--requests", "10", "--delay-ms", "20"]);
    }

    #[test]
    fn a_row_without_a_bar_runs_the_same_args_in_both_modes() {
        let rows = parse("thread kitchen 3 --orders 300  # a comment").unwrap();
        assert_eq!(rows[0].full, ["--orders", "300"]);
        assert_eq!(rows[0].quick, rows[0].full);
        assert_eq!(rows[0].cores, Cores::N(3));
    }

    #[test]
    fn a_dash_keeps_a_row_out_of_a_mode() {
        let rows =
            parse("python cpu all --work-ms 200 | -\npython cpu 1 - | --work-ms 40").unwrap();
        assert!(rows[0].runs_in(&FULL) && !rows[0].runs_in(&QUICK));
        assert!(rows[0].quick.is_empty());
        assert!(!rows[1].runs_in(&FULL) && rows[1].runs_in(&QUICK));
        assert_eq!(rows[1].args(&QUICK), ["--work-ms", "40"]);
        assert!(rows[0].per_interpreter());
        let e = parse("python cpu 1 - | -").unwrap_err();
        assert!(e.contains("runs in no mode"), "{e}");
        let python: Vec<Row<'_>> = parse(EXPERIMENTS)
            .unwrap()
            .into_iter()
            .filter(Row::per_interpreter)
            .collect();
        assert!(
            python
                .iter()
                .any(|r| r.experiment == "gil" && r.runs_in(&QUICK))
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = parse("\n# c\nthread cpu lots --work-ms 1").unwrap_err();
        assert!(e.contains("line 3") && e.contains("'lots'"), "{e}");
        let e = parse("thread cpu").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse("thread cpu 0").unwrap_err();
        assert!(e.contains("'0'"), "{e}");
        let e = parse("thread cpu all | --cores 2").unwrap_err();
        assert!(e.contains("--cores"), "{e}");
    }

    #[test]
    fn flags_are_the_double_dash_words() {
        let args = ["--orders", "3", "--model=a,b", "-x"];
        assert_eq!(flags(&args).collect::<Vec<_>>(), ["--orders", "--model"]);
    }
}

//! From the table and the flags to the list of runs: which core counts, which
//! rows (`--only`), how many repetitions, and each run's exact arguments.
//!
//! Pure: the allowed CPU count and the calibration come in as numbers, so the
//! tests pin every expansion without running anything.

use regex::Regex;

use crate::table::{Cores, ModeSettings, Row, flags};

/// One run: a row at one core count and one repetition, its own process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run<'a> {
    /// Its line of the table.
    pub row: &'a Row<'a>,
    /// `--cores`.
    pub cores: u32,
    /// Which repetition, from 1.
    pub rep: u32,
    /// `--python`: the interpreter of a row that runs once per interpreter.
    pub python: Option<&'a str>,
}

/// Kernel units per millisecond, as each calibrator printed it: the Rust
/// kernel's (`thread calibrate`), and each Python interpreter's own
/// (`python calibrate --python P`, about a hundred times fewer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calibrations {
    /// The Rust kernel's.
    pub rust: Option<String>,
    /// `(interpreter, its calibration)`.
    pub python: Vec<(String, Option<String>)>,
}

impl Calibrations {
    /// The calibration a run's work is measured in.
    pub fn of(&self, run: &Run<'_>) -> Option<&str> {
        match run.python {
            None => self.rust.as_deref(),
            Some(p) => self
                .python
                .iter()
                .find(|(i, _)| i == p)
                .and_then(|(_, u)| u.as_deref()),
        }
    }
}

/// Everything a sweep will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// The mode.
    pub mode: ModeSettings,
    /// The core counts swept, ascending.
    pub core_counts: Vec<u32>,
    /// Repetitions per case.
    pub reps: u32,
    /// The runs, in order: rows in table order, core counts ascending, then repetitions.
    pub runs: Vec<Run<'a>>,
    /// What was skipped and why, each once.
    pub notes: Vec<String>,
}

/// Reads `--cores-list`: core counts of 1 or more, comma-separated.
pub fn parse_cores_list(s: &str) -> Result<Vec<u32>, String> {
    let mut counts = Vec::new();
    for part in s.split(',') {
        match part.trim().parse::<u32>() {
            Ok(n) if n > 0 => counts.push(n),
            _ => return Err(format!("'{part}' is not a core count (1 or more)")),
        }
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// The core counts to sweep: `--cores-list` if given (each at most
/// `allowed`); else quick mode's 1 and the most, or full mode's 1, 2, 4, …
/// up to the allowed CPUs, always including that maximum.
pub fn core_counts(
    mode: &ModeSettings,
    list: Option<&[u32]>,
    allowed: u32,
) -> Result<Vec<u32>, String> {
    let allowed = allowed.max(1);
    if let Some(list) = list {
        if let Some(too_many) = list.iter().find(|&&c| c > allowed) {
            return Err(format!(
                "{too_many} is more than the {allowed} CPU(s) this process may use"
            ));
        }
        return Ok(list.to_vec());
    }
    let mut counts: Vec<u32> = if mode.is_quick() {
        vec![1]
    } else {
        std::iter::successors(Some(1u32), |c| c.checked_mul(2))
            .take_while(|&c| c < allowed)
            .collect()
    };
    counts.push(allowed);
    counts.dedup();
    Ok(counts)
}

/// Expands the table into runs. `allowed` is the CPUs this process may use
/// (a row asking for more is skipped with a note); `pythons` the
/// interpreters the per-interpreter rows run with (none: those rows are
/// skipped with a note). Rows that do not run in the mode are left out.
/// Fails, naming `--only`, when `only` matches no row, and when nothing is
/// left to run.
#[allow(
    clippy::too_many_arguments,
    reason = "the plan's inputs, each used once"
)]
pub fn expand<'a>(
    rows: &'a [Row<'a>],
    mode: ModeSettings,
    core_counts: Vec<u32>,
    reps: u32,
    allowed: u32,
    only: Option<&Regex>,
    pythons: &'a [String],
) -> Result<Plan<'a>, String> {
    let chosen: Vec<&Row> = rows
        .iter()
        .filter(|r| only.is_none_or(|re| re.is_match(&r.name())))
        .collect();
    if let (Some(re), true) = (only, chosen.is_empty()) {
        let mut names: Vec<String> = rows.iter().map(Row::name).collect();
        names.dedup();
        return Err(format!(
            "--only '{re}' matches no row of the experiment table; the rows are: {}",
            names.join(", ")
        ));
    }
    let max = *core_counts.last().unwrap_or(&1);
    let mut plan = Plan {
        mode,
        core_counts: core_counts.clone(),
        reps,
        runs: Vec::new(),
        notes: Vec::new(),
    };
    for row in chosen {
        if !row.runs_in(&mode) {
            continue;
        }
        let interpreters: Vec<Option<&'a str>> = if row.per_interpreter() {
            if pythons.is_empty() {
                plan.note(format!(
                    "skipped the {} rows: no python3 (3.9 or newer) on PATH",
                    row.binary
                ));
                continue;
            }
            pythons
                .iter()
                .enumerate()
                .filter(|(i, _)| *i == 0 || row.every_interpreter_in(&mode))
                .map(|(_, p)| Some(p.as_str()))
                .collect()
        } else {
            vec![None]
        };
        let counts = match row.cores {
            Cores::All => core_counts.clone(),
            Cores::Max => vec![max],
            Cores::Half => vec![(max / 2).max(1)],
            Cores::N(n) if n > allowed => {
                plan.note(format!(
                    "skipped {} --cores {n}: only {allowed} CPU(s) here",
                    row.name()
                ));
                continue;
            }
            Cores::N(n) => vec![n],
        };
        for python in interpreters {
            for &cores in &counts {
                for rep in 1..=reps {
                    plan.runs.push(Run {
                        row,
                        cores,
                        rep,
                        python,
                    });
                }
            }
        }
    }
    if plan.runs.is_empty() {
        return Err(format!(
            "nothing to run: every row was skipped or filtered out ({})",
            plan.notes.join("; ")
        ));
    }
    Ok(plan)
}

impl<'a> Plan<'a> {
    /// Adds a note unless the same text is there already.
    pub fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// The binaries the runs need in the binary folder: the rows' own,
    /// the helpers they start, and `report`.
    pub fn binaries(&self) -> Vec<&'a str> {
        let mut bins: Vec<&'a str> = Vec::new();
        for run in &self.runs {
            for b in std::iter::once(run.row.binary).chain(run.row.helpers()) {
                if !bins.contains(&b) {
                    bins.push(b);
                }
            }
        }
        bins.push(crate::table::REPORT);
        bins
    }

    /// The plan as `--plan` prints it, one run a line (without the
    /// calibration, which is measured when the sweep starts).
    pub fn lines(&self) -> Vec<String> {
        self.runs
            .iter()
            .map(|run| {
                let args = run.args(&self.mode, None).join(" ");
                format!(
                    "{} {} --cores {} (rep {}/{}) {args}",
                    run.row.binary, run.row.experiment, run.cores, run.rep, self.reps
                )
                .trim_end()
                .to_string()
            })
            .collect()
    }
}

impl Run<'_> {
    /// The run's arguments after its subcommand, without `--cores` and
    /// `--out`: the row's, `--work-ms X` turned into `--work-units` (X × the
    /// calibration, as `harness::work` rounds it), the mode's common flags
    /// the row does not set, `--units-per-ms` for the experiments that take
    /// it, and `--python` for a per-interpreter row.
    pub fn args(&self, mode: &ModeSettings, units_per_ms: Option<&str>) -> Vec<String> {
        let row_args = self.row.args(mode);
        let per_ms = units_per_ms.and_then(|u| u.parse::<f64>().ok().map(|f| (u, f)));
        let mut out = Vec::new();
        let mut it = row_args.iter();
        while let Some(&arg) = it.next() {
            if let (Some((_, per_ms)), "--work-ms") = (per_ms, arg)
                && let Some(ms) = it.as_slice().first().and_then(|v| v.parse::<f64>().ok())
            {
                it.next();
                let units = ((ms * per_ms).round() as u64).max(1);
                out.extend(["--work-units".to_string(), units.to_string()]);
                continue;
            }
            out.push(arg.to_string());
        }
        let set: Vec<&str> = flags(row_args).collect();
        for (flag, value) in mode.common {
            if !set.contains(flag) {
                out.extend([flag.to_string(), value.to_string()]);
            }
        }
        if let Some((u, _)) = per_ms
            && self.row.calibrated()
            && !set.contains(&"--units-per-ms")
        {
            out.extend(["--units-per-ms".to_string(), u.to_string()]);
        }
        if let Some(p) = self.python {
            out.extend(["--python".to_string(), p.to_string()]);
        }
        out
    }

    /// `binary experiment --cores c (rep r/K)`, how progress names it (and
    /// the interpreter's file name, for a per-interpreter row).
    pub fn label(&self, reps: u32) -> String {
        let python = self
            .python
            .map(|p| format!(" ({})", p.rsplit('/').next().unwrap_or(p)))
            .unwrap_or_default();
        format!(
            "{} {} --cores {} (rep {}/{reps}){python}",
            self.row.binary, self.row.experiment, self.cores, self.rep
        )
    }

    /// The file stem of its records and log: `binary-experiment`.
    pub fn stem(&self) -> String {
        format!("{}-{}", self.row.binary, self.row.experiment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{EXPERIMENTS, FULL, QUICK, parse};

    const SMALL: &str = "
thread  cpu      all  --work-ms 300 | --work-ms 150
thread  kitchen  3    --orders 300
thread  race     max
coroutine echo   half --connections 10,100 | --connections 100
process spawn    1    --duration-secs 1
";

    #[test]
    fn core_counts_by_mode() {
        assert_eq!(core_counts(&FULL, None, 16).unwrap(), [1, 2, 4, 8, 16]);
        assert_eq!(core_counts(&FULL, None, 12).unwrap(), [1, 2, 4, 8, 12]);
        assert_eq!(core_counts(&FULL, None, 1).unwrap(), [1]);
        assert_eq!(core_counts(&QUICK, None, 16).unwrap(), [1, 16]);
        assert_eq!(core_counts(&QUICK, None, 1).unwrap(), [1]);
        assert_eq!(core_counts(&QUICK, Some(&[2, 3]), 4).unwrap(), [2, 3]);
        let e = core_counts(&FULL, Some(&[1, 5]), 4).unwrap_err();
        assert!(e.contains("5 is more than the 4 CPU(s)"), "{e}");
    }

    #[test]
    fn cores_list_reads_sorted_unique_counts() {
        assert_eq!(parse_cores_list("4,1,2,2").unwrap(), [1, 2, 4]);
        assert!(parse_cores_list("0,x").unwrap_err().contains("'0'"));
        assert!(parse_cores_list("1,x").unwrap_err().contains("'x'"));
        assert!(parse_cores_list("").is_err());
    }

    #[test]
    fn all_max_half_and_n() {
        let rows = parse(SMALL).unwrap();
        let plan = expand(&rows, FULL, vec![1, 2, 4], 2, 4, None, &[]).unwrap();
        let runs: Vec<(&str, u32, u32)> = plan
            .runs
            .iter()
            .map(|r| (r.row.experiment, r.cores, r.rep))
            .collect();
        assert_eq!(
            runs,
            [
                ("cpu", 1, 1),
                ("cpu", 1, 2),
                ("cpu", 2, 1),
                ("cpu", 2, 2),
                ("cpu", 4, 1),
                ("cpu", 4, 2),
                ("kitchen", 3, 1),
                ("kitchen", 3, 2),
                ("race", 4, 1),
                ("race", 4, 2),
                ("echo", 2, 1),
                ("echo", 2, 2),
                ("spawn", 1, 1),
                ("spawn", 1, 2),
            ]
        );
        assert!(plan.notes.is_empty());
        assert_eq!(
            plan.binaries(),
            ["thread", "coroutine", "loadgen", "process", "report"]
        );
    }

    #[test]
    fn a_row_wanting_more_cpus_than_allowed_is_skipped_with_a_note() {
        let rows = parse(SMALL).unwrap();
        let plan = expand(&rows, QUICK, vec![1], 1, 1, None, &[]).unwrap();
        assert!(plan.runs.iter().all(|r| r.row.experiment != "kitchen"));
        assert_eq!(
            plan.notes,
            ["skipped thread kitchen --cores 3: only 1 CPU(s) here"]
        );
        // half of one is one
        let echo = plan
            .runs
            .iter()
            .find(|r| r.row.experiment == "echo")
            .unwrap();
        assert_eq!(echo.cores, 1);
    }

    #[test]
    fn only_filters_rows_and_names_them_when_nothing_matches() {
        let rows = parse(SMALL).unwrap();
        let re = Regex::new("^thread (cpu|race)$").unwrap();
        let plan = expand(&rows, QUICK, vec![1, 2], 1, 2, Some(&re), &[]).unwrap();
        assert_eq!(plan.runs.len(), 3);
        let re = Regex::new("nothing-like-this").unwrap();
        let e = expand(&rows, QUICK, vec![1, 2], 1, 2, Some(&re), &[]).unwrap_err();
        assert!(e.contains("--only") && e.contains("matches no row"), "{e}");
        assert!(e.contains("thread cpu, thread kitchen"), "{e}");
        let re = Regex::new("kitchen").unwrap();
        let e = expand(&rows, QUICK, vec![1, 2], 1, 2, Some(&re), &[]).unwrap_err();
        assert!(
            e.contains("nothing to run") && e.contains("only 2 CPU(s)"),
            "{e}"
        );
    }

    #[test]
    fn each_run_gets_its_own_kernels_calibration() {
        let rows = parse("thread cpu 1 --work-ms 10\npython cpu 1 --work-ms 10").unwrap();
        let pythons = ["/p/python3".to_string()];
        let plan = expand(&rows, FULL, vec![1], 1, 1, None, &pythons).unwrap();
        let cal = Calibrations {
            rust: Some("300".into()),
            python: vec![("/p/python3".into(), Some("2.5".into()))],
        };
        let args: Vec<String> = plan
            .runs
            .iter()
            .map(|r| r.args(&FULL, cal.of(r)).join(" "))
            .collect();
        assert!(args[0].starts_with("--work-units 3000 "), "{}", args[0]);
        assert!(args[1].starts_with("--work-units 25 "), "{}", args[1]);
        assert!(
            args[1].ends_with("--units-per-ms 2.5 --python /p/python3"),
            "{}",
            args[1]
        );
    }

    #[test]
    fn args_get_the_calibration_and_the_common_flags() {
        let rows = parse(SMALL).unwrap();
        let plan = expand(&rows, QUICK, vec![1], 1, 1, None, &[]).unwrap();
        let cpu = &plan.runs[0];
        assert_eq!(
            cpu.args(&QUICK, Some("286.507")).join(" "),
            "--work-units 42976 --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120 --units-per-ms 286.507"
        );
        assert_eq!(
            cpu.args(&QUICK, None).join(" "),
            "--work-ms 150 --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120"
        );
        let spawn = plan
            .runs
            .iter()
            .find(|r| r.row.experiment == "spawn")
            .unwrap();
        // the row's own --duration-secs wins; no calibration for spawn
        assert_eq!(
            spawn.args(&QUICK, Some("286.507")).join(" "),
            "--duration-secs 1 --warmup-secs 0.02 --timeout-secs 120"
        );
        assert_eq!(spawn.label(1), "process spawn --cores 1 (rep 1/1)");
        assert_eq!(spawn.stem(), "process-spawn");
    }

    #[test]
    fn the_real_table_in_quick_mode_on_two_cpus() {
        let rows = parse(EXPERIMENTS).unwrap();
        let counts = core_counts(&QUICK, None, 2).unwrap();
        let plan = expand(&rows, QUICK, counts.clone(), QUICK.reps, 2, None, &[]).unwrap();
        // the three `kitchen 3` rows are skipped on 2 CPUs, and the python rows without python3
        assert_eq!(plan.notes.len(), 4, "{:?}", plan.notes);
        assert_eq!(plan.runs.len(), 3 * 38, "every run three times");
        let pythons = [
            "/usr/bin/python3".to_string(),
            "/usr/bin/python3.14t".to_string(),
        ];
        let with = expand(&rows, QUICK, counts, QUICK.reps, 2, None, &pythons).unwrap();
        // eight python rows in quick mode, each at one core count; a
        // free-threaded interpreter runs only gil there
        assert_eq!(with.runs.len(), 3 * 38 + 3 * 8 + 3);
        let full_with = expand(&rows, FULL, vec![1, 2], 3, 2, None, &pythons).unwrap();
        let per = |p: &str| {
            full_with
                .runs
                .iter()
                .filter(|r| r.python == Some(p))
                .count()
        };
        assert_eq!(
            per("/usr/bin/python3"),
            per("/usr/bin/python3.14t"),
            "full: every row"
        );
        let gil = with
            .runs
            .iter()
            .find(|r| r.row.name() == "python gil" && r.python == Some("/usr/bin/python3.14t"))
            .unwrap();
        assert_eq!(gil.cores, 2);
        assert!(
            gil.args(&QUICK, None)
                .ends_with(&["--python".into(), "/usr/bin/python3.14t".into()])
        );
        assert!(gil.label(3).ends_with("(rep 1/3) (python3.14t)"));
        let lines = plan.lines();
        assert_eq!(
            lines[0],
            "thread kitchen --cores 1 (rep 1/3) --orders 3 --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120"
        );
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
        let full = expand(&rows, FULL, vec![1, 2], 3, 2, None, &[]).unwrap();
        assert_eq!(
            full.runs.len(),
            114,
            "111 as in results/2026-11-23-linux-vm, and quadrants three times"
        );
    }
}

//! The run folder's README.md: what was run, on what, from which code (the
//! header, written before the first run), and how every run went (the Runs
//! section, appended at the end).
//!
//! Both parts are built as text from plain values, so the tests pin them.
//! The binaries' provenance is read from the records themselves
//! (`machine.git_rev`, `machine.git_dirty`, `machine.rustc`), which also
//! holds where the sweep has no git or toolchain of its own (`--bin-dir`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use crate::runner::Outcome;
use crate::table::ModeSettings;

/// What the header says.
#[derive(Debug, Clone)]
pub struct Header {
    /// The run folder's name.
    pub name: String,
    /// The command line, as a shell would read it back.
    pub command: String,
    /// When the sweep started (UTC).
    pub started: String,
    /// The checkout's git revision (`None`: no git here) and dirty flag.
    pub git: (Option<String>, bool),
    /// `rustc -V, cargo -V`, or `None` without a toolchain.
    pub toolchain: Option<String>,
    /// The machine line: CPU, CPUs allowed and online, memory, kernel, host.
    pub machine: String,
    /// The load average at the start.
    pub load: String,
    /// The share of the CPUs other programs took just before the first run.
    pub others: f64,
    /// The mode.
    pub mode: ModeSettings,
    /// The core counts swept.
    pub core_counts: Vec<u32>,
    /// Repetitions per case.
    pub reps: u32,
    /// The calibration, as `thread calibrate` printed it.
    pub units_per_ms: Option<String>,
    /// The Python interpreters of the `python` rows, with the calibration
    /// `python calibrate` printed for each.
    pub pythons: Vec<(String, Option<String>)>,
    /// The run folder from the repository root (`results/<name>`).
    pub rel: String,
}

/// The README's first part.
pub fn header(h: &Header) -> String {
    let mut s = String::new();
    let (rev, dirty) = &h.git;
    let rev = rev.as_deref().unwrap_or("unknown (no git here)");
    let toolchain = h
        .toolchain
        .as_deref()
        .unwrap_or("none here (prebuilt binaries; their rustc is named under Runs)");
    let counts: Vec<String> = h.core_counts.iter().map(u32::to_string).collect();
    let common: Vec<String> = h
        .mode
        .common
        .iter()
        .flat_map(|(f, v)| [f.to_string(), v.to_string()])
        .collect();
    let _ = writeln!(s, "# conpar run: {}\n", h.name);
    let _ = writeln!(s, "- command: `{}`", h.command);
    let _ = writeln!(s, "- started: {}", h.started);
    let _ = writeln!(s, "- git: {rev} (dirty: {dirty})");
    let _ = writeln!(s, "- toolchain: {toolchain}");
    let _ = writeln!(s, "- machine: {}", h.machine);
    let _ = writeln!(
        s,
        "- at start: other programs took {:.0} % of the CPUs (over {} ms); load average {} (1, 5, 15 minutes){}",
        h.others * 100.0,
        crate::host::WATCH.as_millis(),
        h.load,
        crate::host::busy(h.others)
    );
    let _ = writeln!(
        s,
        "- mode: {}; core counts {}; {} repetition(s) per case, each its own process",
        h.mode.name,
        counts.join(" "),
        h.reps
    );
    let _ = writeln!(
        s,
        "- calibration: {} kernel units/ms (`--units-per-ms` of every run; cpu and gil get `--work-units`)",
        h.units_per_ms.as_deref().unwrap_or("none")
    );
    for (python, units) in &h.pythons {
        let cal = units.as_deref().map_or_else(
            || "each run calibrates itself".to_string(),
            |u| format!("calibrated {u} units/ms of its own (`--units-per-ms` of its runs)"),
        );
        let _ = writeln!(
            s,
            "- python: `{python}` (`--python` of the python rows), {cal}"
        );
    }
    let _ = writeln!(
        s,
        "- flags every run gets unless its row sets them: `{}`\n",
        common.join(" ")
    );
    let _ = writeln!(
        s,
        "Files: `raw/<binary>-<experiment>.jsonl` holds the records (never edited), `logs/` what each binary printed,"
    );
    let _ = writeln!(
        s,
        "`summary.md`, `*.csv` and `*.svg` come from `report`; regenerate them, from the repository root, with"
    );
    let _ = writeln!(s, "`target/release/report {0} --out {0}`.", h.rel);
    let _ = writeln!(s, "The Record schema is documented in results/README.md.\n");
    s
}

/// What the Runs section says besides the runs.
#[derive(Debug, Clone)]
pub struct Footer<'a> {
    /// When the runs ended (UTC).
    pub finished: String,
    /// Runs planned.
    pub total: usize,
    /// The load average at the end.
    pub load: String,
    /// The plan's notes (skipped rows, no calibration).
    pub notes: &'a [String],
    /// The binaries' provenance from the records.
    pub provenance: Provenance,
    /// Whether `report` wrote the summary.
    pub report_ok: bool,
}

/// The README's Runs section.
pub fn runs(outcome: &Outcome, f: &Footer<'_>) -> String {
    let mut s = String::from("## Runs\n\n");
    let _ = writeln!(
        s,
        "Finished {}: {} of {} run(s) in {} (m:ss), {} failed{}; load average at the end {} (this sweep's own runs \
         count in it; what other programs took is measured per case, in each record's interference).\n",
        f.finished,
        outcome.done.len(),
        f.total,
        crate::host::fmt_secs(outcome.secs),
        outcome.failed.len(),
        if outcome.interrupted {
            ", interrupted"
        } else {
            ""
        },
        // Not judged as the start's is: the sweep's own runs (10,000 threads
        // of an echo case) are in it. Each record measures what others took.
        f.load,
    );
    if !f.notes.is_empty() {
        for n in f.notes {
            let _ = writeln!(s, "- {n}");
        }
        s.push('\n');
    }
    if !outcome.failed.is_empty() {
        s.push_str("Failed:\n\n");
        for line in &outcome.failed {
            let _ = writeln!(s, "- {line}");
        }
        s.push('\n');
    }
    s.push_str("| binary | experiment | cores | rep | flags | seconds | result |\n");
    s.push_str("| --- | --- | ---: | ---: | --- | ---: | --- |\n");
    for d in &outcome.done {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            d.binary,
            d.experiment,
            d.cores,
            d.rep,
            d.args.join(" "),
            d.seconds(),
            d.result()
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "The binaries were built from git {} with {} (from the records).\n",
        f.provenance.built.as_deref().unwrap_or("unknown"),
        f.provenance.rustc.as_deref().unwrap_or("an unknown rustc")
    );
    if f.report_ok {
        s.push_str("Summary: [summary.md](summary.md).\n");
    } else {
        s.push_str("No summary: `report` did not run (see logs/report.log).\n");
    }
    s
}

/// Which code built the binaries that wrote the records: every distinct
/// `git_rev (dirty: …)` and every distinct rustc, `;`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `9474ac1… (dirty: false)`, or `None` when no record says.
    pub built: Option<String>,
    /// `rustc 1.95.0 (…)`, or `None` when no record says.
    pub rustc: Option<String>,
}

/// The part of a record this module reads; everything else is ignored, so
/// any record version with a `machine` object will do.
#[derive(Deserialize)]
struct RecordMachine {
    machine: Option<Machine>,
}

#[derive(Deserialize)]
struct Machine {
    git_rev: Option<String>,
    git_dirty: Option<serde_json::Value>,
    rustc: Option<String>,
}

/// Reads the provenance of every record in the `*.jsonl` files of `raw`;
/// lines that do not parse are passed over (`report` names them).
pub fn provenance(raw: &Path) -> Provenance {
    let mut built = BTreeSet::new();
    let mut rustc = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(raw)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for file in files {
        let Ok(f) = std::fs::File::open(&file) else {
            continue;
        };
        for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
            let Ok(RecordMachine { machine: Some(m) }) = serde_json::from_str(&line) else {
                continue;
            };
            if let Some(rev) = m.git_rev {
                let dirty = match m.git_dirty {
                    Some(serde_json::Value::String(s)) => s,
                    Some(v) => v.to_string(),
                    None => "unknown".to_string(),
                };
                built.insert(format!("{rev} (dirty: {dirty})"));
            }
            if let Some(r) = m.rustc {
                rustc.insert(r);
            }
        }
    }
    let join = |set: BTreeSet<String>| {
        (!set.is_empty()).then(|| set.into_iter().collect::<Vec<_>>().join(";"))
    };
    Provenance {
        built: join(built),
        rustc: join(rustc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Done;
    use crate::table::FULL;

    fn header_of() -> Header {
        Header {
            name: "2026-11-23-linux-vm".into(),
            command: "scripts/sweep".into(),
            started: "2026-11-23T04:31:41Z".into(),
            git: (Some("9474ac1".into()), false),
            toolchain: Some("rustc 1.95.0, cargo 1.95.0".into()),
            machine: "AMD EPYC, under a hypervisor; 2 CPU(s) allowed of 2 online; 23.5 GiB memory; Linux 6.18; host vm".into(),
            load: "1.49 2.51 7.51".into(),
            others: 0.02,
            mode: FULL,
            core_counts: vec![1, 2],
            reps: 3,
            units_per_ms: Some("286.507".into()),
            pythons: Vec::new(),
            rel: "results/2026-11-23-linux-vm".into(),
        }
    }

    #[test]
    fn the_header_names_each_python_interpreter() {
        let mut h = header_of();
        h.pythons = vec![
            ("/usr/bin/python3.11".into(), Some("2.407".into())),
            ("/usr/bin/python3.14t".into(), None),
        ];
        let text = header(&h);
        assert!(
            text.contains("- python: `/usr/bin/python3.11` (`--python` of the python rows), calibrated 2.407 units/ms"),
            "{text}"
        );
        assert!(text.contains(
            "`/usr/bin/python3.14t` (`--python` of the python rows), each run calibrates itself"
        ));
    }

    #[test]
    fn the_header_says_what_the_bash_sweep_said() {
        let text = header(&header_of());
        let expected = "# conpar run: 2026-11-23-linux-vm

- command: `scripts/sweep`
- started: 2026-11-23T04:31:41Z
- git: 9474ac1 (dirty: false)
- toolchain: rustc 1.95.0, cargo 1.95.0
- machine: AMD EPYC, under a hypervisor; 2 CPU(s) allowed of 2 online; 23.5 GiB memory; Linux 6.18; host vm
- at start: other programs took 2 % of the CPUs (over 500 ms); load average 1.49 2.51 7.51 (1, 5, 15 minutes)
- mode: full; core counts 1 2; 3 repetition(s) per case, each its own process
- calibration: 286.507 kernel units/ms (`--units-per-ms` of every run; cpu and gil get `--work-units`)
- flags every run gets unless its row sets them: `--duration-secs 0.3 --warmup-secs 0.1 --timeout-secs 600`

Files: `raw/<binary>-<experiment>.jsonl` holds the records (never edited), `logs/` what each binary printed,
`summary.md`, `*.csv` and `*.svg` come from `report`; regenerate them, from the repository root, with
`target/release/report results/2026-11-23-linux-vm --out results/2026-11-23-linux-vm`.
The Record schema is documented in results/README.md.

";
        assert_eq!(text, expected);
        let mut h = header_of();
        h.git = (None, false);
        h.toolchain = None;
        h.units_per_ms = None;
        h.others = 0.48;
        let text = header(&h);
        assert!(text.contains("- git: unknown (no git here) (dirty: false)"));
        assert!(text.contains("- toolchain: none here (prebuilt binaries"));
        assert!(text.contains("- calibration: none kernel units/ms"));
        assert!(text.contains("took 48 % of the CPUs (over 500 ms); load average 1.49 2.51 7.51 (1, 5, 15 minutes) — busy: expect noisy numbers"));
    }

    #[test]
    fn the_runs_section_lists_every_run_and_what_failed() {
        let done = |code, interrupted| Done {
            binary: "thread".into(),
            experiment: "spawn".into(),
            cores: 1,
            rep: 1,
            args: vec!["--duration-secs".into(), "0.3".into()],
            millis: 812,
            code,
            interrupted,
        };
        let outcome = Outcome {
            done: vec![done(0, false), done(1, false)],
            failed: vec!["thread spawn --cores 1 rep 1: exit 1, see logs/thread-spawn.log".into()],
            interrupted: false,
            secs: 290,
        };
        let notes = vec!["skipped thread kitchen --cores 3: only 2 CPU(s) here".to_string()];
        let footer = Footer {
            finished: "2026-11-23T04:36:32Z".into(),
            total: 3,
            load: "34.12 36.91 21.63".into(),
            notes: &notes,
            provenance: Provenance {
                built: Some("9474ac1 (dirty: false)".into()),
                rustc: Some("rustc 1.95.0".into()),
            },
            report_ok: false,
        };
        let text = runs(&outcome, &footer);
        let expected = "## Runs

Finished 2026-11-23T04:36:32Z: 2 of 3 run(s) in 4:50 (m:ss), 1 failed; load average at the end 34.12 36.91 21.63 (this sweep's own runs count in it; what other programs took is measured per case, in each record's interference).

- skipped thread kitchen --cores 3: only 2 CPU(s) here

Failed:

- thread spawn --cores 1 rep 1: exit 1, see logs/thread-spawn.log

| binary | experiment | cores | rep | flags | seconds | result |
| --- | --- | ---: | ---: | --- | ---: | --- |
| thread | spawn | 1 | 1 | --duration-secs 0.3 | 0.8 | ok |
| thread | spawn | 1 | 1 | --duration-secs 0.3 | 0.8 | failed (exit 1) |

The binaries were built from git 9474ac1 (dirty: false) with rustc 1.95.0 (from the records).

No summary: `report` did not run (see logs/report.log).
";
        assert_eq!(text, expected);
    }

    #[test]
    fn provenance_comes_from_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let m = |rev: &str, dirty: &str, rustc: &str| {
            format!(
                r#"{{"schema":1,"machine":{{"cpu_model":"x","rustc":"{rustc}","git_rev":"{rev}","git_dirty":{dirty}}},"wall_ns":1}}"#
            )
        };
        std::fs::write(
            dir.path().join("thread-cpu.jsonl"),
            [
                m("bbb", "\"false\"", "rustc 1.95.0"),
                m("aaa", "true", "rustc 1.95.0"),
                "not json".into(),
            ]
            .join("\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), m("ccc", "\"x\"", "rustc 0")).unwrap();
        assert_eq!(
            provenance(dir.path()),
            Provenance {
                built: Some("aaa (dirty: true);bbb (dirty: false)".into()),
                rustc: Some("rustc 1.95.0".into()),
            }
        );
        assert_eq!(provenance(&dir.path().join("none")), Provenance::default());
    }
}

//! The sweep binary from outside: every row of the experiment table against
//! the real binaries' `--help`, bad flags exiting 2 before anything is
//! built, `--plan`, and whole sweeps over fake binaries (shell scripts that
//! write one record), which take milliseconds and run no benchmark.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use assert_cmd::prelude::*;
use conpar_sweep::table::{self, CALIBRATED, FULL, QUICK};
use predicates::prelude::*;
use regex::Regex;

fn sweep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sweep"))
}

/// The `--flags` a help text lists.
fn help_flags(help: &str) -> BTreeSet<String> {
    let flag = Regex::new(r"--[a-z0-9][a-z0-9-]*").unwrap();
    flag.find_iter(help)
        .map(|m| m.as_str().to_string())
        .collect()
}

fn help_of(exe: &Path, args: &[&str]) -> String {
    let out = Command::new(exe).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`{} {}` fails: {}",
        exe.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every flag a row's runs get must be one its subcommand takes, so a
/// drifted row fails here instead of failing (or being skipped) in a sweep;
/// and `--units-per-ms` goes exactly to the experiments that take it.
#[test]
fn every_row_passes_only_flags_its_subcommand_takes() {
    let rows = table::parse(table::EXPERIMENTS).unwrap();
    let mut problems = Vec::new();
    let mut built = std::collections::BTreeMap::new();
    for row in &rows {
        let exe = built
            .entry(row.binary)
            .or_insert_with(|| {
                harness::testkit::build_bin(&format!("conpar-{}", row.binary), row.binary)
            })
            .clone();
        let takes = help_flags(&help_of(&exe, &[row.experiment, "--help"]));
        let mut passed: BTreeSet<&str> = ["--cores", "--out"].into();
        for mode in [FULL, QUICK] {
            passed.extend(table::flags(row.args(&mode)));
            passed.extend(mode.common.iter().map(|(f, _)| *f));
        }
        if passed.contains("--work-ms") {
            passed.insert("--work-units");
        }
        if row.calibrated() {
            passed.insert("--units-per-ms");
        }
        if row.per_interpreter() {
            passed.insert("--python");
        }
        for flag in passed {
            if !takes.contains(flag) {
                problems.push(format!("{} does not take {flag}", row.name()));
            }
        }
        if takes.contains("--units-per-ms") != CALIBRATED.contains(&row.experiment) {
            problems.push(format!(
                "{} takes --units-per-ms: {}, but table::CALIBRATED says {}",
                row.name(),
                takes.contains("--units-per-ms"),
                CALIBRATED.contains(&row.experiment)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the experiment table has drifted:\n{}",
        problems.join("\n")
    );

    // `thread calibrate` and `report DIR --out DIR`, which the sweep runs too.
    help_of(&built[table::CALIBRATOR], &["calibrate", "--help"]);
    let report = harness::testkit::build_bin("conpar-report", table::REPORT);
    assert!(help_flags(&help_of(&report, &["--help"])).contains("--out"));
}

#[test]
fn help_teaches_the_run_folder_and_examples() {
    sweep().arg("--help").assert().success().stdout(
        predicate::str::contains("raw/*.jsonl")
            .and(predicate::str::contains("Examples:"))
            .and(predicate::str::contains("--quick"))
            .and(predicate::str::contains("How long: --quick"))
            .and(predicate::str::contains("index.html")),
    );
}

/// Runs the sweep with `args`; checks it exits 2 naming `names`, without a panic.
fn assert_usage_error(args: &[&str], names: &str) {
    let out = sweep().args(args).env("PATH", "").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "`sweep {}`: {stderr}",
        args.join(" ")
    );
    assert!(
        stderr.contains(names) && !stderr.contains("panicked"),
        "`sweep {}` must name {names}: {stderr}",
        args.join(" ")
    );
    assert!(out.stdout.is_empty(), "stdout stays clean");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    assert_usage_error(&["--out"], "--out");
    assert_usage_error(&["--reps"], "--reps");
    assert_usage_error(&["--reps", "0"], "--reps");
    assert_usage_error(&["--reps", "x"], "--reps");
    assert_usage_error(&["--cores-list", "0,x"], "--cores-list");
    assert_usage_error(&["--plan", "--cores-list", "1,100000"], "--cores-list");
    assert_usage_error(&["--only", "("], "--only");
    assert_usage_error(&["--plan", "--only", "no-such-row"], "matches no row");
    assert_usage_error(
        &["--plan", "--only", "no-such-row"],
        "thread kitchen, process kitchen",
    );
    assert_usage_error(&["--bin-dir", "/no/such/dir"], "--bin-dir");
    assert_usage_error(&["--plan", "--bin-dir", empty], "--bin-dir");
    assert_usage_error(&["--plan", "--bin-dir", empty], "report");
    assert_usage_error(&["--no-such-flag"], "--no-such-flag");
}

#[test]
fn an_existing_out_is_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    // PATH is empty: had the sweep tried to build, cargo would be missing
    // and it would exit 1.
    assert_usage_error(
        &["--quick", "--out", dir.path().to_str().unwrap()],
        "already exists",
    );
}

#[test]
fn plan_prints_the_runs_on_stdout() {
    let out = sweep()
        .args([
            "--plan",
            "--quick",
            "--cores-list",
            "1",
            "--only",
            "^thread (cpu|spawn)$",
        ])
        .env("PATH", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "thread cpu --cores 1 (rep 1/3) --work-ms 100 --dist balanced --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n\
         thread cpu --cores 1 (rep 2/3) --work-ms 100 --dist balanced --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n\
         thread cpu --cores 1 (rep 3/3) --work-ms 100 --dist balanced --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n\
         thread spawn --cores 1 (rep 1/3) --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n\
         thread spawn --cores 1 (rep 2/3) --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n\
         thread spawn --cores 1 (rep 3/3) --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120\n"
    );
    let out = sweep()
        .args([
            "--plan",
            "--reps",
            "2",
            "--cores-list",
            "1",
            "--only",
            "race",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "thread race --cores 1 (rep 1/2) --duration-secs 0.3 --warmup-secs 0.1 --timeout-secs 600\n\
         thread race --cores 1 (rep 2/2) --duration-secs 0.3 --warmup-secs 0.1 --timeout-secs 600\n"
    );
}

/// A folder of fake binaries: `thread` calibrates to 123.456 units/ms,
/// writes one record to its `--out`, prints a line and exits `$FAKE_EXIT`;
/// `report` writes `summary.md`.
fn fake_bins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let thread = r#"#!/bin/sh
[ "$1" = calibrate ] && { echo 123.456; exit 0; }
out=
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
echo "fake thread ran" >&2
printf '%s\n' '{"schema":1,"machine":{"rustc":"rustc 9.9.9","git_rev":"abc123","git_dirty":"false"}}' >> "$out"
exit "${FAKE_EXIT:-0}"
"#;
    let report = "#!/bin/sh\necho '# summary' > \"$3/summary.md\"\n\
                  printf 'claim,statement,verdict,reason,evidence,basis\\nC9,x,holds,,lost 5,b\\n' > \"$3/claims.csv\"\n";
    for (name, text) in [("thread", thread), ("report", report)] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn fake_sweep(bins: &Path, out: &Path, fake_exit: &str) -> std::process::Output {
    sweep()
        .args([
            "--quick",
            "--reps",
            "2",
            "--cores-list",
            "1",
            "--only",
            "^thread (spawn|cpu)$",
        ])
        .arg("--bin-dir")
        .arg(bins)
        .arg("--out")
        .arg(out)
        .env("FAKE_EXIT", fake_exit)
        .output()
        .unwrap()
}

#[test]
fn a_sweep_over_fake_binaries_writes_the_run_folder() {
    let bins = fake_bins();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let done = fake_sweep(bins.path(), &out, "0");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.stdout.is_empty(), "stdout stays clean");
    // quiet when stderr is not a terminal, but for a warning of a busy
    // machine and the closing verdict table
    assert!(stderr.contains("1 of 1 claims hold"), "{stderr}");
    assert!(
        stderr
            .lines()
            .filter(|l| l.starts_with("sweep:"))
            .all(|l| l.starts_with("sweep: warning: other programs took")),
        "{stderr}"
    );

    let raw = std::fs::read_to_string(out.join("raw/thread-cpu.jsonl")).unwrap();
    assert_eq!(raw.lines().count(), 2);
    let log = std::fs::read_to_string(out.join("logs/thread-spawn.log")).unwrap();
    assert_eq!(log.matches("== ").count(), 2, "{log}");
    assert!(log.contains("fake thread ran"));
    let cpu_log = std::fs::read_to_string(out.join("logs/thread-cpu.log")).unwrap();
    assert!(
        cpu_log.contains(" cpu --cores 1 --work-units 12346 --dist balanced --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120 --units-per-ms 123.456 --out "),
        "{cpu_log}"
    );
    assert!(out.join("summary.md").is_file());

    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    for line in [
        "# conpar run: run\n",
        "- mode: quick; core counts 1; 2 repetition(s) per case, each its own process",
        "- calibration: 123.456 kernel units/ms",
        "`target/release/report results/run --out results/run`",
        "Finished ",
        ": 4 of 4 run(s) in 0:00 (m:ss), 0 failed; load average at the end ",
        "| thread | cpu | 1 | 2 | --work-units 12346 --dist balanced --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120 --units-per-ms 123.456 | 0.",
        "| thread | spawn | 1 | 1 | --duration-secs 0.1 --warmup-secs 0.02 --timeout-secs 120 | 0.",
        "The binaries were built from git abc123 (dirty: false) with rustc 9.9.9 (from the records).",
        "Summary: [summary.md](summary.md).",
    ] {
        assert!(readme.contains(line), "README.md lacks {line:?}:\n{readme}");
    }
}

#[test]
fn a_failed_run_is_noted_and_the_sweep_goes_on() {
    let bins = fake_bins();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let done = fake_sweep(bins.path(), &out, "3");
    assert_eq!(done.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("thread cpu --cores 1 (rep 1) failed with exit code 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    fake thread ran"),
        "the log's tail: {stderr}"
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains(": 4 of 4 run(s) in "), "{readme}");
    assert!(readme.contains("4 failed"), "{readme}");
    assert!(readme.contains("- thread spawn --cores 1 rep 2: exit 3, see logs/thread-spawn.log"));
    assert!(readme.contains("| failed (exit 3) |"));
}

#[test]
fn a_run_stopped_by_the_user_stops_the_sweep() {
    let bins = fake_bins();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let done = fake_sweep(bins.path(), &out, "130");
    assert_eq!(done.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&done.stderr)
            .contains("interrupted; the records written so far are in")
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains(": 1 of 4 run(s) in "), "{readme}");
    assert!(readme.contains(", interrupted; load average"), "{readme}");
    assert!(readme.contains("| interrupted (exit 130) |"), "{readme}");
    assert_eq!(
        std::fs::read_to_string(out.join("raw/thread-cpu.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}

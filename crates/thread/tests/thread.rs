//! Integration tests of the `thread` binary: every experiment runs for
//! milliseconds on one core, its records parse and have the promised shape,
//! the work's checksum matches the workload's, and bad input exits 2.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use harness::Record;
use harness::testkit::{assert_record_shape, read_records};
use predicates::prelude::*;
use workload::{Dist, KitchenPlan, TaskPlan};

/// Flags that keep every sampled case to a few milliseconds.
const QUICK: &[&str] = &[
    "--cores",
    "1",
    "--duration-secs",
    "0.02",
    "--warmup-secs",
    "0",
    "--quiet",
];

fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    let out = dir.join(format!("{experiment}.jsonl"));
    Command::cargo_bin("thread")
        .unwrap()
        .arg(experiment)
        .args(QUICK)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let records = read_records(&out);
    assert!(!records.is_empty(), "{experiment} wrote no record");
    for r in &records {
        assert_record_shape(r, "thread", experiment);
        assert_eq!(r.cpus.len(), 1, "--cores 1 pins one CPU");
    }
    records
}

fn models(records: &[Record]) -> BTreeSet<&str> {
    records.iter().map(|r| r.model.as_str()).collect()
}

#[test]
fn spawn_measures_both_models() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("spawn", &[], dir.path());
    assert_eq!(models(&rs), BTreeSet::from(["std-spawn", "scoped-spawn"]));
    assert!(rs.iter().all(|r| r.latency.as_ref().unwrap().samples >= 10));
}

#[test]
fn pingpong_on_one_core_is_same_cpu_only() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("pingpong", &[], dir.path());
    assert_eq!(models(&rs), BTreeSet::from(["pipe", "condvar", "channel"]));
    assert!(
        rs.iter()
            .all(|r| r.variant == "same-cpu" && r.params["cpu_a"] == r.params["cpu_b"])
    );
}

#[test]
fn memory_fits_a_slope_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("memory", &["--tasks", "64", "--steps", "2"], dir.path());
    assert_eq!(rs[0].ops, 64, "every thread was started");
    let per = rs[0].figure("bytes_per_unit").unwrap();
    assert!(per > 0.0 && per < 1e6, "bytes per idle thread {per}");
}

#[test]
fn cpu_models_all_do_the_workloads_work() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("cpu", &["--tasks", "16", "--work-units", "64"], dir.path());
    assert_eq!(models(&rs).len(), 5);
    for dist in [Dist::Balanced, Dist::Skewed] {
        let want = TaskPlan::new(dist, 16, 64, 42).expected_checksum().hex();
        for r in rs.iter().filter(|r| r.variant == dist.name()) {
            assert_eq!(
                r.checksum.as_deref(),
                Some(want.as_str()),
                "{} {}",
                r.model,
                r.variant
            );
            assert_eq!(r.ops, 16);
        }
    }
    // One CPU decides C2, from this run's own numbers.
    let v: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert!(v.iter().all(|v| v.claim == "C2"), "{v:?}");
    assert_eq!(v.len(), 2);
}

#[test]
fn gil_runs_locked_and_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "gil",
        &["--tasks", "8", "--work-units", "32", "--dist", "balanced"],
        dir.path(),
    );
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "gil-threads", "no-gil-threads"])
    );
    let checks: BTreeSet<_> = rs.iter().map(|r| r.checksum.clone()).collect();
    assert_eq!(checks.len(), 1, "same work with and without the lock");
}

#[test]
fn race_counts_lost_updates_and_decides_c9() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("race", &["--increments", "2000"], dir.path());
    for r in &rs {
        assert_eq!(r.ops, 4000, "two threads by default, even on one core");
        let lost = r.figure("lost_updates").unwrap();
        if r.model != "load-store" {
            assert_eq!(lost, 0.0, "{} must not lose updates", r.model);
        }
    }
    assert_eq!(rs.last().unwrap().verdict.as_ref().unwrap().claim, "C9");
}

#[test]
fn share_reads_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("share", &["--sizes", "1KiB,64KiB"], dir.path());
    let variants: BTreeSet<_> = rs.iter().map(|r| r.variant.as_str()).collect();
    assert_eq!(
        variants,
        BTreeSet::from(["1KiB/same-cpu", "64KiB/same-cpu"])
    );
    assert!(rs.iter().all(|r| r.figure("bytes_per_s").unwrap() > 0.0));
}

#[test]
fn kitchen_cooks_every_order_and_decides_c1() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("kitchen", &["--units-per-ms", "5"], dir.path());
    let want = KitchenPlan::new(3, 5.0, 42).expected_checksum().hex();
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "thread-per-order"])
    );
    for r in &rs {
        assert_eq!(r.checksum.as_deref(), Some(want.as_str()));
        assert_eq!(r.ops, 3);
        assert!(
            r.wall_ns >= 50_000_000,
            "no model beats the ramen's 50 ms of waiting"
        );
    }
    assert_eq!(rs.last().unwrap().verdict.as_ref().unwrap().claim, "C1");
}

#[test]
fn calibrate_prints_one_number() {
    let out = Command::cargo_bin("thread")
        .unwrap()
        .args(["calibrate", "--cores", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: f64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(v > 0.0);
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no/such/dir/out.jsonl");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["cpu", "--cores", "0"], "--cores"),
        (vec!["cpu", "--cores", "4096"], "--cores"),
        (vec!["cpu", "--tasks", "0"], "--tasks"),
        (vec!["cpu", "--dist", "lumpy"], "--dist"),
        (vec!["race", "--increments", "0"], "--increments"),
        (vec!["share", "--sizes", "3 parsecs"], "--sizes"),
        (vec!["spawn", "--model", "green-thread"], "--model"),
        (
            vec!["spawn", "--out", unwritable.to_str().unwrap()],
            "--out",
        ),
    ];
    for (args, flag) in cases {
        Command::cargo_bin("thread")
            .unwrap()
            .args(&args)
            .args(["--duration-secs", "0.01"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(flag).and(predicate::str::contains("panicked").not()));
    }
}

#[test]
fn oversubscribe_runs_more_workers_than_cpus() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jsonl");
    let allowed = harness::cores::allowed_cpus().unwrap().len();
    let cores = (allowed + 2).to_string();
    Command::cargo_bin("thread")
        .unwrap()
        .args([
            "cpu",
            "--cores",
            &cores,
            "--oversubscribe",
            "--tasks",
            "8",
            "--work-units",
            "16",
            "-q",
        ])
        .args(["--model", "sequential,pool", "--dist", "balanced", "--out"])
        .arg(&out)
        .assert()
        .success();
    let rs = read_records(&out);
    assert_eq!(rs[1].param_u64("cores"), Some(allowed as u64 + 2));
    assert_eq!(rs[1].cpus.len(), allowed);
}

#[test]
fn requests_start_a_thread_per_request_and_decide_c5() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "requests",
        &["--requests", "4", "--delay-ms", "5"],
        dir.path(),
    );
    let r = &rs[0];
    assert_eq!((r.model.as_str(), r.ops), ("thread-per-request", 4));
    let want = loadgen::requests::expected_checksum(4).hex();
    assert_eq!(r.checksum.as_deref(), Some(want.as_str()));
    assert_eq!(r.figure("started"), Some(4.0), "a thread per request");
    assert!(
        r.wall_ns >= 5_000_000,
        "no request beats the server's delay"
    );
    assert_eq!(r.verdict.as_ref().unwrap().claim, "C5");
}

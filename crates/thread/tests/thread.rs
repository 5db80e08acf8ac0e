//! Integration tests of the `thread` binary: every experiment runs for
//! milliseconds on one core, its records parse and have the promised shape,
//! the work's checksum matches the workload's, and bad input exits 2.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use harness::Record;
use harness::testkit::{Bin, assert_cpu_work, assert_kitchen_work, models, read_records};

/// The binary under test.
const BIN: Bin = Bin::new("thread", env!("CARGO_BIN_EXE_thread"));

/// Runs `experiment` for milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    BIN.run(experiment, extra, dir)
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
    assert_cpu_work(&rs, 16, 64, 42);
    // One CPU decides C2, from this run's own numbers.
    let v: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert!(v.iter().all(|v| v.claim.id() == "C2"), "{v:?}");
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
    assert_eq!(
        rs.last().unwrap().verdict.as_ref().unwrap().claim.id(),
        "C9"
    );
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
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "thread-per-order"])
    );
    // Three orders, one of each dish: no model beats the ramen's 50 ms of waiting.
    assert_kitchen_work(&rs, 3, 5.0, 42);
    assert_eq!(
        rs.last().unwrap().verdict.as_ref().unwrap().claim.id(),
        "C1"
    );
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
    BIN.assert_usage_errors(&cases);
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
    let want = network::requests::expected_checksum(4).hex();
    assert_eq!(r.checksum.as_deref(), Some(want.as_str()));
    assert_eq!(r.figure("started"), Some(4.0), "a thread per request");
    assert!(
        r.wall_ns >= 5_000_000,
        "no request beats the server's delay"
    );
    assert_eq!(r.verdict.as_ref().unwrap().claim.id(), "C5");
}

//! Integration tests of the `coroutine` binary: every experiment runs for
//! milliseconds on one core, its records parse and have the promised shape,
//! the work's checksum matches the workload's, tasks are counted at their
//! first poll, multi-threaded runtimes really use several threads, and bad
//! input exits 2 naming the flag.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use harness::Record;
use harness::testkit::{Bin, assert_cpu_work, assert_kitchen_work, models};

/// The binary under test.
const BIN: Bin = Bin::new("coroutine", env!("CARGO_BIN_EXE_coroutine"));

/// The runtimes this build has.
fn runtimes() -> BTreeSet<&'static str> {
    conpar_coroutine::rt::Kind::ALL
        .iter()
        .map(|k| k.name())
        .collect()
}

/// Checks every model but `sequential` says which clock timed it.
fn says_its_clock(records: &[Record]) {
    for r in records.iter().filter(|r| r.model != "sequential") {
        assert!(
            r.params.contains_key("clock"),
            "{} says which clock",
            r.model
        );
    }
}

/// Runs `experiment` for milliseconds on `--cores cores`; records checked for shape.
fn run_on(cores: &str, experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    let records = BIN.run_on(cores, experiment, extra, dir);
    says_its_clock(&records);
    records
}

/// Runs `experiment` for milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    let records = BIN.run(experiment, extra, dir);
    says_its_clock(&records);
    records
}

#[test]
fn spawn_is_timed_inside_every_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("spawn", &[], dir.path());
    assert_eq!(models(&rs), runtimes());
    for r in &rs {
        assert!(r.latency.as_ref().unwrap().samples >= 10);
        assert_eq!(r.params["clock"], "inside-runtime");
        assert_eq!(r.param_u64("worker_threads"), Some(1));
    }
    let current = rs
        .iter()
        .find(|r| r.model == "tokio-current-thread")
        .unwrap();
    assert_eq!(current.params["single_threaded"], true);
    if let Some(a) = rs.iter().find(|r| r.model == "async-std") {
        assert_eq!(a.params["status"], "discontinued");
    }
}

#[test]
fn pingpong_runs_channels_and_socketpairs_on_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("pingpong", &[], dir.path());
    assert_eq!(models(&rs).len(), 2 * runtimes().len());
    for r in &rs {
        assert_eq!(r.variant, "same-cpu");
        assert_eq!(r.params["cpu_a"], r.params["cpu_b"]);
        let link = if r.model.ends_with("-socketpair") {
            "socketpair"
        } else {
            "channel"
        };
        assert_eq!(r.params["link"], link);
        assert!(r.figure("worker_threads_seen").unwrap() >= 1.0);
    }
}

#[test]
fn memory_counts_exactly_n_first_polls() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("memory", &["--tasks", "1500", "--steps", "2"], dir.path());
    assert_eq!(
        rs.len(),
        2 * runtimes().len(),
        "timer and channel per runtime"
    );
    for r in &rs {
        assert_eq!(r.ops, 1500);
        assert_eq!(
            r.figure("first_polls"),
            Some(1500.0),
            "{} {}",
            r.model,
            r.variant
        );
        assert!(r.figure("bytes_per_unit").is_some());
        assert!(
            r.figure("bytes_per_unit_at_1000").is_some(),
            "the 1k decade was read"
        );
        assert_eq!(r.params["counts"], serde_json::json!([750, 1000, 1500]));
    }
}

#[test]
fn cpu_models_all_do_the_workloads_work() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("cpu", &["--tasks", "16", "--work-units", "64"], dir.path());
    assert_eq!(models(&rs).len(), runtimes().len() + 2);
    assert_cpu_work(&rs, 16, 64, 42);
    let v: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert!(v.iter().all(|v| v.claim.id() == "C2"), "{v:?}");
    assert_eq!(v.len(), 2, "one C2 verdict per distribution on one CPU");
}

#[test]
fn multi_thread_runs_tasks_on_more_than_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    // Enough work (about 100 ms) that the second worker surely steals some;
    // --oversubscribe keeps two workers even where only one CPU is allowed.
    let args = [
        "--model",
        "tokio-multi-thread,smol",
        "--dist",
        "balanced",
        "--tasks",
        "64",
        "--work-units",
        "100000",
        "--oversubscribe",
    ];
    let rs = run_on("2", "cpu", &args, dir.path());
    for r in &rs {
        assert_eq!(r.param_u64("worker_threads"), Some(2));
        let seen = r.figure("worker_threads_seen").unwrap();
        assert!(
            seen >= 2.0,
            "{} ran every task on {seen} thread(s)",
            r.model
        );
    }
}

#[test]
fn kitchen_cooks_every_order_and_decides_c1() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("kitchen", &["--units-per-ms", "5"], dir.path());
    let mut expected = runtimes();
    expected.insert("sequential");
    assert_eq!(models(&rs), expected, "parallel-only is skipped on one CPU");
    // Three orders, one of each dish: no model beats the ramen's 50 ms of waiting.
    assert_kitchen_work(&rs, 3, 5.0, 42);
    let v: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].claim.id(), "C1");
}

#[test]
fn stall_measures_every_blocker_and_decides_c6() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "stall",
        &["--model", "tokio-current-thread,smol", "--block-ms", "5"],
        dir.path(),
    );
    let variants: BTreeSet<_> = rs.iter().map(|r| r.variant.as_str()).collect();
    assert_eq!(
        variants,
        BTreeSet::from(["async-sleep", "spawn-blocking", "blocking-sleep"])
    );
    for r in &rs {
        assert!(r.ops >= 10, "the heartbeat ticked");
        assert!(r.latency.is_some());
    }
    // One thread each on --cores 1: both runtimes decide C6.
    let v: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|v| v.claim.id() == "C6"));
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no/such/dir/out.jsonl");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["spawn", "--cores", "0"], "--cores"),
        (vec!["spawn", "--cores", "4096"], "--cores"),
        (vec!["spawn", "--model", "green-thread"], "--model"),
        (vec!["memory", "--tasks", "0"], "--tasks"),
        (vec!["memory", "--park", "hammock"], "--park"),
        (vec!["cpu", "--dist", "lumpy"], "--dist"),
        (vec!["pingpong", "--placement", "moon"], "--placement"),
        (vec!["stall", "--block-ms", "0"], "--block-ms"),
        (vec!["kitchen", "--orders", "0"], "--orders"),
        (
            vec!["spawn", "--out", unwritable.to_str().unwrap()],
            "--out",
        ),
    ];
    BIN.assert_usage_errors(&cases);
}

#[test]
fn help_labels_async_std_discontinued() {
    let out = Command::cargo_bin("coroutine")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("discontinued"), "{help}");
}

/// The network experiments (echo, requests, serve).
#[path = "coroutine/network.rs"]
mod network;

//! Integration tests of the `python` binary with the machine's `python3`:
//! every experiment runs for milliseconds, its records parse and have the
//! promised shape, the work's checksum is the Rust kernel's (the Python twin
//! does the same work, bit for bit), and bad input exits 2. And the guard:
//! a SIGKILL of the binary in the middle of `cpu --cores 2` and a run past
//! its deadline leave no Python process behind.
//!
//! Where no `python3` is on PATH each test says so and passes, except under
//! CI (`CI` set), where the Python tests must run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::Record;
use harness::testkit::{Bin, assert_cpu_work, assert_kitchen_work, models, verdicts};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The binary under test.
const BIN: Bin = Bin::new("python", env!("CARGO_BIN_EXE_python"));

/// Whether `python3` runs here; panics under CI when it does not.
fn have_python() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Python tests: install python3 (3.9 or newer)"
        );
        eprintln!("no python3 (3.9 or newer) on PATH: the Python tests are skipped");
    }
    ok
}

/// CPUs this test may use.
fn cpus() -> usize {
    harness::cores::allowed_cpus().map_or(1, |c| c.len())
}

fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    let rs = BIN.run(experiment, extra, dir);
    for r in &rs {
        for key in [
            "unit",
            "interpreter",
            "python_version",
            "implementation",
            "gil",
        ] {
            assert!(
                r.params.contains_key(key),
                "{} {}: params.{key}",
                r.model,
                r.variant
            );
        }
        assert!(
            ["thread", "process", "coroutine"].contains(&r.params["unit"].as_str().unwrap()),
            "{}: unit",
            r.model
        );
    }
    rs
}

#[test]
fn cpu_does_the_rust_kernels_work_in_every_model() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tasks", "8", "--work-units", "24", "--units-per-ms", "1"];
    let rs = run("cpu", &args, dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from([
            "sequential",
            "threading",
            "multiprocessing-pool",
            "futures-thread-pool",
            "futures-process-pool",
            "asyncio"
        ])
    );
    // The same checksum as the Rust plan's, on both distributions.
    assert_cpu_work(&rs, 8, 24, 42);
    assert_eq!(
        verdicts(&rs),
        ["C2", "C2"],
        "C2 on one CPU, each distribution"
    );
    let asyncio = rs.iter().find(|r| r.model == "asyncio").unwrap();
    assert_eq!(asyncio.figures["units_started"], 8.0, "every task started");
    assert_eq!(asyncio.params["unit"], "coroutine");
}

#[test]
fn gil_compares_cpythons_threads_with_its_processes() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cores = if cpus() >= 2 { "2" } else { "1" };
    let args = ["--tasks", "8", "--work-units", "16", "--units-per-ms", "1"];
    let rs = BIN.run_on(cores, "gil", &args, dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "threading", "multiprocessing-pool"])
    );
    assert_cpu_work(&rs, 8, 16, 42);
    let v = verdicts(&rs);
    if cores == "2" {
        assert_eq!(v, ["C11"]);
        let decider = rs.iter().find(|r| r.verdict.is_some()).unwrap();
        assert_eq!(
            (decider.model.as_str(), decider.variant.as_str()),
            ("multiprocessing-pool", "balanced")
        );
        let verdict = decider.verdict.as_ref().unwrap();
        assert_eq!(
            verdict.compared,
            ["sequential", "threading", "multiprocessing-pool"]
        );
    } else {
        assert!(v.is_empty(), "no C11 on one CPU");
    }
}

#[test]
fn kitchen_cooks_every_order_and_decides_c1_with_asyncio() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rs = run("kitchen", &["--units-per-ms", "1"], dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "asyncio", "threading", "multiprocessing"]),
        "the two per-worker models are skipped on one CPU"
    );
    assert_kitchen_work(&rs, 3, 1.0, 42);
    let asyncio = rs.iter().find(|r| r.model == "asyncio").unwrap();
    assert_eq!(asyncio.verdict.as_ref().unwrap().claim.id(), "C1");
}

#[test]
fn requests_fetch_every_answer_from_the_delay_server() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "requests",
        &["--requests", "4", "--delay-ms", "5"],
        dir.path(),
    );
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "asyncio", "thread-pool"])
    );
    let want = network::requests::expected_checksum(4).hex();
    for r in &rs {
        assert_eq!(r.checksum.as_deref(), Some(want.as_str()), "{}", r.model);
        assert_eq!(r.latency.as_ref().unwrap().samples, 4);
    }
    assert_eq!(
        rs.iter().find(|r| r.model == "asyncio").unwrap().figures["started"],
        4.0
    );
    assert_eq!(verdicts(&rs), ["C5"]);
}

#[test]
fn stall_times_the_heartbeat_beside_each_blocker() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rs = run("stall", &["--block-ms", "5"], dir.path());
    let variants: Vec<&str> = rs.iter().map(|r| r.variant.as_str()).collect();
    assert_eq!(variants, ["asyncio-sleep", "run-in-executor", "time-sleep"]);
    let v = rs[2].verdict.as_ref().expect("C6 on the time-sleep case");
    assert_eq!(v.claim.id(), "C6");
    assert_eq!(v.compared[0], "asyncio (time-sleep)");
}

#[test]
fn spawn_creates_every_kind_of_unit() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rs = run("spawn", &[], dir.path());
    assert_eq!(rs.len(), 5);
    for r in &rs {
        let samples = r.latency.as_ref().unwrap().samples;
        assert!(samples >= 10, "{}: {samples} samples", r.model);
        assert!(r.figures["units_started"] >= samples as f64, "{}", r.model);
    }
    let spawn = rs
        .iter()
        .find(|r| r.model == "multiprocessing-spawn")
        .unwrap();
    assert_eq!(spawn.params["start_method"], "spawn");
    assert_eq!(spawn.params["unit"], "process");
}

#[test]
fn pingpong_has_same_cpu_for_all_and_cross_cpu_for_threads_and_processes() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cores = if cpus() >= 2 { "2" } else { "1" };
    let rs = BIN.run_on(cores, "pingpong", &[], dir.path());
    let cases: BTreeSet<(String, String)> = rs
        .iter()
        .map(|r| (r.model.clone(), r.variant.clone()))
        .collect();
    assert!(cases.contains(&("asyncio-queue".into(), "same-cpu".into())));
    assert!(!cases.contains(&("asyncio-queue".into(), "cross-cpu".into())));
    if cores == "2" {
        assert!(cases.contains(&("multiprocessing-pipe".into(), "cross-cpu".into())));
    }
    assert!(rs.iter().all(|r| r.figures.contains_key("handover_p50_ns")));
}

#[test]
fn memory_fits_a_slope_per_kind_of_unit() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--tasks",
        "500",
        "--threads",
        "10",
        "--processes",
        "2",
        "--steps",
        "2",
    ];
    let rs = run("memory", &args, dir.path());
    let units: Vec<&str> = rs
        .iter()
        .map(|r| r.params["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["coroutine", "thread", "process"]);
    for r in &rs {
        assert!(r.figures.contains_key("bytes_per_unit"), "{}", r.model);
        assert_eq!(r.ops, r.param_u64("tasks").unwrap());
    }
}

#[test]
fn the_python_twin_reproduces_the_rust_kernel_and_message() {
    if !have_python() {
        return;
    }
    let mut py = conpar_python::Interpreter::spawn("python3").unwrap();
    let r = py
        .call(
            serde_json::json!({"cmd": "twin", "work": [[7, 3], [42, 0], [1u64 << 63, 2]],
                                 "messages": [[0, 24], [5, 64], [9, 1000]]}),
        )
        .unwrap();
    let work: Vec<u64> = r.u64s("work").unwrap();
    assert_eq!(
        work,
        [
            workload::kernel::work(7, 3),
            workload::kernel::work(42, 0),
            workload::kernel::work(1u64 << 63, 2)
        ]
    );
    let messages = r.ok["messages"].as_array().unwrap();
    for (m, (conn, len)) in messages.iter().zip([(0u32, 24usize), (5, 64), (9, 1000)]) {
        let rust = workload::message::Message::new(conn, len);
        let hex: String = rust.bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(m.as_str().unwrap(), hex, "message of connection {conn}");
    }
    py.finish().unwrap();
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    BIN.assert_usage_errors(&[
        (
            vec!["cpu", "--python", "/no/such/python3", "--quiet"],
            "--python",
        ),
        (vec!["memory", "--processes", "0"], "--processes"),
        (vec!["gil", "--tasks", "0"], "--tasks"),
        (vec!["stall", "--block-ms", "0"], "--block-ms"),
        (vec!["kitchen", "--model", "tokio"], "--model"),
    ]);
    if have_python() {
        BIN.assert_usage_errors(&[(
            vec!["spawn", "--python", "/bin/true", "--quiet"],
            "--python",
        )]);
    }
}

/// `(state, ppid, pgrp)` of a process, from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(char, i32, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    Some((
        rest.first()?.chars().next()?,
        rest.get(1)?.parse().ok()?,
        rest.get(2)?.parse().ok()?,
    ))
}

/// Live (not zombie) processes of process group `pgid`.
fn alive_in_group(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| matches!(stat(p), Some((st, _, g)) if g == pgid && st != 'Z'))
        .collect()
}

/// The process group `binary` started (its interpreter leads it), once it
/// holds at least `members` live processes.
fn group_of(binary: i32, members: usize, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        let kids = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&p| matches!(stat(p), Some((_, pp, g)) if pp == binary && g == p));
        for leader in kids {
            if alive_in_group(leader).len() >= members {
                return leader;
            }
        }
        assert!(
            start.elapsed() < limit,
            "the interpreter's group never had {members} members"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reaps the members of `pgid` that came to this (subreaper) process, until
/// the group has no live member or `limit` passes; returns the members
/// still alive. (Only that group: the other tests' children are theirs.)
fn wait_group_gone(pgid: i32, limit: Duration) -> Vec<i32> {
    let start = Instant::now();
    loop {
        while waitpid(Pid::from_raw(-pgid), Some(WaitPidFlag::WNOHANG))
            .is_ok_and(|s| s != WaitStatus::StillAlive)
        {}
        let left = alive_in_group(pgid);
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_sigkill_of_the_binary_mid_cpu_leaves_no_python_process() {
    if !have_python() {
        return;
    }
    // Orphans come here, where the test can see and reap them.
    harness::guard::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workers = cpus().min(2).to_string();
    let mut child = std::process::Command::new(BIN.path)
        .args([
            "cpu",
            "--cores",
            &workers,
            "--model",
            "multiprocessing-pool",
        ])
        .args([
            "--dist",
            "balanced",
            "--tasks",
            "64",
            "--work-units",
            "100000",
        ])
        .args(["--units-per-ms", "1", "--quiet", "--out"])
        .arg(dir.path().join("cpu.jsonl"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let binary = child.id() as i32;
    // The interpreter and its pool's workers are all up: the run is mid-work.
    let pgid = group_of(binary, 1 + cpus().min(2), Duration::from_secs(30));
    kill(Pid::from_raw(binary), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    let left = wait_group_gone(pgid, Duration::from_secs(10));
    for &p in &left {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
    wait_group_gone(pgid, Duration::from_secs(2));
    assert!(left.is_empty(), "python processes left behind: {left:?}");
}

#[test]
fn a_run_past_its_deadline_stops_and_leaves_nothing() {
    if !have_python() {
        return;
    }
    harness::guard::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(BIN.path)
        .args([
            "kitchen",
            "--cores",
            "1",
            "--orders",
            "2000",
            "--model",
            "multiprocessing",
        ])
        .args(["--units-per-ms", "1", "--timeout-secs", "3", "--out"])
        .arg(dir.path().join("k.jsonl"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The interpreter and some of its order processes are up.
    let pgid = group_of(child.id() as i32, 2, Duration::from_secs(30));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not finish within --timeout-secs 3"),
        "{stderr}"
    );
    let left = wait_group_gone(pgid, Duration::from_secs(5));
    for &p in &left {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
    assert!(left.is_empty(), "python processes left behind: {left:?}");
}

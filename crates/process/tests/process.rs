//! Integration tests of the `process` binary: every experiment runs for
//! milliseconds on one core, its records parse and have the promised shape,
//! the work's checksum matches the workload's, and bad input exits 2. And
//! the safety features: an interrupted run (SIGINT) and a run whose worker is
//! killed (SIGKILL) each stop with a message that says what happened, keep
//! the records already written, and leave no process and no zombie behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use harness::Record;
use harness::testkit::{
    Bin, assert_cpu_work, assert_kitchen_work, assert_record_shape, models, read_records, verdicts,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use predicates::prelude::*;

/// The binary under test.
const BIN: Bin = Bin::new("process", env!("CARGO_BIN_EXE_process"));

/// Runs `experiment` for milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    BIN.run(experiment, extra, dir)
}

#[test]
fn spawn_measures_every_model_and_the_parent_heap() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("spawn", &["--heap-sizes", "1MiB"], dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from([
            "fork-exit",
            "fork-exec-self",
            "fork-exec-true",
            "posix-spawn",
            "command",
            "thread-spawn"
        ])
    );
    assert!(rs.iter().all(|r| r.latency.as_ref().unwrap().samples >= 10));
    let heap: Vec<_> = rs.iter().filter(|r| r.variant == "heap-1MiB").collect();
    assert_eq!(heap.len(), 2, "fork-exit and posix-spawn with a 1 MiB heap");
    assert!(
        heap.iter()
            .all(|r| r.param_u64("heap_bytes") == Some(1 << 20))
    );
    // The thread reference runs last and carries the C7 verdict.
    let last = rs.last().unwrap();
    assert_eq!(last.model, "thread-spawn");
    let v = last.verdict.as_ref().expect("C7 verdict on thread-spawn");
    assert!(
        v.claim.id() == "C7" && v.text.contains("fork-exit"),
        "{v:?}"
    );
}

#[test]
fn the_hidden_child_subcommand_exits_at_once_and_is_not_listed() {
    Command::cargo_bin("process")
        .unwrap()
        .arg("child")
        .assert()
        .success();
    Command::cargo_bin("process")
        .unwrap()
        .arg("--help")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("spawn")
                .and(predicate::str::is_match(r"(?m)^\s+child\s").unwrap().not()),
        );
}

#[test]
fn pingpong_on_one_core_is_same_cpu_only() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("pingpong", &[], dir.path());
    assert_eq!(models(&rs), BTreeSet::from(["pipe", "socketpair"]));
    assert!(
        rs.iter()
            .all(|r| r.variant == "same-cpu" && r.params["cpu_a"] == r.params["cpu_b"])
    );
    assert!(
        rs.iter()
            .all(|r| r.figure("handover_p50_ns").unwrap() > 0.0)
    );
}

#[test]
fn memory_fits_slopes_per_child_and_per_thread() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("memory", &["--tasks", "200", "--steps", "2"], dir.path());
    assert_eq!(models(&rs), BTreeSet::from(["fork-idle", "thread-idle"]));
    for r in &rs {
        assert_eq!(r.ops, 200, "every unit was started");
        let pss = r.figure("bytes_per_unit").unwrap();
        assert!(pss > 0.0 && pss < 1e7, "{} bytes per unit {pss}", r.model);
        assert!(r.figure("total_bytes_per_unit").unwrap() >= pss);
    }
    let fork = rs.iter().find(|r| r.model == "fork-idle").unwrap();
    assert!(fork.figure("rss_bytes_per_unit").unwrap() > 0.0);
    assert_eq!(verdicts(&rs), ["C7"]);
}

#[test]
fn cpu_models_all_do_the_workloads_work() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("cpu", &["--tasks", "16", "--work-units", "64"], dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "static-split", "pool"])
    );
    // The same plan as `thread cpu`: same tasks, units and seed, same checksum.
    assert_cpu_work(&rs, 16, 64, 42);
    assert_eq!(verdicts(&rs), ["C2", "C2"], "one CPU decides C2");
}

#[test]
fn gil_runs_processes_and_the_locked_threads() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "gil",
        &["--tasks", "8", "--work-units", "32", "--dist", "balanced"],
        dir.path(),
    );
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "gil-processes", "gil-threads"])
    );
    assert_eq!(rs.last().unwrap().model, "gil-threads", "threads run last");
    let checks: BTreeSet<_> = rs.iter().map(|r| r.checksum.clone()).collect();
    assert_eq!(checks.len(), 1, "same work in processes and threads");
    assert!(verdicts(&rs).is_empty(), "C11 needs two CPUs");
}

#[test]
fn share_moves_every_size_and_decides_c8_at_the_largest() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("share", &["--sizes", "1KiB,64KiB"], dir.path());
    let cases: BTreeSet<_> = rs
        .iter()
        .map(|r| (r.model.as_str(), r.variant.as_str()))
        .collect();
    assert_eq!(cases.len(), 4, "{cases:?}");
    assert!(cases.contains(&("memfd-mmap", "64KiB/same-cpu")));
    assert!(rs.iter().all(|r| r.figure("bytes_per_s").unwrap() > 0.0));
    let copied = |m: &str| {
        rs.iter()
            .find(|r| r.model == m && r.variant.starts_with("64KiB"))
            .and_then(|r| r.figure("bytes_copied_per_transfer"))
    };
    assert_eq!(copied("pipe"), Some(2.0 * 65536.0));
    assert_eq!(copied("memfd-mmap"), Some(0.0));
    assert_eq!(verdicts(&rs), ["C8"]);
    assert!(
        rs.last()
            .unwrap()
            .verdict
            .as_ref()
            .unwrap()
            .text
            .contains("64KiB")
    );
}

#[test]
fn kitchen_cooks_every_order_and_decides_c1() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("kitchen", &["--units-per-ms", "5"], dir.path());
    assert_eq!(
        models(&rs),
        BTreeSet::from(["sequential", "process-per-order"])
    );
    // Three orders, one of each dish: no model beats the ramen's 50 ms of waiting.
    assert_kitchen_work(&rs, 3, 5.0, 42);
    assert_eq!(verdicts(&rs), ["C1"]);
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no/such/dir/out.jsonl");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["cpu", "--cores", "0"], "--cores"),
        (vec!["cpu", "--cores", "4096"], "--cores"),
        (vec!["cpu", "--tasks", "0"], "--tasks"),
        (vec!["gil", "--dist", "lumpy"], "--dist"),
        (vec!["spawn", "--heap-sizes", "0"], "--heap-sizes"),
        (vec!["spawn", "--heap-sizes", "3 parsecs"], "--heap-sizes"),
        (vec!["share", "--sizes", "1KiB,lots"], "--sizes"),
        (vec!["pingpong", "--placement", "moon"], "--placement"),
        (vec!["memory", "--tasks", "100000"], "--tasks"),
        (vec!["kitchen", "--orders", "50000"], "--orders"),
        (vec!["spawn", "--model", "vfork"], "--model"),
        (
            vec!["spawn", "--out", unwritable.to_str().unwrap()],
            "--out",
        ),
    ];
    BIN.assert_usage_errors(&cases);
}

// ---- Interruptions: nothing left behind, records kept. ----

/// What `/proc/<pid>/stat` says about a process: its state letter and parent.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Live processes whose command line contains `marker` (forked children
/// share their parent's command line, so this finds them too).
fn with_marker(marker: &str) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

fn children_of(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| stat(p).is_some_and(|(_, pp)| pp == parent))
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// After the run has ended: no process with the marker is alive, and none of
/// the `seen` children is a zombie (dead children of an exited parent are
/// reaped by init at once; the grace period covers that).
fn assert_nothing_left(marker: &str, seen: &BTreeSet<i32>) {
    let t = Instant::now();
    loop {
        let alive = with_marker(marker);
        let zombies: Vec<i32> = seen
            .iter()
            .copied()
            .filter(|&p| stat(p).is_some_and(|(s, _)| s == 'Z'))
            .collect();
        if alive.is_empty() && zombies.is_empty() {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "left behind: alive {alive:?}, zombies {zombies:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A run of `process` that a test interrupts, with its records in a file
/// whose unique path marks every process of the run.
struct Victim {
    run: Child,
    pid: i32,
    out: PathBuf,
    /// Children of the run seen while it ran.
    seen: BTreeSet<i32>,
    _dir: tempfile::TempDir,
}

impl Victim {
    /// Starts `process` with `args` and waits for its first record.
    fn start(args: &[&str]) -> Victim {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("victim-marker-6b1f9c2e.jsonl");
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_process"))
            .args(args)
            .arg("--quiet")
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let v = Victim {
            pid: run.id() as i32,
            run,
            out,
            seen: BTreeSet::new(),
            _dir: dir,
        };
        wait_until("the first record", Duration::from_secs(60), || {
            std::fs::read_to_string(&v.out).is_ok_and(|t| t.lines().count() >= 1)
        });
        v
    }

    /// Waits for the run to end and checks it ended with `code`, said
    /// everything in `says`, kept whole records and left nothing behind.
    fn finish(self, code: i32, says: &[&str], experiment: &str) {
        let done = self.run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "{stderr}");
        for s in says {
            assert!(stderr.contains(s), "no '{s}' in: {stderr}");
        }
        let records = read_records(&self.out);
        assert!(!records.is_empty());
        records
            .iter()
            .for_each(|r| assert_record_shape(r, "process", experiment));
        assert_nothing_left(self.out.to_str().unwrap(), &self.seen);
    }
}

#[test]
fn sigint_in_the_middle_kills_every_child_and_keeps_the_records() {
    // Many idle children alive for a second or more in every repetition.
    let mut v = Victim::start(&[
        "memory",
        "--cores",
        "1",
        "--model",
        "fork-idle",
        "--tasks",
        "60",
        "--steps",
        "60",
        "--reps",
        "100",
    ]);
    wait_until("children alive", Duration::from_secs(60), || {
        v.seen.extend(children_of(v.pid));
        v.seen.len() >= 5
    });
    kill(Pid::from_raw(v.pid), Signal::SIGINT).unwrap();
    v.finish(
        130,
        &[
            "interrupted (SIGINT)",
            "child process(es)",
            "record(s) already written are intact",
        ],
        "memory",
    );
}

#[test]
fn a_killed_worker_stops_the_run_with_its_name_and_leaves_nothing() {
    let mut v = Victim::start(&[
        "cpu",
        "--cores",
        "2",
        "--oversubscribe",
        "--model",
        "pool",
        "--dist",
        "balanced",
        "--tasks",
        "64",
        "--work-units",
        "4000",
        "--reps",
        "1000",
    ]);
    // Kill one worker. If it had just finished its work, the kill changes
    // nothing; then a worker of a later repetition gets the next one.
    let mut last_kill: Option<Instant> = None;
    wait_until("the run to stop", Duration::from_secs(60), || {
        for c in children_of(v.pid) {
            let due = last_kill.is_none_or(|t| t.elapsed() > Duration::from_millis(300));
            if v.seen.insert(c) && due {
                let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
                last_kill = Some(Instant::now());
            }
        }
        v.run.try_wait().unwrap().is_some()
    });
    v.finish(1, &["worker process", "was killed by SIGKILL"], "cpu");
}

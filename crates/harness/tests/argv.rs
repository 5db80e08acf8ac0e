//! Every binary, fed random command lines built from its own flag names and
//! odd values (negative, huge, NaN, empty, unicode…): whatever it is given,
//! it exits 0, 1 or 2 — never 101 (a panic) or by a signal — and leaves no
//! process behind.
//!
//! The flags come from each subcommand's own `--help`, so a new flag is fed
//! odd values without touching this test. This file is its own test binary
//! with a single test: it makes itself the "child subreaper" of everything it
//! starts, so a process a binary leaves behind is re-parented to it, where
//! the test sees it (and cleans it up).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::testkit::build_bin;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The binaries, with their packages.
const BINARIES: &[(&str, &str)] = &[
    ("conpar-thread", "thread"),
    ("conpar-process", "process"),
    ("conpar-coroutine", "coroutine"),
    ("conpar-blocking-io", "blocking-io"),
    ("conpar-nonblocking-socket", "nonblocking-socket"),
    ("conpar-loadgen", "loadgen"),
    ("conpar-report", "report"),
    ("conpar-python", "python"),
    ("conpar-sweep", "sweep"),
];

/// Values nobody should type, and a few they might.
const ODD: &[&str] = &[
    "-5",
    "-1",
    "0",
    "1",
    "1e20",
    "1e300",
    "NaN",
    "inf",
    "-inf",
    "",
    " ",
    "ü",
    "🦀🦀",
    "99999999999999999999999",
    "0.000001",
    "1,2,",
    ",",
    "abc",
    "127.0.0.1:1",
    "/proc/x",
    "--",
];

/// A command that runs longer than this is stopped with SIGTERM (a valid
/// `serve` runs until it is told to stop).
const RUN_LIMIT: Duration = Duration::from_secs(15);

/// One subcommand and the flags its help lists.
#[derive(Debug, Clone)]
struct Sub {
    bin: PathBuf,
    name: String,
    flags: Vec<String>,
}

fn help(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The long flags a help text lists (`--help` and `--version` aside).
fn flags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let ok = word.len() > 2
            && word.starts_with("--")
            && word.as_bytes()[2].is_ascii_lowercase()
            && !matches!(word, "--help" | "--version");
        if ok && !out.iter().any(|f| f == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// The subcommands of a binary's help (its "Commands:" section), or the
/// binary itself when it has none (`report`).
fn subcommands(bin: &Path) -> Vec<Sub> {
    let top = help(bin, &[]);
    let names: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty() || l.is_empty())
                .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| *n != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return vec![Sub {
            bin: bin.to_path_buf(),
            name: String::new(),
            flags: flags(&top),
        }];
    }
    names
        .into_iter()
        .map(|name| Sub {
            flags: flags(&help(bin, &[&name])),
            bin: bin.to_path_buf(),
            name,
        })
        .collect()
}

/// Processes whose parent is this one.
fn children() -> Vec<(i32, String)> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.get(1) == Some(&me.as_str()) {
            out.push((pid, stat[..=close].to_string()));
        }
    }
    out
}

/// Runs one command line; returns why it failed the property, if it did.
fn check(sub: &Sub, args: &[String], dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new(&sub.bin);
    if !sub.name.is_empty() {
        cmd.arg(&sub.name);
    }
    let line = format!("{} {} {}", sub.bin.display(), sub.name, args.join(" "));
    let mut child = cmd
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{line}: cannot start: {e}"))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let started = Instant::now();
    let mut stopped = false;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if !stopped && started.elapsed() > RUN_LIMIT {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            stopped = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    // Whatever it left behind was re-parented to this process.
    std::thread::sleep(Duration::from_millis(20));
    let left = children();
    for (p, _) in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    while nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(-1),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    )
    .is_ok_and(|s| s != nix::sys::wait::WaitStatus::StillAlive)
    {}
    if !left.is_empty() {
        return Err(format!("{line}: left processes behind: {left:?}"));
    }
    match status.code() {
        Some(0..=2) => Ok(()),
        // SIGTERM after the limit: the guard exits 128 + 15.
        Some(143) if stopped => Ok(()),
        Some(c) => Err(format!("{line}: exit code {c}; stderr:\n{stderr}")),
        None => Err(format!(
            "{line}: killed by a signal ({status}); stderr:\n{stderr}"
        )),
    }
}

#[test]
fn random_command_lines_exit_0_1_or_2_and_leave_nothing_behind() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets an attribute of this process.
    let rc = unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "cannot become a child subreaper");
    // The detector itself: a panic's exit code and a process left behind fail.
    let dir = tempfile::tempdir().unwrap();
    let sh = |script: &str| {
        let sub = Sub {
            bin: PathBuf::from("/bin/sh"),
            name: "-c".into(),
            flags: Vec::new(),
        };
        check(&sub, &[script.to_string()], dir.path())
    };
    assert!(sh("exit 2").is_ok());
    assert!(sh("exit 101").unwrap_err().contains("exit code 101"));
    assert!(
        sh("sleep 30 & exit 0")
            .unwrap_err()
            .contains("left processes behind")
    );
    let subs: Vec<Sub> = BINARIES
        .iter()
        .flat_map(|(package, bin)| subcommands(&build_bin(package, bin)))
        .filter(|s| !s.flags.is_empty())
        .collect();
    assert!(subs.len() >= 20, "found only {} subcommands", subs.len());
    let cases = std::env::var("CONPAR_ARGV_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let n = subs.len();
    let strategy = (
        0..n,
        proptest::collection::vec((any::<prop::sample::Index>(), 0..ODD.len() + 1), 1..4),
    );
    runner
        .run(&strategy, |(i, picks)| {
            let sub = &subs[i];
            let mut args: Vec<String> = Vec::new();
            for (flag, value) in picks {
                args.push(flag.get(&sub.flags).clone());
                // The last index means "no value".
                if let Some(v) = ODD.get(value) {
                    args.push((*v).to_string());
                }
            }
            // A sweep only plans: a valid one would run for minutes.
            if sub.bin.ends_with("sweep") {
                args.push("--plan".into());
            }
            // Keep a run that happens to be valid short.
            for (flag, v) in [
                ("--duration-secs", "0.02"),
                ("--warmup-secs", "0"),
                ("--timeout-secs", "12"),
            ] {
                if sub.flags.iter().any(|f| f == flag) && !args.iter().any(|a| a == flag) {
                    args.extend([flag.to_string(), v.to_string()]);
                }
            }
            check(sub, &args, dir.path()).map_err(TestCaseError::fail)
        })
        .unwrap();
}

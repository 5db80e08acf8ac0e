//! Integration tests of `loadgen`: the `echo` subcommand prints its
//! milestones and a result whose every echo was verified; a corrupting or
//! stuck server is caught; the open loop counts what a stuck connection
//! should have sent (coordinated omission); `delay-server` answers after its
//! delay and stops on SIGTERM; bad flags exit 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use harness::testkit::Bin;
use loadgen::client::{self, LoadResult, LoadSpec};
use loadgen::delay::fetch_blocking;
use predicates::prelude::*;
use serde_json::Value;

/// A test echo server: a thread per connection; `flip` corrupts the byte at
/// that offset of everything echoed; `only_first` serves the first
/// connection alone and holds the others unanswered.
fn test_server(flip: Option<usize>, only_first: bool) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for (i, s) in l.incoming().enumerate() {
            let Ok(mut s) = s else { return };
            if only_first && i > 0 {
                held.push(s);
                continue;
            }
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut at = 0usize;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    if let Some(f) = flip
                        && (at..at + n).contains(&f)
                    {
                        buf[f - at] ^= 0xFF;
                    }
                    at += n;
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn echo_cmd(addr: SocketAddr, extra: &[&str]) -> Command {
    let mut c = Command::cargo_bin("loadgen").unwrap();
    c.args([
        "echo",
        "--addr",
        &addr.to_string(),
        "--warmup-secs",
        "0.01",
        "--duration-secs",
        "0.05",
    ])
    .args(["--drain-secs", "0.05"])
    .args(extra);
    c
}

#[test]
fn echo_prints_milestones_then_a_verified_result() {
    let addr = test_server(None, false);
    let out = echo_cmd(
        addr,
        &[
            "--connections",
            "3",
            "--message-bytes",
            "100",
            "--threads",
            "2",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events, ["connected", "measuring", "window-end"]);
    let r = LoadResult::from_json(lines.last().unwrap()["result"].clone()).unwrap();
    assert_eq!(
        (r.connections, r.connections_served, r.unanswered, r.threads),
        (3, 3, 0, 2)
    );
    assert!(r.requests > 0 && r.histogram.len() == r.requests);
    assert_eq!(
        r.checksum.count, r.requests,
        "a digest per verified request of the window"
    );
    assert!(r.bytes_verified >= 100 * r.requests);
}

#[test]
fn a_corrupted_echo_fails_the_run_naming_connection_and_request() {
    let addr = test_server(Some(130), false);
    echo_cmd(addr, &["--connections", "1", "--message-bytes", "64"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("connection 0 request 2")
                .and(predicate::str::contains("byte 2 of 64")),
        );
}

#[test]
fn a_server_that_answers_nobody_is_a_result_with_nothing_served() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let out = echo_cmd(addr, &["--connections", "2"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("answered 0 of 2 connections"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let result: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get("result").cloned())
        .expect("a result line");
    assert_eq!(result["connections_served"], 0, "{result}");
    drop(l);
}

#[test]
fn the_open_loop_counts_what_a_stuck_connection_should_have_sent() {
    let addr = test_server(None, true);
    let spec = LoadSpec {
        rate_per_s: Some(400.0),
        warmup: Duration::ZERO,
        duration: Duration::from_millis(200),
        drain: Duration::from_millis(20),
        ..LoadSpec::closed(addr, 2)
    };
    let r = client::run(&spec, &mut |_| {}).unwrap();
    assert_eq!(r.connections_served, 1);
    // Connection 1 was due every 5 ms for 200 ms: its 40 requests are
    // recorded as unanswered, at the latency they had reached, not dropped.
    assert!(r.unanswered >= 30, "unanswered {}", r.unanswered);
    assert_eq!(r.histogram.len(), r.requests + r.unanswered);
    assert!(
        r.histogram.max() >= 100_000_000,
        "the oldest was due over 100 ms before the end"
    );
}

#[test]
fn delay_server_answers_after_its_delay_and_stops_on_sigterm() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("loadgen"))
        .args(["delay-server", "--delay-ms", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line.trim().parse().unwrap();
    let (digest, ns) = fetch_blocking(addr, 3, 64).unwrap();
    assert_eq!(digest, workload::message::digest(3, 0));
    assert!(ns >= 20_000_000, "answered after {ns} ns");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("after 1 answer"));
}

#[test]
fn a_stream_split_anywhere_is_reassembled() {
    // A server that echoes one byte per write: the client must verify across reads.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() && s.write_all(&b).is_ok() {}
    });
    let spec = LoadSpec {
        warmup: Duration::ZERO,
        duration: Duration::from_millis(30),
        message_bytes: 40,
        ..LoadSpec::closed(addr, 1)
    };
    let r = client::run(&spec, &mut |_| {}).unwrap();
    assert!(r.requests > 0 && r.unanswered == 0);
    drop(TcpStream::connect(addr));
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["echo", "--addr", "nowhere"], "--addr"),
        (
            &["echo", "--addr", "127.0.0.1:9", "--message-bytes", "8"],
            "--message-bytes",
        ),
        (&["echo", "--addr", "127.0.0.1:9", "--cpus", "x"], "--cpus"),
        (&["echo", "--addr", "127.0.0.1:9", "--rate=-5"], "--rate"),
        (
            &["echo", "--addr", "127.0.0.1:9", "--threads", "0"],
            "--threads",
        ),
        (&["delay-server", "--delay-ms", "0"], "--delay-ms"),
    ];
    Bin::new("loadgen", env!("CARGO_BIN_EXE_loadgen")).assert_usage_errors(cases);
}

//! Integration tests of `nonblocking-socket`: every epoll and io_uring
//! server echoes exactly (messages larger than a socket buffer included, so
//! partial reads and writes and `EWOULDBLOCK` are exercised), survives
//! clients that vanish mid-message and stops — the io_uring fallback path
//! too; `serve` answers; `echo`, `wouldblock` and `quadrants` run for
//! milliseconds and write records of the promised shape; where io_uring is
//! refused (forced with `CONPAR_IO_URING_ERROR`) its models are skipped with
//! the cause and the fix and C13 is inconclusive; bad input exits 2.

use std::path::Path;

use conpar_nonblocking_socket::echo::MODELS;
use conpar_nonblocking_socket::uring::echo::{Path as UringPath, Rings};
use conpar_nonblocking_socket::uring::{self, FORCE_ERROR_ENV};
use conpar_nonblocking_socket::wouldblock::{LatePeer, connected_pair, nonblocking_read};
use harness::Record;
use harness::claims::Outcome;
use harness::testkit::{Bin, QUICK_NETWORK, build_bin, read_records};
use network::conformance::{self, LARGE_MESSAGE_BYTES};
use network::server::{AtOnce, ServerModel, Threads};

/// The binary under test.
const BIN: Bin = Bin::new(
    "nonblocking-socket",
    env!("CARGO_BIN_EXE_nonblocking-socket"),
)
.quick(QUICK_NETWORK);

/// Runs `experiment` for tens of milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    BIN.run(experiment, extra, dir)
}

/// `io-uring` on the fallback path (one-shot accept and receive, a buffer
/// per connection), which kernels before 6.0 take: a row for the tests only.
const FALLBACK: ServerModel = ServerModel {
    name: "io-uring-fallback",
    start: |ctx| {
        let how = Rings {
            path: Some(UringPath::Fallback),
            ..Rings::ONE
        };
        uring::echo::start(how, ctx)
    },
    at_once: AtOnce::All,
    threads: Threads::One,
    thread_prefixes: &["io-uring-0"],
    status: None,
    probe: Some(uring::probe),
};

/// The models this machine can run, the fallback row among them.
fn runnable() -> Vec<&'static ServerModel> {
    static ALL: std::sync::OnceLock<Vec<ServerModel>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| MODELS.iter().copied().chain([FALLBACK]).collect());
    conformance::runnable(all)
}

#[test]
fn every_model_echoes_exactly_even_past_the_socket_buffer() {
    for model in runnable() {
        conformance::echo_exactly(model, 2, 3, LARGE_MESSAGE_BYTES).unwrap();
        let (r, _) = conformance::echo_exactly(model, 2, 20, 24).unwrap();
        assert_eq!(
            r.connections_served, 20,
            "{}: one thread serves them all",
            model.name
        );
    }
}

#[test]
fn every_model_survives_clients_that_vanish_mid_message() {
    for model in runnable() {
        conformance::survives_disconnects(model, 2).unwrap();
    }
}

#[test]
fn serve_prints_an_address_that_answers_and_stops_on_sigterm() {
    conformance::serve_answers(BIN.path(), "epoll").unwrap();
    if uring::probe().is_ok() {
        conformance::serve_answers(BIN.path(), "io-uring-per-core").unwrap();
    }
}

#[test]
fn a_nonblocking_read_returns_wouldblock_and_a_blocking_one_waits() {
    let (mut reader, peer) = connected_pair().unwrap();
    reader.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    nonblocking_read(&mut reader, &mut buf).unwrap();
    reader.set_nonblocking(false).unwrap();
    let late = LatePeer::start(peer, std::time::Duration::from_millis(20)).unwrap();
    let waited = late.blocking_read(&mut reader, 7).unwrap();
    assert!(
        waited >= 20_000_000,
        "the data could not come before the peer sent it"
    );
    // With the byte consumed, the socket is empty again.
    reader.set_nonblocking(true).unwrap();
    nonblocking_read(&mut reader, &mut buf).unwrap();
}

#[test]
fn wouldblock_records_both_reads_and_decides_c6() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run("wouldblock", &["--wait-ms", "2"], dir.path());
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].model, "nonblocking-read");
    assert_eq!(
        rs[0].figure("returned_wouldblock"),
        Some(rs[0].ops as f64),
        "every call returned EWOULDBLOCK"
    );
    assert_eq!(rs[1].model, "blocking-read");
    assert!(rs[1].ops >= 10 && rs[1].latency.as_ref().unwrap().min_ns >= 2_000_000);
    assert_eq!(rs[1].verdict.as_ref().unwrap().claim.id(), "C6");
}

#[test]
fn echo_runs_every_model_through_the_loadgen_process() {
    // `echo` runs the `loadgen` binary found next to this one.
    build_bin("conpar-loadgen", "loadgen");
    let dir = tempfile::tempdir().unwrap();
    let rs = run("echo", &["--connections", "1,5"], dir.path());
    let here = conformance::runnable(MODELS).len();
    assert_eq!(rs.len(), 2 * here);
    for r in &rs {
        let c = r.param_u64("connections").unwrap();
        assert_eq!(
            r.figure("connections_served"),
            Some(c as f64),
            "{} serves all",
            r.model
        );
        assert_eq!(r.figure("unanswered_requests"), Some(0.0));
        assert!(r.figure("server_bytes_echoed").unwrap() >= r.figure("bytes_verified").unwrap());
        // Every loop reports its batching, by the call it waits in.
        let wait = r.params["server_wait_call"].as_str().unwrap();
        let want = if r.model.starts_with("io-uring") {
            "io_uring_enter"
        } else {
            "epoll_wait"
        };
        assert_eq!(wait, want, "{}", r.model);
        assert!(r.figure("server_events_per_wait").unwrap() >= 1.0);
        assert!(r.figure("server_syscalls_per_request").unwrap() > 0.0);
    }
    let verdicts: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert_eq!(verdicts.len(), 2);
    assert!(
        verdicts
            .iter()
            .all(|v| v.claim.id() == "C12" && v.text.contains("epoll served"))
    );
}

#[test]
fn quadrants_does_the_job_four_ways_and_decides_c13() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--requests", "3", "--delay-ms", "5", "--units-per-ms", "50"];
    let rs = run("quadrants", &args, dir.path());
    let models: Vec<&str> = rs.iter().map(|r| r.model.as_str()).collect();
    let four = [
        "sync-blocking",
        "sync-nonblocking",
        "async-blocking",
        "async-nonblocking",
    ];
    let here = if uring::probe().is_ok() { 4 } else { 3 };
    assert_eq!(models, four[..here]);
    let checksums: Vec<_> = rs.iter().map(|r| r.checksum.clone()).collect();
    assert!(checksums.iter().all(|c| c.is_some() && *c == checksums[0]));
    for r in &rs {
        assert_eq!(r.ops, 3, "{}: every request answered", r.model);
        let units = r.figure("units_while_waiting").unwrap();
        match r.params["call"].as_str().unwrap() {
            "blocking" => assert_eq!(units, 0.0, "{}: never free to work", r.model),
            _ => assert!(units > 0.0, "{}: worked between tries", r.model),
        }
        if r.params["flow"] == "sync" {
            // Each answer comes at least d after its request: N·d at least.
            assert!(r.wall_ns >= 15_000_000, "{}", r.model);
        }
        assert!(r.figure("syscalls_per_request").unwrap() >= 4.0);
    }
    let v = rs.last().unwrap().verdict.as_ref().unwrap();
    assert_eq!(v.claim.id(), "C13");
    assert_eq!(v.compared, four[..here]);
}

#[test]
fn refused_io_uring_is_skipped_with_its_cause_and_fix() {
    build_bin("conpar-loadgen", "loadgen");
    let dir = tempfile::tempdir().unwrap();
    let quick = QUICK_NETWORK.iter().filter(|a| **a != "--quiet");
    let runs: [&[&str]; 2] = [
        &[
            "quadrants",
            "--requests",
            "2",
            "--delay-ms",
            "2",
            "--units-per-ms",
            "50",
        ],
        &[
            "echo",
            "--model",
            "epoll,io-uring,io-uring-per-core",
            "--connections",
            "2",
        ],
    ];
    for (i, args) in runs.into_iter().enumerate() {
        let out = dir.path().join(format!("{i}.jsonl"));
        let done = BIN
            .command()
            .args(args)
            .args(["--cores", "1"])
            .args(quick.clone())
            .arg("--out")
            .arg(&out)
            .env(FORCE_ERROR_ENV, "EPERM")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("skipped: io_uring is unavailable here") && stderr.contains("seccomp"),
            "{stderr}"
        );
        let rs = read_records(&out);
        assert!(
            rs.iter()
                .all(|r| !r.model.contains("uring") && r.model != "async-nonblocking")
        );
        if args[0] == "quadrants" {
            assert_eq!(rs.len(), 3);
            let v = rs[2].verdict.as_ref().unwrap();
            assert_eq!(v.outcome, Outcome::Inconclusive);
            assert!(v.reason.as_deref().unwrap().contains("seccomp"), "{v:?}");
        } else {
            assert_eq!(rs.len(), 1, "epoll alone ran");
            assert!(rs[0].verdict.is_some(), "C12 is still decided by epoll");
        }
    }
    let refused = BIN
        .command()
        .args(["serve", "--model", "io-uring", "--cores", "1"])
        .env(FORCE_ERROR_ENV, "ENOSYS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ENOSYS") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["echo", "--connections", "ten"], "--connections"),
        (&["echo", "--message-bytes", "23"], "--message-bytes"),
        (&["echo", "--client-threads", "0"], "--client-threads"),
        (&["echo", "--model", "kqueue"], "--model"),
        (&["wouldblock", "--wait-ms", "0"], "--wait-ms"),
        (&["quadrants", "--requests", "0"], "--requests"),
        (&["quadrants", "--requests", "10001"], "--requests"),
        (&["quadrants", "--delay-ms", "-1"], "--delay-ms"),
        (&["quadrants", "--message-bytes", "8"], "--message-bytes"),
        (&["quadrants", "--units-per-ms", "0"], "--units-per-ms"),
        (&["quadrants", "--model", "async-blocked"], "--model"),
        (&["serve", "--model", "kqueue"], "--model"),
        (&["serve", "--model", "epoll", "--cores", "0"], "--cores"),
    ];
    BIN.assert_usage_errors(cases);
}

//! Integration tests of `blocking-io`: every server model echoes exactly
//! (messages larger than a socket buffer included), survives clients that
//! vanish mid-message and stops; `serve` answers; `echo` and `requests` run
//! for milliseconds and write records of the promised shape; bad input exits 2.

use std::collections::BTreeSet;
use std::path::Path;

use conpar_blocking_io::echo::MODELS;
use harness::Record;
use harness::testkit::{Bin, QUICK_NETWORK, build_bin};
use network::conformance::{self, LARGE_MESSAGE_BYTES};

/// The binary under test.
const BIN: Bin = Bin::new("blocking-io", env!("CARGO_BIN_EXE_blocking-io")).quick(QUICK_NETWORK);

/// Runs `experiment` for tens of milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    BIN.run(experiment, extra, dir)
}

#[test]
fn every_model_echoes_exactly_even_past_the_socket_buffer() {
    for model in MODELS {
        conformance::echo_exactly(model, 2, 1, LARGE_MESSAGE_BYTES).unwrap();
        conformance::echo_exactly(model, 2, 1, 24).unwrap();
    }
    // Only thread-per-connection serves more connections than it has workers.
    let per_connection = MODELS
        .iter()
        .find(|m| m.name == "thread-per-connection")
        .unwrap();
    let (r, _) = conformance::echo_exactly(per_connection, 1, 5, 100).unwrap();
    assert_eq!(r.connections_served, 5);
}

#[test]
fn every_model_survives_clients_that_vanish_mid_message() {
    for model in MODELS {
        conformance::survives_disconnects(model, 2).unwrap();
    }
}

#[test]
fn serve_prints_an_address_that_answers_and_stops_on_sigterm() {
    conformance::serve_answers(BIN.path(), "thread-per-connection").unwrap();
}

#[test]
fn echo_runs_every_model_through_the_loadgen_process() {
    // `echo` runs the `loadgen` binary found next to this one.
    build_bin("conpar-loadgen", "loadgen");
    let dir = tempfile::tempdir().unwrap();
    let rs = run("echo", &["--connections", "1,3"], dir.path());
    assert_eq!(rs.len(), 6);
    let models: BTreeSet<_> = rs.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(models, MODELS.iter().map(|m| m.name).collect());
    for r in &rs {
        let c = r.param_u64("connections").unwrap();
        assert_eq!(r.params["loadgen"], "process");
        assert_eq!(r.params["load"], "closed");
        assert!(r.checksum.is_some() && r.latency.is_some());
        for f in [
            "server_cpu_ns",
            "client_cpu_ns",
            "server_rss_bytes",
            "server_threads",
        ] {
            assert!(r.figure(f).is_some(), "{} lacks {f}", r.model);
        }
        let served = r.figure("connections_served").unwrap() as u64;
        match r.model.as_str() {
            // One connection at a time: the others wait (head-of-line blocking).
            "iterative" | "pool" => {
                assert_eq!(served, 1, "{} at {c}", r.model);
                assert!(r.figure("unanswered_requests").unwrap() >= (c - 1) as f64);
            }
            _ => assert_eq!(served, c),
        }
    }
    let verdicts: Vec<_> = rs.iter().filter_map(|r| r.verdict.as_ref()).collect();
    assert_eq!(verdicts.len(), 2, "one C12 verdict per connection count");
    assert!(verdicts.iter().all(|v| v.claim.id() == "C12"));
    assert_eq!(
        rs[2].verdict.as_ref(),
        verdicts.first().copied(),
        "on the last model's record"
    );
}

#[test]
fn echo_in_process_open_loop_counts_what_it_sent() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "echo",
        &[
            "--connections",
            "4",
            "--rate",
            "2000",
            "--loadgen",
            "in-process",
            "--model",
            "thread-per-connection",
            "--message-bytes",
            "1KiB",
        ],
        dir.path(),
    );
    let r = &rs[0];
    assert_eq!(
        (r.params["load"].as_str(), r.params["loadgen"].as_str()),
        (Some("open"), Some("in-process"))
    );
    assert_eq!(r.variant, "4-conn/open");
    assert_eq!(r.figure("connections_served"), Some(4.0));
    assert!(r.figure("bytes_verified").unwrap() >= 1024.0 * r.ops as f64);
}

#[test]
fn requests_runs_sequentially_and_decides_c5() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "requests",
        &["--requests", "3", "--delay-ms", "5"],
        dir.path(),
    );
    let r = &rs[0];
    assert_eq!((r.model.as_str(), r.ops), ("sequential", 3));
    let want = network::requests::expected_checksum(3).hex();
    assert_eq!(r.checksum.as_deref(), Some(want.as_str()));
    assert!(
        r.wall_ns >= 15_000_000,
        "three waits of 5 ms, one after another"
    );
    assert_eq!(r.verdict.as_ref().unwrap().claim.id(), "C5");
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["echo", "--connections", "0"], "--connections"),
        (&["echo", "--message-bytes", "8"], "--message-bytes"),
        (&["echo", "--rate", "0"], "--rate"),
        (&["echo", "--loadgen", "elsewhere"], "--loadgen"),
        (&["echo", "--model", "fibers"], "--model"),
        (&["requests", "--requests", "0"], "--requests"),
        (&["requests", "--delay-ms=0"], "--delay-ms"),
        (&["serve", "--model", "fibers"], "--model"),
        (&["serve"], "--model"),
        (&["serve", "--model", "pool", "--port", "70000"], "--port"),
    ];
    BIN.assert_usage_errors(cases);
}

#[test]
fn too_few_open_files_fail_first_naming_the_limit() {
    use std::os::unix::process::CommandExt;
    let mut cmd = BIN.command();
    cmd.args([
        "echo",
        "--connections",
        "2000",
        "--loadgen",
        "in-process",
        "-q",
    ]);
    // SAFETY: setrlimit is async-signal-safe; lowering one's own limits is always allowed.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 256, 1000)
                .map_err(std::io::Error::from)
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ulimit -Hn = 1000") && stderr.contains("--loadgen process"),
        "{stderr}"
    );
}

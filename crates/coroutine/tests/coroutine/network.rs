//! The network experiments of `coroutine`: every async echo server echoes
//! exactly (messages larger than a socket buffer included), survives clients
//! that vanish mid-message and stops; `serve` answers; `echo` and `requests`
//! run for milliseconds and write records of the promised shape; bad input
//! exits 2.

use std::path::Path;

use conpar_coroutine::echo::MODELS;
use harness::Record;
use harness::testkit::{Bin, QUICK_NETWORK, build_bin};
use network::conformance::{self, LARGE_MESSAGE_BYTES};

/// The binary under test, its cases long enough for TCP.
const BIN: Bin = super::BIN.quick(QUICK_NETWORK);

/// Runs `experiment` for tens of milliseconds on one core; records checked for shape.
fn run(experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
    BIN.run(experiment, extra, dir)
}

#[test]
fn every_async_server_echoes_exactly_even_past_the_socket_buffer() {
    for model in MODELS {
        conformance::echo_exactly(model, 2, 3, LARGE_MESSAGE_BYTES).unwrap();
        let (r, _) = conformance::echo_exactly(model, 2, 20, 24).unwrap();
        assert_eq!(r.connections_served, 20, "{}", model.name);
    }
}

#[test]
fn every_async_server_survives_clients_that_vanish_mid_message() {
    for model in MODELS {
        conformance::survives_disconnects(model, 2).unwrap();
    }
}

#[test]
fn serve_prints_an_address_that_answers_and_stops_on_sigterm() {
    conformance::serve_answers(BIN.path(), "tokio-multi-thread").unwrap();
}

#[test]
fn echo_runs_every_async_server_through_the_loadgen_process() {
    // `echo` runs the `loadgen` binary found next to this one.
    build_bin("conpar-loadgen", "loadgen");
    let dir = tempfile::tempdir().unwrap();
    let rs = run("echo", &["--connections", "4"], dir.path());
    assert_eq!(rs.len(), MODELS.len());
    for r in &rs {
        assert_eq!(r.figure("connections_served"), Some(4.0), "{}", r.model);
        assert_eq!(
            r.params.get("status").is_some_and(|v| v == "discontinued"),
            r.model == "async-std"
        );
        // Each server's runtime, sized and pinned like the other experiments'.
        assert_eq!(r.params["runtime"], r.model.as_str());
        assert!(r.params.contains_key("pinning"), "{}", r.model);
    }
    let v = rs.last().unwrap().verdict.as_ref().unwrap();
    assert!(
        v.claim.id() == "C12" && v.text.contains("tokio-current-thread served"),
        "{}",
        v.text
    );
}

#[test]
fn requests_awaits_sequentially_and_concurrently_and_decides_c5() {
    let dir = tempfile::tempdir().unwrap();
    let rs = run(
        "requests",
        &["--requests", "4", "--delay-ms", "5"],
        dir.path(),
    );
    let want = network::requests::expected_checksum(4).hex();
    for r in &rs {
        assert_eq!(r.checksum.as_deref(), Some(want.as_str()), "{}", r.model);
        assert_eq!(
            r.params.get("status").is_some_and(|v| v == "discontinued"),
            r.model == "async-std-concurrent"
        );
        let started = r.figure("started").unwrap();
        if r.model == "tokio-sequential" {
            assert_eq!(started, 1.0);
            assert!(
                r.wall_ns >= 20_000_000,
                "four waits of 5 ms, one after another"
            );
        } else {
            assert_eq!(started, 4.0, "{}: a task per request, each polled", r.model);
        }
    }
    assert_eq!(
        rs.last().unwrap().verdict.as_ref().unwrap().claim.id(),
        "C5"
    );
}

#[test]
fn bad_network_input_exits_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["echo", "--connections", "0"], "--connections"),
        (&["echo", "--model", "gevent"], "--model"),
        (&["requests", "--requests", "0"], "--requests"),
        (
            &["requests", "--message-bytes", "3 parsecs"],
            "--message-bytes",
        ),
        (&["serve", "--model", "gevent"], "--model"),
    ];
    BIN.assert_usage_errors(cases);
}

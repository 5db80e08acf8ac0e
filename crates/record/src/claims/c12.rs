//! C12 — a server can block per thread or run an event loop.
//!
//! Each server binary's `echo` decides it for its own kind of server
//! ([`verdict`]: the deciding model served every connection); `report` puts
//! the server binaries side by side ([`across`]).

use std::collections::BTreeSet;

use super::{Claim, Judged, Status};
use crate::Verdict;
use crate::fmt::{fmt_bytes, fmt_ns, fmt_ratio, fmt_si, opt};

/// The binary of the blocking servers, which the comparison needs.
pub const BLOCKING_BINARY: &str = "blocking-io";

/// One model's numbers at one connection count.
#[derive(Debug, Clone)]
pub struct Row {
    /// The model.
    pub model: String,
    /// Connections opened.
    pub connections: u64,
    /// Connections that got an answer.
    pub served: u64,
    /// Requests never answered.
    pub unanswered: u64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// 99th percentile latency, nanoseconds.
    pub p99_ns: u64,
    /// Server threads at the end of the window (by name).
    pub threads: usize,
    /// Server memory per connection, bytes.
    pub rss_per_connection_bytes: f64,
}

/// At one connection count: the deciding model (`decider`: its name, and
/// what it shows in words) served every connection with no request left
/// unanswered; the others are described beside it. `None` without the decider.
pub fn verdict(rows: &[Row], decider: (&str, &str)) -> Option<Verdict> {
    let d = rows.iter().find(|r| r.model == decider.0)?;
    let holds = d.served == d.connections && d.unanswered == 0;
    let describe = |r: &Row| {
        format!(
            "{} served {}/{} ({:.0} req/s, p99 {}, {} threads, {:.1} KiB/conn)",
            r.model,
            r.served,
            r.connections,
            r.requests_per_s,
            fmt_ns(r.p99_ns as f64),
            r.threads,
            r.rss_per_connection_bytes / 1024.0
        )
    };
    // Each other model beside the decider's throughput in the same run.
    let others: Vec<String> = rows
        .iter()
        .filter(|r| r.model != decider.0)
        .map(|r| {
            let ratio = r.requests_per_s / d.requests_per_s.max(1e-9);
            format!(
                "{}: {} {}'s throughput",
                describe(r),
                fmt_ratio(ratio),
                d.model
            )
        })
        .collect();
    let mut text = format!(
        "{} connections, {}: {}",
        d.connections,
        decider.1,
        describe(d)
    );
    if d.unanswered > 0 {
        text.push_str(&format!(", {} requests unanswered", d.unanswered));
    }
    if !others.is_empty() {
        text.push_str(&format!("; {}", others.join("; ")));
    }
    Some(Verdict::new(Claim::C12, holds, text).comparing(rows.iter().map(|r| r.model.as_str())))
}

/// One echo case that served requests, merged over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Served<'a> {
    /// Its binary.
    pub binary: &'a str,
    /// Its model and variant.
    pub label: String,
    /// Connections, if recorded.
    pub connections: Option<u64>,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Merged p99 latency, nanoseconds.
    pub p99_ns: Option<f64>,
    /// Peak resident memory, bytes.
    pub rss_bytes: f64,
}

/// Across binaries: holds when a blocking server ([`BLOCKING_BINARY`]) and a
/// non-blocking or async one both served the same echo load with verified
/// bytes; shows each binary's fastest model at the most connections all
/// served. `None` without both kinds at one connection count.
pub fn across(echo: &[Served<'_>]) -> Option<Judged> {
    let binaries: BTreeSet<&str> = echo.iter().map(|c| c.binary).collect();
    if !binaries.contains(BLOCKING_BINARY) || binaries.len() < 2 {
        return None;
    }
    // The largest connection count that every server binary measured.
    let conns = binaries
        .iter()
        .map(|b| {
            echo.iter()
                .filter(|c| c.binary == *b)
                .map(|c| c.connections)
                .collect::<BTreeSet<_>>()
        })
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .and_then(|common| common.into_iter().max())?;
    let mut lines = Vec::new();
    for b in &binaries {
        let best = echo
            .iter()
            .filter(|c| c.binary == *b && c.connections == conns)
            .max_by(|x, y| x.requests_per_s.total_cmp(&y.requests_per_s))?;
        lines.push(format!(
            "{b} {}: {} req/s, p99 {}, RSS {}",
            best.label,
            fmt_si(best.requests_per_s),
            opt(best.p99_ns, fmt_ns),
            fmt_bytes(best.rss_bytes)
        ));
    }
    let at = conns.map_or_else(String::new, |n| format!("at {n} connections, "));
    Some(Judged {
        status: Status::Holds,
        reason: None,
        evidence: format!("{at}{}", lines.join("; ")),
        basis: "computed by report: holds when a blocking server (blocking-io) and a non-blocking or async one both served \
                the same echo load with verified bytes; shown: each binary's fastest model at the most connections all served"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, served: u64, unanswered: u64) -> Row {
        Row {
            model: model.into(),
            connections: 100,
            served,
            unanswered,
            requests_per_s: 1000.0,
            p99_ns: 2_000_000,
            threads: 3,
            rss_per_connection_bytes: 2048.0,
        }
    }

    #[test]
    fn is_decided_by_the_deciding_model() {
        let rows = [
            row("iterative", 1, 99),
            row("thread-per-connection", 100, 0),
        ];
        let v = verdict(
            &rows,
            ("thread-per-connection", "blocking, a thread per connection"),
        )
        .unwrap();
        assert!(v.holds(), "{}", v.text);
        assert!(v.text.contains("iterative served 1/100"), "{}", v.text);
        assert!(
            v.text
                .contains("KiB/conn): 1.00× thread-per-connection's throughput"),
            "each other model against the decider: {}",
            v.text
        );
        let rows = [row("thread-per-connection", 40, 60)];
        assert!(
            !verdict(&rows, ("thread-per-connection", "x"))
                .unwrap()
                .holds()
        );
        assert!(
            verdict(&rows, ("epoll", "x")).is_none(),
            "no verdict without the decider"
        );
    }

    #[test]
    fn across_needs_a_blocking_server_and_another() {
        let s = |b, c| Served {
            binary: b,
            label: "m".into(),
            connections: Some(c),
            requests_per_s: 1000.0,
            p99_ns: Some(1e6),
            rss_bytes: 1e6,
        };
        let j = across(&[
            s("blocking-io", 100),
            s("coroutine", 100),
            s("coroutine", 1000),
        ])
        .unwrap();
        assert!(
            j.evidence.starts_with("at 100 connections"),
            "{}",
            j.evidence
        );
        assert!(across(&[s("coroutine", 100), s("nonblocking-socket", 100)]).is_none());
    }
}

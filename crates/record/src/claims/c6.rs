//! C6 — blocking stalls the caller; non-blocking returns at once.
//!
//! Decided by two experiments: `stall` (a blocking sleep inside an async
//! task makes a heartbeat late; an async sleep and `spawn_blocking` do not)
//! and `wouldblock` (a non-blocking read of an empty socket returns at once,
//! a blocking one waits for the data).
//!
//! Both judge a tail of latencies, and a tail is only as good as the samples
//! in it: every tail here is the percentile with at least
//! [`MIN_TAIL_SAMPLES`] samples above it ([`tail_quantile`]): p99 from 1,000
//! samples, p95 from 200, never the second-worst sample called a p99.

use std::time::Duration;

use super::Claim;
use crate::Verdict;

/// `stall`: the blocking sleep stalls the heartbeat when its tail lateness
/// is at least this share of the blocked time.
pub const STALLED_MIN_OF_BLOCK: f64 = 0.5;
/// `stall`: a non-blocking call leaves the heartbeat free when its tail is
/// at most this share of the blocking one's. Relative, because a runtime's
/// timer has its own floor: tokio's wheel ticks in whole milliseconds, so its
/// heartbeat is 1–2 ms late even when nothing blocks.
pub const FREE_MAX_OF_STALLED: f64 = 0.25;
/// `wouldblock`: the non-blocking read returns "at once" when its tail is
/// under this share of the peer's wait.
pub const AT_ONCE_MAX_OF_WAIT: f64 = 0.1;
/// `wouldblock`: the blocking read waited when its median is at least this share of the wait.
pub const WAITED_MIN_OF_WAIT: f64 = 0.9;
/// A tail percentile rests on at least this many samples above it.
pub const MIN_TAIL_SAMPLES: u64 = 10;
/// The highest tail judged: p99.
pub const MAX_TAIL: f64 = 0.99;
/// Fewer samples than this leave no tail worth the name (p50 and below).
pub const MIN_SAMPLES: u64 = 2 * MIN_TAIL_SAMPLES;

/// The tail quantile that `samples` samples support: at most p99, with at
/// least [`MIN_TAIL_SAMPLES`] samples above it; `None` below [`MIN_SAMPLES`].
pub fn tail_quantile(samples: u64) -> Option<f64> {
    (samples >= MIN_SAMPLES).then(|| (1.0 - MIN_TAIL_SAMPLES as f64 / samples as f64).min(MAX_TAIL))
}

/// `p99`, `p95`, `p97.5`.
pub fn quantile_name(q: f64) -> String {
    let p = 100.0 * q;
    if (p - p.round()).abs() < 0.05 {
        format!("p{p:.0}")
    } else {
        format!("p{p:.1}")
    }
}

/// A latency tail: its value (ns) at a quantile, and the samples behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tail {
    /// The latency at `quantile`, nanoseconds.
    pub ns: u64,
    /// Which quantile ([`tail_quantile`] of `samples`).
    pub quantile: f64,
    /// Samples in the histogram.
    pub samples: u64,
}

/// The heartbeat's tail lateness beside each blocker of `stall`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// Beside `std::thread::sleep` inside a task.
    pub blocking_sleep: Tail,
    /// Beside the runtime's async sleep.
    pub async_sleep: Tail,
    /// Beside the sleep moved to the blocking pool (`spawn_blocking`).
    pub spawn_blocking: Tail,
}

/// The three calls of `stall` in one language: for each, the variant its
/// case carries in records and the words the verdict uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calls<'a> {
    /// The blocking sleep inside a task: `(variant, words)`.
    pub blocking: (&'a str, &'a str),
    /// The runtime's own (async) sleep.
    pub asleep: (&'a str, &'a str),
    /// The blocking sleep moved off the runtime's thread.
    pub offload: (&'a str, &'a str),
}

/// The Rust runtimes' calls (`coroutine stall`).
pub const RUST: Calls<'static> = Calls {
    blocking: ("blocking-sleep", "std::thread::sleep"),
    asleep: ("async-sleep", "an async sleep"),
    offload: ("spawn-blocking", "spawn_blocking"),
};

/// Python's calls (`python stall`, asyncio).
pub const PYTHON: Calls<'static> = Calls {
    blocking: ("time-sleep", "time.sleep()"),
    asleep: ("asyncio-sleep", "asyncio.sleep()"),
    offload: ("run-in-executor", "loop.run_in_executor"),
};

/// `stall` for one Rust runtime: [`stall_of`] with the [`RUST`] calls.
pub fn stall(t: Stall, block: Duration, threads: usize, model: &str) -> Verdict {
    stall_of(&RUST, t, block, threads, model)
}

/// `stall` for one runtime on `threads` threads, whose calls are `calls`: the
/// blocking sleep of `block` stalls the heartbeat (see
/// [`STALLED_MIN_OF_BLOCK`]) while neither non-blocking call does (see
/// [`FREE_MAX_OF_STALLED`]); inconclusive when a case took too few
/// heartbeats for a tail.
pub fn stall_of(
    calls: &Calls<'_>,
    t: Stall,
    block: Duration,
    threads: usize,
    model: &str,
) -> Verdict {
    let block_ns = block.as_nanos() as f64;
    let stalled = t.blocking_sleep.ns as f64 >= STALLED_MIN_OF_BLOCK * block_ns;
    let free = t.async_sleep.ns.max(t.spawn_blocking.ns) as f64
        <= FREE_MAX_OF_STALLED * t.blocking_sleep.ns as f64;
    let ms = |ns: u64| ns as f64 / 1e6;
    let q = |t: &Tail| quantile_name(t.quantile);
    let how = match (stalled, free) {
        (true, true) => {
            "the blocking call stalled every task on its thread; the non-blocking ones did not"
        }
        (false, _) => "the blocking call did not stall the heartbeat",
        (true, false) => "a non-blocking call stalled the heartbeat too",
    };
    let text = format!(
        "{model} on {threads} thread(s): a {} ms {} inside a task made the 1 ms heartbeat late by {} {:.2} ms, \
         while {} left it at {} {:.2} ms and {} at {} {:.2} ms \
         (stalled: at least half the block; not stalled: at most a quarter of that): {how}",
        block.as_millis(),
        calls.blocking.1,
        q(&t.blocking_sleep),
        ms(t.blocking_sleep.ns),
        calls.asleep.1,
        q(&t.async_sleep),
        ms(t.async_sleep.ns),
        calls.offload.1,
        q(&t.spawn_blocking),
        ms(t.spawn_blocking.ns),
    );
    let fewest = [t.blocking_sleep, t.async_sleep, t.spawn_blocking]
        .into_iter()
        .map(|t| t.samples)
        .min()
        .unwrap_or(0);
    let v = if fewest < MIN_SAMPLES {
        Verdict::inconclusive(
            Claim::C6,
            text,
            format!(
                "a heartbeat took {fewest} samples, too few for a tail ({MIN_SAMPLES} needed): sample longer"
            ),
        )
    } else {
        Verdict::new(Claim::C6, stalled && free, text)
    };
    let cases = [calls.blocking.0, calls.asleep.0, calls.offload.0];
    v.comparing(cases.iter().map(|c| format!("{model} ({c})")))
}

/// `wouldblock`: the non-blocking read returned at once (its tail under
/// [`AT_ONCE_MAX_OF_WAIT`] of the wait), the blocking one waited for the
/// data the peer sent `wait_ms` later (its median at least
/// [`WAITED_MIN_OF_WAIT`] of it).
pub fn wouldblock(
    nonblocking: Tail,
    nonblocking_p50: u64,
    blocking_p50: u64,
    wait_ms: f64,
) -> Verdict {
    let wait_ns = wait_ms * 1e6;
    let at_once = (nonblocking.ns as f64) < AT_ONCE_MAX_OF_WAIT * wait_ns;
    let waited = blocking_p50 as f64 >= WAITED_MIN_OF_WAIT * wait_ns;
    let how = match (at_once, waited) {
        (true, true) => "the caller of the blocking read waited; the non-blocking one did not",
        (false, _) => "the non-blocking read did not return at once",
        (true, false) => "the blocking read did not wait for the data",
    };
    Verdict::new(
        Claim::C6,
        at_once && waited,
        format!(
            "a non-blocking read of an empty socket returned EWOULDBLOCK in {:.1} µs ({} {:.1} µs); \
             a blocking read waited {:.2} ms (p50) for data the peer sent {wait_ms} ms later: {how}",
            nonblocking_p50 as f64 / 1e3,
            quantile_name(nonblocking.quantile),
            nonblocking.ns as f64 / 1e3,
            blocking_p50 as f64 / 1e6
        ),
    )
    .comparing(["nonblocking-read", "blocking-read"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    fn tail(ns: u64) -> Tail {
        Tail {
            ns,
            quantile: 0.99,
            samples: 1000,
        }
    }

    #[test]
    fn tails_rest_on_ten_samples() {
        assert_eq!(tail_quantile(1000), Some(0.99));
        assert_eq!(tail_quantile(5000), Some(0.99));
        assert_eq!(tail_quantile(200), Some(0.95));
        assert_eq!(tail_quantile(19), None);
        assert_eq!(quantile_name(0.95), "p95");
        assert_eq!(quantile_name(0.975), "p97.5");
    }

    #[test]
    fn stall_needs_a_stall_and_two_free_runs() {
        let block = Duration::from_millis(20);
        let p = |b, a, s| Stall {
            blocking_sleep: tail(b),
            async_sleep: tail(a),
            spawn_blocking: tail(s),
        };
        let v = stall(p(19_000_000, 1_100_000, 1_200_000), block, 1, "smol");
        assert!(v.holds(), "{}", v.text);
        assert_eq!(v.compared[0], "smol (blocking-sleep)");
        assert!(!stall(p(1_300_000, 1_100_000, 1_200_000), block, 1, "smol").holds());
        let v = stall(p(21_000_000, 1_100_000, 9_000_000), block, 1, "smol");
        assert_eq!(v.outcome, Outcome::DoesNotHold);
        assert!(v.text.contains("stalled the heartbeat too"), "{}", v.text);
        let mut few = p(19_000_000, 1_100_000, 1_200_000);
        few.async_sleep.samples = 12;
        let v = stall(few, block, 1, "smol");
        assert_eq!(v.outcome, Outcome::Inconclusive);
        assert!(v.reason.unwrap().contains("12 samples"));
    }

    #[test]
    fn python_calls_name_pythons_cases() {
        let p = Stall {
            blocking_sleep: tail(19_000_000),
            async_sleep: tail(1_100_000),
            spawn_blocking: tail(1_200_000),
        };
        let v = stall_of(&PYTHON, p, Duration::from_millis(20), 1, "asyncio");
        assert!(v.holds(), "{}", v.text);
        assert_eq!(v.compared[0], "asyncio (time-sleep)");
        assert!(
            v.text.contains("time.sleep()") && v.text.contains("loop.run_in_executor"),
            "{}",
            v.text
        );
    }

    #[test]
    fn wouldblock_compares_both_reads() {
        let v = wouldblock(tail(3_000), 900, 10_100_000, 10.0);
        assert!(v.holds(), "{}", v.text);
        assert!(!wouldblock(tail(3_000), 900, 2_000, 10.0).holds());
    }
}

//! C6 — blocking stalls the caller; non-blocking returns at once.
//!
//! Decided by two experiments: `stall` (a blocking sleep inside an async
//! task makes a heartbeat late; an async sleep and `spawn_blocking` do not)
//! and `wouldblock` (a non-blocking read of an empty socket returns at once,
//! a blocking one waits for the data).

use std::time::Duration;

use super::Claim;
use crate::Verdict;

/// `stall`: the blocking sleep stalls the heartbeat when its p99 lateness is
/// at least this share of the blocked time.
pub const STALLED_MIN_OF_BLOCK: f64 = 0.5;
/// `stall`: a non-blocking call leaves the heartbeat free when its p99 is at
/// most this share of the blocking one's. Relative, because a runtime's timer
/// has its own floor: tokio's wheel ticks in whole milliseconds, so its
/// heartbeat is 1–2 ms late even when nothing blocks.
pub const FREE_MAX_OF_STALLED: f64 = 0.25;
/// `wouldblock`: the non-blocking read returns "at once" when its p99 is
/// under this share of the peer's wait.
pub const AT_ONCE_MAX_OF_WAIT: f64 = 0.1;
/// `wouldblock`: the blocking read waited when its p50 is at least this share of the wait.
pub const WAITED_MIN_OF_WAIT: f64 = 0.9;

/// The heartbeat's p99 lateness (ns) beside each blocker of `stall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// Beside `std::thread::sleep` inside a task.
    pub blocking_sleep: u64,
    /// Beside the runtime's async sleep.
    pub async_sleep: u64,
    /// Beside the sleep moved to the blocking pool (`spawn_blocking`).
    pub spawn_blocking: u64,
}

/// `stall` for one runtime on `threads` threads: the blocking sleep of
/// `block` stalls the heartbeat (see [`STALLED_MIN_OF_BLOCK`]) while neither
/// non-blocking call does (see [`FREE_MAX_OF_STALLED`]).
pub fn stall(p99: Stall, block: Duration, threads: usize, model: &str) -> Verdict {
    let block_ns = block.as_nanos() as f64;
    let stalled = p99.blocking_sleep as f64 >= STALLED_MIN_OF_BLOCK * block_ns;
    let free = p99.async_sleep.max(p99.spawn_blocking) as f64
        <= FREE_MAX_OF_STALLED * p99.blocking_sleep as f64;
    let ms = |ns: u64| ns as f64 / 1e6;
    Verdict::new(
        Claim::C6,
        stalled && free,
        format!(
            "{model} on {threads} thread(s): a {} ms std::thread::sleep inside a task made the 1 ms heartbeat late by p99 {:.2} ms, \
             while an async sleep left it at p99 {:.2} ms and spawn_blocking at p99 {:.2} ms \
             (stalled: at least half the block; not stalled: at most a quarter of that)",
            block.as_millis(),
            ms(p99.blocking_sleep),
            ms(p99.async_sleep),
            ms(p99.spawn_blocking),
        ),
    )
}

/// A read's latency (ns) in `wouldblock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
}

/// `wouldblock`: the non-blocking read returned at once (see
/// [`AT_ONCE_MAX_OF_WAIT`]), the blocking one waited for the data the peer
/// sent `wait_ms` later (see [`WAITED_MIN_OF_WAIT`]).
pub fn wouldblock(nonblocking: Read, blocking: Read, wait_ms: f64) -> Verdict {
    let wait_ns = wait_ms * 1e6;
    let holds = (nonblocking.p99 as f64) < AT_ONCE_MAX_OF_WAIT * wait_ns
        && blocking.p50 as f64 >= WAITED_MIN_OF_WAIT * wait_ns;
    Verdict::new(
        Claim::C6,
        holds,
        format!(
            "a non-blocking read of an empty socket returned EWOULDBLOCK in {:.1} µs (p99 {:.1} µs); \
             a blocking read waited {:.2} ms (p50) for data the peer sent {wait_ms} ms later",
            nonblocking.p50 as f64 / 1e3,
            nonblocking.p99 as f64 / 1e3,
            blocking.p50 as f64 / 1e6
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_needs_a_stall_and_two_free_runs() {
        let block = Duration::from_millis(20);
        let p = |b, a, s| Stall {
            blocking_sleep: b,
            async_sleep: a,
            spawn_blocking: s,
        };
        assert!(stall(p(19_000_000, 1_100_000, 1_200_000), block, 1, "smol").holds);
        assert!(
            !stall(p(1_300_000, 1_100_000, 1_200_000), block, 1, "smol").holds,
            "no stall"
        );
        assert!(
            !stall(p(21_000_000, 1_100_000, 9_000_000), block, 1, "smol").holds,
            "spawn_blocking stalled too"
        );
    }

    #[test]
    fn wouldblock_compares_both_reads() {
        let nb = Read {
            p50: 900,
            p99: 3_000,
        };
        let v = wouldblock(
            nb,
            Read {
                p50: 10_100_000,
                p99: 10_400_000,
            },
            10.0,
        );
        assert!(v.holds, "{}", v.text);
        assert!(
            !wouldblock(
                nb,
                Read {
                    p50: 2_000,
                    p99: 4_000
                },
                10.0
            )
            .holds
        );
    }
}

//! C5 — sync waits, async does not.
//!
//! Decided by `requests`: N requests to a server that answers each d after
//! it arrives take about N·d one after another, about d overlapped.

use super::{Claim, Judged, noise};
use crate::Verdict;
use crate::fmt::{fmt_ns, fmt_num, fmt_ratio};

/// A synchronous model takes at least this share of N·d: it waited for
/// every answer before the next request. Other programs can only make it
/// slower, so this bound is safe on a busy machine.
pub const SYNC_MIN_OF_N_TIMES_D: f64 = 0.95;
/// A concurrent model overlaps the waits: it is at least N times this factor
/// faster than the synchronous way (measured in the same run where the
/// binary has a synchronous model, else N·d). The effect is N× (50× by
/// default); a busy machine that delays wake-ups by a few milliseconds
/// takes a few times off it, never a factor of N/2.
pub const ASYNC_MIN_SPEEDUP_OF_N: f64 = 0.5;
/// Across binaries: the slowest way must take at least N times this factor the fastest.
pub const ACROSS_MIN_RATIO_OVER_N: f64 = 0.5;

/// What a model's timing should look like, by the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Synchronous: each request waits for the previous, `≈ N·d`.
    Waits,
    /// Concurrent: the waits overlap, `≈ d`.
    Overlaps,
}

/// Every synchronous model took about N·d (at least [`SYNC_MIN_OF_N_TIMES_D`]
/// of it), every concurrent one was at least N × [`ASYNC_MIN_SPEEDUP_OF_N`]
/// times faster than the slowest synchronous model of the run (or than N·d
/// where there is none). `walls` are `(model, what C5 expects of it, wall
/// time in ms)`.
pub fn verdict(walls: &[(&str, Expect, f64)], n: u64, delay_ms: f64) -> Verdict {
    let n_d = n as f64 * delay_ms;
    let sync = walls
        .iter()
        .filter(|w| w.1 == Expect::Waits)
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let (reference, ref_name) = match sync {
        Some(&(m, _, ms)) => (ms, m.to_string()),
        None => (n_d, "N·d".to_string()),
    };
    let need = ASYNC_MIN_SPEEDUP_OF_N * n as f64;
    let mut holds = true;
    let mut parts = Vec::new();
    for &(model, expect, ms) in walls {
        match expect {
            Expect::Waits => {
                holds &= ms >= SYNC_MIN_OF_N_TIMES_D * n_d;
                parts.push(format!("{model} {} (N·d = {})", fmt_ms(ms), fmt_ms(n_d)));
            }
            Expect::Overlaps => {
                let x = reference / ms.max(1e-9);
                holds &= x >= need;
                parts.push(format!(
                    "{model} {} (d = {}; {x:.1}× faster than {ref_name})",
                    fmt_ms(ms),
                    fmt_ms(delay_ms)
                ));
            }
        }
    }
    let how = if holds {
        "the synchronous way waited out every answer, the concurrent one overlapped them"
    } else {
        "the waits did not split as the claim says"
    };
    Verdict::new(
        Claim::C5,
        holds,
        format!(
            "{n} requests, each answered {} after it arrives: {} (concurrent: at least {need:.0}× faster): {how}",
            fmt_ms(delay_ms),
            parts.join(", ")
        ),
    )
    .comparing(walls.iter().map(|w| w.0))
}

fn fmt_ms(ms: f64) -> String {
    fmt_ns(ms * 1e6)
}

/// One way of making the requests, merged over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Way<'a> {
    /// Its binary.
    pub binary: &'a str,
    /// Its model and variant.
    pub label: String,
    /// Median wall time of all requests, nanoseconds.
    pub wall_ns: f64,
    /// Requests made (N).
    pub requests: u64,
    /// The server's delay, if recorded.
    pub delay_ms: Option<f64>,
    /// The share of the CPUs other programs took while it ran.
    pub taken: f64,
}

/// Across binaries, when no binary decided it: holds when the slowest way to
/// make the N requests took at least N × [`ACROSS_MIN_RATIO_OVER_N`] times as
/// long as the fastest. `None` with fewer than two ways.
pub fn across(ways: &[Way<'_>]) -> Option<Judged> {
    if ways.len() < 2 {
        return None;
    }
    let slow = ways.iter().max_by(|a, b| a.wall_ns.total_cmp(&b.wall_ns))?;
    let fast = ways.iter().min_by(|a, b| a.wall_ns.total_cmp(&b.wall_ns))?;
    let n = slow.requests;
    let ratio = slow.wall_ns / fast.wall_ns.max(1.0);
    let nd = slow.delay_ms.map_or_else(String::new, |d| {
        format!(
            " (N·d = {n} × {} = {})",
            fmt_num(d),
            fmt_ns(n as f64 * d * 1e6)
        )
    });
    let holds = n >= 2 && ratio >= n as f64 * ACROSS_MIN_RATIO_OVER_N;
    let taken = slow.taken.max(fast.taken);
    let (status, reason) = noise::across(holds, taken, "the requests ran");
    Some(Judged {
        status,
        reason,
        evidence: format!(
            "{n} requests: slowest {} {} {}{nd}, fastest {} {} {}: {} apart",
            slow.binary,
            slow.label,
            fmt_ns(slow.wall_ns),
            fast.binary,
            fast.label,
            fmt_ns(fast.wall_ns),
            fmt_ratio(ratio)
        ),
        basis: "computed by report (no binary decided it): holds when the slowest way to make the N requests took at least \
                N/2 times as long as the fastest (N·d against d)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Status;

    #[test]
    fn needs_both_halves() {
        let ok = [
            ("sequential", Expect::Waits, 1010.0),
            ("tokio-concurrent", Expect::Overlaps, 22.0),
        ];
        let v = verdict(&ok, 50, 20.0);
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("N·d = 1.00 s") && v.text.contains("d = 20.0 ms"),
            "{}",
            v.text
        );
        let slow = [("tokio-concurrent", Expect::Overlaps, 400.0)];
        assert!(!verdict(&slow, 50, 20.0).holds());
        let fast_sync = [("sequential", Expect::Waits, 100.0)];
        assert!(!verdict(&fast_sync, 50, 20.0).holds());
        // Against the run's own sequential model: 34 ms is 32× faster than 1.10 s.
        let busy = [
            ("tokio-sequential", Expect::Waits, 1100.0),
            ("tokio-concurrent", Expect::Overlaps, 33.7),
        ];
        let v = verdict(&busy, 50, 20.0);
        assert!(v.holds(), "{}", v.text);
        assert_eq!(v.compared, ["tokio-sequential", "tokio-concurrent"]);
    }

    #[test]
    fn across_compares_the_slowest_and_the_fastest() {
        let way = |b, ms: f64| Way {
            binary: b,
            label: "m".into(),
            wall_ns: ms * 1e6,
            requests: 50,
            delay_ms: Some(20.0),
            taken: 0.0,
        };
        let j = across(&[way("blocking-io", 1000.0), way("coroutine", 21.0)]).unwrap();
        assert_eq!(j.status, Status::Holds, "{}", j.evidence);
        let j = across(&[way("blocking-io", 100.0), way("coroutine", 21.0)]).unwrap();
        assert_eq!(j.status, Status::DoesNotHold);
        assert!(across(&[way("x", 1.0)]).is_none());
    }
}

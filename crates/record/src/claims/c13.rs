//! C13 — blocking/non-blocking and sync/async are different axes.
//!
//! Decided by `quadrants` (`nonblocking-socket`): one job — N requests to a
//! server that answers each d after it arrives — done in the four
//! combinations, the caller offered CPU work (kernel units) to do whenever
//! it is free. The **flow** decides how long the job takes: synchronous (the
//! next request after the previous answer) ≈ N·d, asynchronous (all in
//! flight at once) ≈ d, whatever the call. The **call** decides whether the
//! caller can work while it waits: a non-blocking call returns at once, so
//! the caller computes between tries (about the wait's worth of units); a
//! blocking call keeps it in the kernel until something is ready (almost
//! none), whatever the flow.
//!
//! The wait's worth is the calibrated units per millisecond of one core times
//! the job's wall time: all of the job is waiting for the server, so a caller
//! that used every moment of it would have done that many units.

use super::Claim;
use crate::Verdict;
use crate::fmt::{fmt_count, fmt_ns};

/// A synchronous flow waited for every answer before the next request: its
/// wall time is at least this share of N·d. Other programs can only make it
/// slower, so the bound is safe on a busy machine.
pub const SYNC_MIN_OF_N_TIMES_D: f64 = 0.8;
/// An asynchronous flow overlapped the waits: its wall time is at most this
/// many d (one d, plus room for connecting N sockets and a late wake-up).
pub const ASYNC_MAX_OF_D: f64 = 3.0;
/// A non-blocking caller worked while it waited: at least this share of the
/// wait's worth of units.
pub const NONBLOCKING_MIN_SHARE: f64 = 0.5;
/// A blocking caller could not work while it waited: at most this share of
/// the wait's worth of units ("almost none"; the blocking models have no
/// place to compute during the wait, so anything above it is a finding).
pub const BLOCKING_MAX_SHARE: f64 = 0.05;
/// Below this many units of the wait's worth, a share of it is too coarse to
/// tell "half" from "none": the verdict is inconclusive (a longer delay helps).
pub const MIN_WAIT_UNITS: f64 = 100.0;

/// The flow: what decides when the next request goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The next request after the previous answer.
    Sync,
    /// Every request in flight at once.
    Async,
}

/// The call: what the caller's thread does while the I/O is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// It sleeps in the kernel until something is ready.
    Blocking,
    /// It returns at once, and the caller does something else.
    NonBlocking,
}

impl Flow {
    /// `sync`, `async`.
    pub fn word(self) -> &'static str {
        match self {
            Flow::Sync => "sync",
            Flow::Async => "async",
        }
    }
}

impl Call {
    /// `blocking`, `non-blocking`.
    pub fn word(self) -> &'static str {
        match self {
            Call::Blocking => "blocking",
            Call::NonBlocking => "non-blocking",
        }
    }
}

/// One quadrant's run of the job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadrant<'a> {
    /// The model.
    pub model: &'a str,
    /// Its flow.
    pub flow: Flow,
    /// Its call.
    pub call: Call,
    /// Wall time of the whole job, milliseconds.
    pub wall_ms: f64,
    /// Units of CPU work the caller completed during the job.
    pub units: u64,
    /// The calibration: units per millisecond of one core.
    pub units_per_ms: f64,
}

impl Quadrant<'_> {
    /// Units the whole wall time would have held: the wait's worth.
    pub fn wait_units(&self) -> f64 {
        self.units_per_ms * self.wall_ms
    }

    /// Units done as a share of the wait's worth.
    pub fn share(&self) -> f64 {
        self.units as f64 / self.wait_units().max(1e-9)
    }

    fn wall_ok(&self, n_d: f64, delay_ms: f64) -> bool {
        match self.flow {
            Flow::Sync => self.wall_ms >= SYNC_MIN_OF_N_TIMES_D * n_d,
            Flow::Async => self.wall_ms <= ASYNC_MAX_OF_D * delay_ms,
        }
    }

    fn work_ok(&self) -> bool {
        match self.call {
            Call::NonBlocking => self.share() >= NONBLOCKING_MIN_SHARE,
            Call::Blocking => self.share() <= BLOCKING_MAX_SHARE,
        }
    }
}

/// A quadrant that did not run, and why (io_uring unavailable, with the fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing<'a> {
    /// The model.
    pub model: &'a str,
    /// Why it did not run.
    pub why: &'a str,
}

/// C13 from the quadrants of one repetition: holds when every synchronous
/// flow took at least [`SYNC_MIN_OF_N_TIMES_D`] of N·d and every
/// asynchronous one at most [`ASYNC_MAX_OF_D`] d (the flow decides the wall
/// time), and every non-blocking caller did at least
/// [`NONBLOCKING_MIN_SHARE`] of the wait's worth of units while every
/// blocking one did at most [`BLOCKING_MAX_SHARE`] (the call decides the
/// work). Inconclusive when a quadrant is `missing` or absent, or when a
/// wait was worth fewer than [`MIN_WAIT_UNITS`] units.
pub fn verdict(qs: &[Quadrant<'_>], n: u64, delay_ms: f64, missing: &[Missing<'_>]) -> Verdict {
    let n_d = n as f64 * delay_ms;
    let ms = |x: f64| fmt_ns(x * 1e6);
    let walls = |flow: Flow| {
        qs.iter()
            .filter(|q| q.flow == flow)
            .map(|q| format!("{} {}", q.model, ms(q.wall_ms)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let work: Vec<String> = qs
        .iter()
        .map(|q| {
            format!(
                "{} {} units ({:.0} % of the wait's {})",
                q.model,
                fmt_count(q.units as f64),
                100.0 * q.share(),
                fmt_count(q.wait_units().round())
            )
        })
        .collect();
    let wall_ok = qs.iter().all(|q| q.wall_ok(n_d, delay_ms));
    let work_ok = qs.iter().all(Quadrant::work_ok);
    let how = match (wall_ok, work_ok) {
        (true, true) => {
            "the flow alone decided the wall time, and the call alone whether the caller worked while it waited"
        }
        (false, true) => {
            "the call split the work as claimed, but the wall time did not split by the flow"
        }
        (true, false) => {
            "the flow split the wall time as claimed, but the work done while waiting did not split by the call"
        }
        (false, false) => "neither the wall time nor the work split as the claim says",
    };
    let text = format!(
        "{n} requests, each answered {} after it arrives; wall time, sync: {} (N·d = {}), async: {} (d = {}); \
         CPU work done while waiting: {} (sync at least {:.0} % of N·d, async at most {ASYNC_MAX_OF_D:.0}·d; \
         non-blocking at least {:.0} % of the wait's worth, blocking at most {:.0} %): {how}",
        ms(delay_ms),
        walls(Flow::Sync),
        ms(n_d),
        walls(Flow::Async),
        ms(delay_ms),
        work.join(", "),
        100.0 * SYNC_MIN_OF_N_TIMES_D,
        100.0 * NONBLOCKING_MIN_SHARE,
        100.0 * BLOCKING_MAX_SHARE,
    );
    let compared: Vec<&str> = qs.iter().map(|q| q.model).collect();
    let absent: Vec<String> = [Flow::Sync, Flow::Async]
        .into_iter()
        .flat_map(|f| [(f, Call::Blocking), (f, Call::NonBlocking)])
        .filter(|(f, c)| !qs.iter().any(|q| q.flow == *f && q.call == *c))
        .map(|(f, c)| format!("{}+{}", f.word(), c.word()))
        .collect();
    let reason = if let Some(m) = missing.first() {
        Some(format!("the {} quadrant did not run: {}", m.model, m.why))
    } else if !absent.is_empty() {
        Some(format!(
            "C13 needs all four quadrants; not measured: {}",
            absent.join(", ")
        ))
    } else {
        qs.iter()
            .filter(|q| q.wait_units() < MIN_WAIT_UNITS)
            .min_by(|a, b| a.wait_units().total_cmp(&b.wait_units()))
            .map(|q| {
                format!(
                    "the wait of `{}` was worth only {:.0} units, too few to tell half of it from none: raise --delay-ms",
                    q.model,
                    q.wait_units()
                )
            })
    };
    let v = match reason {
        Some(r) => Verdict::inconclusive(Claim::C13, text, r),
        None => Verdict::new(Claim::C13, wall_ok && work_ok, text),
    };
    v.comparing(compared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(model: &str, flow: Flow, call: Call, wall_ms: f64, share: f64) -> Quadrant<'_> {
        let units_per_ms = 288.0;
        Quadrant {
            model,
            flow,
            call,
            wall_ms,
            units: (share * units_per_ms * wall_ms) as u64,
            units_per_ms,
        }
    }

    fn four(sync_nb_wall: f64, async_b_share: f64) -> Vec<Quadrant<'static>> {
        vec![
            q("sync-blocking", Flow::Sync, Call::Blocking, 203.0, 0.0),
            q(
                "sync-nonblocking",
                Flow::Sync,
                Call::NonBlocking,
                sync_nb_wall,
                0.93,
            ),
            q(
                "async-blocking",
                Flow::Async,
                Call::Blocking,
                21.0,
                async_b_share,
            ),
            q(
                "async-nonblocking",
                Flow::Async,
                Call::NonBlocking,
                21.5,
                0.9,
            ),
        ]
    }

    #[test]
    fn holds_when_the_flow_splits_the_time_and_the_call_the_work() {
        let v = verdict(&four(204.0, 0.0), 10, 20.0, &[]);
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("N·d = 200 ms") && v.text.contains("alone decided"),
            "{}",
            v.text
        );
        assert_eq!(
            v.compared,
            [
                "sync-blocking",
                "sync-nonblocking",
                "async-blocking",
                "async-nonblocking"
            ]
        );
    }

    #[test]
    fn does_not_hold_when_an_axis_does_not_split() {
        // A synchronous flow as fast as the asynchronous ones.
        let v = verdict(&four(25.0, 0.0), 10, 20.0, &[]);
        assert_eq!(v.outcome, crate::Outcome::DoesNotHold);
        assert!(v.text.contains("wall time did not split"), "{}", v.text);
        // A blocking caller that worked half the wait.
        let v = verdict(&four(204.0, 0.5), 10, 20.0, &[]);
        assert_eq!(v.outcome, crate::Outcome::DoesNotHold);
        assert!(
            v.text.contains("work done while waiting did not"),
            "{}",
            v.text
        );
    }

    #[test]
    fn a_missing_quadrant_or_a_wait_too_short_is_inconclusive() {
        let mut qs = four(204.0, 0.0);
        qs.pop();
        let why = "io_uring is unavailable here: io_uring_setup returned EPERM";
        let missing = [Missing {
            model: "async-nonblocking",
            why,
        }];
        let v = verdict(&qs, 10, 20.0, &missing);
        assert_eq!(v.outcome, crate::Outcome::Inconclusive);
        assert!(v.reason.as_deref().unwrap().contains(why));
        assert_eq!(v.compared.len(), 3);
        let v = verdict(&qs, 10, 20.0, &[]);
        assert!(
            v.reason.as_deref().unwrap().contains("async+non-blocking"),
            "{v:?}"
        );
        let short: Vec<Quadrant<'_>> = four(204.0, 0.0)
            .into_iter()
            .map(|mut q| {
                q.units_per_ms = 1.0;
                q
            })
            .collect();
        let v = verdict(&short, 10, 20.0, &[]);
        assert_eq!(v.outcome, crate::Outcome::Inconclusive);
        assert!(v.reason.unwrap().contains("--delay-ms"));
    }
}

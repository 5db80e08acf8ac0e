//! C11 — Python's "parallelism = multiprocessing" comes from the GIL.
//!
//! Decided by `gil` on two or more CPUs: threads holding one shared lock
//! around every task stay flat, while the same threads without it, or
//! processes each with its own lock, scale. CPython decides it twice: with
//! the GIL its threads stay flat beside its processes ([`compare`]); on a
//! free-threaded build the same threads must scale ([`without_gil`]), for
//! the claim says the GIL is the cause.

use super::c2::FLAT_MAX_SPEEDUP;
use super::c3::MIN_EFFICIENCY;
use super::{Claim, SEQUENTIAL};
use crate::Verdict;

/// One side of C11's comparison: what it is in words (its model named in
/// them), its model, and its speedup over the sequential run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side<'a> {
    /// What it is, for the text: `threads holding one shared lock around every task (gil-threads)`.
    pub what: &'a str,
    /// Its model, as its record names it.
    pub model: &'a str,
    /// Its speedup over the sequential run.
    pub speedup: f64,
}

/// The locked side of the Rust emulation: `gil-threads`.
const GIL_THREADS: &str = "threads holding one shared lock around every task (gil-threads)";

/// On `parallelism` CPUs, threads holding one shared lock around every task
/// (`gil-threads`, speedup `locked`) stay flat (≤ [`FLAT_MAX_SPEEDUP`]),
/// while `scaling` — `(what it is, its speedup)`: the same threads without
/// the lock, or processes each with its own — reaches [`MIN_EFFICIENCY`].
/// `None` on one CPU, where nothing can scale. See [`compare`].
pub fn verdict(
    locked: f64,
    scaling: (&str, f64),
    scaling_model: &str,
    parallelism: usize,
) -> Option<Verdict> {
    compare(
        Side {
            what: GIL_THREADS,
            model: "gil-threads",
            speedup: locked,
        },
        Side {
            what: scaling.0,
            model: scaling_model,
            speedup: scaling.1,
        },
        parallelism,
    )
}

/// C11 from any two sides: on `parallelism` CPUs the `locked` side (threads
/// under one lock: the Rust emulation's `gil-threads`, or CPython's own
/// threads under the GIL) stays flat (≤ [`FLAT_MAX_SPEEDUP`]) while the
/// `scaling` side (the same threads without the lock, or processes each
/// with its own) reaches [`MIN_EFFICIENCY`]. `None` on one CPU, where
/// nothing can scale.
pub fn compare(locked: Side<'_>, scaling: Side<'_>, parallelism: usize) -> Option<Verdict> {
    if parallelism < 2 {
        return None;
    }
    let (what, x) = (scaling.what, scaling.speedup);
    let eff = x / parallelism as f64;
    let flat = locked.speedup <= FLAT_MAX_SPEEDUP;
    let scales = eff >= MIN_EFFICIENCY;
    let how = match (flat, scales) {
        (true, true) => "the lock, not the threads, kept the work on one CPU at a time",
        (false, _) => "the locked threads did not stay flat",
        (true, false) => "the unlocked side did not scale either",
    };
    Some(
        Verdict::new(
            Claim::C11,
            flat && scales,
            format!(
                "on {parallelism} CPUs {} ran {:.2}× the sequential run (flat: ≤ {FLAT_MAX_SPEEDUP:.2}×), while {what} \
                 ran {x:.2}× (efficiency {eff:.2}; threshold {MIN_EFFICIENCY:.2}): {how}",
                locked.what, locked.speedup
            ),
        )
        .comparing([SEQUENTIAL, locked.model, scaling.model]),
    )
}

/// C11 from an interpreter without the GIL (a free-threaded CPython): the
/// claim says the GIL is *why* threads do not scale, so with it gone the
/// same `threads` must scale (reach [`MIN_EFFICIENCY`] on `parallelism`
/// CPUs). When they do not while `processes` do, something other than the
/// GIL held them back: it does not hold. When neither scales, these CPUs
/// gave no parallelism to show: inconclusive, naming the processes' speedup.
/// `None` on one CPU.
pub fn without_gil(threads: Side<'_>, processes: Side<'_>, parallelism: usize) -> Option<Verdict> {
    if parallelism < 2 {
        return None;
    }
    let p = parallelism as f64;
    let (x, y) = (threads.speedup, processes.speedup);
    let (eff, proc_eff) = (x / p, y / p);
    let text = |how: &str| {
        format!(
            "on {parallelism} CPUs without the GIL, {} ran {x:.2}× the sequential run (efficiency {eff:.2}; \
             threshold {MIN_EFFICIENCY:.2}), {} {y:.2}×: {how}",
            threads.what, processes.what
        )
    };
    let v = if eff >= MIN_EFFICIENCY {
        Verdict::new(
            Claim::C11,
            true,
            text(
                "the same threads scale once the GIL is gone, so it was the GIL that kept them flat",
            ),
        )
    } else if proc_eff >= MIN_EFFICIENCY {
        Verdict::new(
            Claim::C11,
            false,
            text("the threads stayed flat without the GIL too, so something else held them back"),
        )
    } else {
        Verdict::inconclusive(
            Claim::C11,
            text("neither scaled"),
            format!(
                "the processes too reached only {proc_eff:.2} efficiency: these CPUs gave no parallelism to show"
            ),
        )
    };
    Some(v.comparing([SEQUENTIAL, threads.model, processes.model]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    #[test]
    fn needs_two_cpus_a_flat_lock_and_a_scaling_other() {
        let free = ("the same threads without the lock (no-gil-threads)", 3.8);
        assert!(verdict(1.0, free, "m", 1).is_none());
        let v = verdict(1.0, free, "m", 4).unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C11, true));
        assert!(v.text.contains("no-gil-threads"), "{}", v.text);
        assert!(
            !verdict(2.5, free, "m", 4).unwrap().holds(),
            "the locked threads scaled"
        );
        let procs = (
            "worker processes, each with its own lock (gil-processes)",
            1.1,
        );
        assert!(
            !verdict(1.0, procs, "m", 2).unwrap().holds(),
            "processes did not scale"
        );
        assert!(
            verdict(1.0, ("gil-processes", 1.9), "m", 2)
                .unwrap()
                .holds()
        );
        assert!(
            !verdict(1.8, ("gil-processes", 1.9), "m", 2)
                .unwrap()
                .holds(),
            "threads did not flat-line"
        );
    }

    #[test]
    fn any_two_sides_compare_and_name_their_models() {
        let gil = Side {
            what: "CPython threads under the GIL (threading)",
            model: "threading",
            speedup: 0.98,
        };
        let procs = Side {
            what: "worker processes, each with its own GIL (multiprocessing-pool)",
            model: "multiprocessing-pool",
            speedup: 1.9,
        };
        let v = compare(gil, procs, 2).unwrap();
        assert!(v.holds(), "{}", v.text);
        assert_eq!(
            v.compared,
            ["sequential", "threading", "multiprocessing-pool"]
        );
        assert!(
            v.text.contains("under the GIL (threading) ran 0.98×"),
            "{}",
            v.text
        );
        assert!(compare(gil, procs, 1).is_none());
        let free = Side {
            speedup: 1.9,
            ..gil
        };
        assert!(!compare(free, procs, 2).unwrap().holds(), "threads scaled");
    }

    #[test]
    fn without_the_gil_the_same_threads_must_scale() {
        let side = |model, speedup| Side {
            what: model,
            model,
            speedup,
        };
        let v = without_gil(side("threading", 1.98), side("pool", 1.9), 2).unwrap();
        assert!(v.holds(), "{}", v.text);
        assert!(v.text.contains("threading ran 1.98×"), "{}", v.text);
        assert!(v.text.contains("kept them flat"), "{}", v.text);
        assert_eq!(v.compared, ["sequential", "threading", "pool"]);
        let v = without_gil(side("threading", 1.05), side("pool", 1.9), 2).unwrap();
        assert_eq!(v.outcome, Outcome::DoesNotHold, "{}", v.text);
        assert!(v.text.contains("something else"), "{}", v.text);
        let v = without_gil(side("threading", 1.05), side("pool", 1.1), 2).unwrap();
        assert_eq!(v.outcome, Outcome::Inconclusive, "{}", v.text);
        assert!(v.reason.unwrap().contains("0.55 efficiency"));
        assert!(without_gil(side("threading", 1.0), side("pool", 1.0), 1).is_none());
    }
}

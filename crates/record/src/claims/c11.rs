//! C11 — Python's "parallelism = multiprocessing" comes from the GIL.
//!
//! Decided by `gil` on two or more CPUs: threads holding one shared lock
//! around every task stay flat, while the same threads without it, or
//! processes each with its own lock, scale.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}

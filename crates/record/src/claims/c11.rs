//! C11 — Python's "parallelism = multiprocessing" comes from the GIL.
//!
//! Decided by `gil` on two or more CPUs: threads holding one shared lock
//! around every task stay flat, while the same threads without it, or
//! processes each with its own lock, scale.

use super::c2::FLAT_MAX_SPEEDUP;
use super::c3::MIN_EFFICIENCY;
use super::{Claim, SEQUENTIAL};
use crate::Verdict;

/// On `parallelism` CPUs, threads holding one shared lock around every task
/// (`gil-threads`, speedup `locked`) stay flat (≤ [`FLAT_MAX_SPEEDUP`]),
/// while `scaling` — `(what it is, its speedup)`: the same threads without
/// the lock, or processes each with its own — reaches [`MIN_EFFICIENCY`].
/// `None` on one CPU, where nothing can scale.
pub fn verdict(
    locked: f64,
    scaling: (&str, f64),
    scaling_model: &str,
    parallelism: usize,
) -> Option<Verdict> {
    if parallelism < 2 {
        return None;
    }
    let (what, x) = scaling;
    let eff = x / parallelism as f64;
    let flat = locked <= FLAT_MAX_SPEEDUP;
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
                "on {parallelism} CPUs threads holding one shared lock around every task (gil-threads) ran \
                 {locked:.2}× the sequential run (flat: ≤ {FLAT_MAX_SPEEDUP:.2}×), while {what} ran {x:.2}× \
                 (efficiency {eff:.2}; threshold {MIN_EFFICIENCY:.2}): {how}"
            ),
        )
        .comparing([SEQUENTIAL, "gil-threads", scaling_model]),
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
}

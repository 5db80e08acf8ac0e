//! C2 — concurrency alone does not speed up computation.
//!
//! Decided by `cpu` where the models had one CPU between them: every model
//! on one CPU, or a runtime with one thread by design on more.

use super::{Claim, SEQUENTIAL, list};
use crate::Verdict;

/// A model that does not speed the work up ("flat") beats the sequential run
/// by this factor at most (C2, and the locked threads of C11).
/// It sits above the noise of one run's baseline: on the 16-CPU virtual machine
/// identical ~270 ms sequential runs spread 1.07–1.21× from fastest to slowest
/// within one sweep (2026-11-23), so a flat model can read up to ~1.2× by luck,
/// while the least parallel speedup worth the name is ~1.9× on 2 CPUs.
pub const FLAT_MAX_SPEEDUP: f64 = 1.20;

/// `speedups` are the `(model, speedup over the sequential run)` of models
/// that had one CPU between them: every model on one CPU (`cpus == 1`), or a
/// runtime with one thread by design on `cpus` CPUs. `dist` names the work
/// (`balanced`, `skewed`); `baseline` names the sequential run in the text
/// (`one thread`, `one process`). Holds when none beat it by more than
/// [`FLAT_MAX_SPEEDUP`]. `None` when nothing was measured.
pub fn verdict(
    speedups: &[(&str, f64)],
    cpus: usize,
    dist: &str,
    baseline: &str,
) -> Option<Verdict> {
    let best = speedups.iter().map(|m| m.1).max_by(f64::total_cmp)?;
    let on = if cpus == 1 {
        "on 1 CPU".to_string()
    } else {
        format!("on {cpus} CPUs but one thread by design,")
    };
    let holds = best <= FLAT_MAX_SPEEDUP;
    let how = if holds {
        "concurrency alone did not add compute"
    } else {
        "a model beat the baseline by more than the margin"
    };
    let models = std::iter::once(SEQUENTIAL).chain(speedups.iter().map(|m| m.0));
    Some(
        Verdict::new(
            Claim::C2,
            holds,
            format!(
                "{on} the best model ran {best:.2}× {baseline} on {dist} CPU work (flat: ≤ {FLAT_MAX_SPEEDUP:.2}×; \
                 speedups: {}): {how}",
                list(speedups)
            ),
        )
        .comparing(models),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_while_nothing_beats_sequential_by_more_than_the_margin() {
        let v = verdict(
            &[("pool", 0.98), ("rayon", 1.05)],
            1,
            "balanced",
            "one thread",
        )
        .unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C2, true));
        assert!(
            v.text.contains("on 1 CPU") && v.text.contains("rayon 1.05×"),
            "{}",
            v.text
        );
        assert!(
            !verdict(&[("pool", 1.3)], 1, "skewed", "one process")
                .unwrap()
                .holds()
        );
        let v = verdict(&[("tokio-current-thread", 0.99)], 4, "skewed", "one thread").unwrap();
        assert!(v.holds() && v.text.contains("on 4 CPUs"), "{}", v.text);
        assert!(verdict(&[], 1, "balanced", "one thread").is_none());
    }
}

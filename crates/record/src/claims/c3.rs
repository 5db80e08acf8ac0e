//! C3 — parallelism speeds up computation with cores.
//!
//! Each binary's `cpu` decides it on the CPUs it had ([`verdict`]); `report`
//! decides it across the sweep's core counts ([`across`]).

use std::collections::BTreeMap;

use super::{Claim, Judged, SEQUENTIAL, Status, c2, list, noise};
use crate::Verdict;
use crate::fmt::{fmt_num, fmt_ratio, opt};

/// A model that scales reaches at least this efficiency (speedup / CPUs) (C3, and C11).
pub const MIN_EFFICIENCY: f64 = 0.70;

/// The work C3 is decided on: skewed work measures the split, not the CPUs.
pub const BALANCED: &str = "balanced";

/// On `parallelism` CPUs, the best of `speedups` (over the sequential run,
/// called `baseline` in the text) reaches an efficiency of at least
/// [`MIN_EFFICIENCY`]. Decided on [`BALANCED`] work only; `None` on one CPU,
/// on other work, or when nothing was measured.
pub fn verdict(
    speedups: &[(&str, f64)],
    parallelism: usize,
    dist: &str,
    baseline: &str,
) -> Option<Verdict> {
    if parallelism < 2 || dist != BALANCED {
        return None;
    }
    let &(best_model, best) = speedups.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let eff = best / parallelism as f64;
    let faster = if best >= 1.0 { "faster" } else { "slower" };
    let shown = if best >= 1.0 { best } else { 1.0 / best };
    Some(
        Verdict::new(
            Claim::C3,
            eff >= MIN_EFFICIENCY,
            format!(
                "on {parallelism} CPUs the balanced work ran {shown:.2}× {faster} than {baseline} at best \
                 ({best_model}, efficiency {eff:.2}; threshold {MIN_EFFICIENCY:.2}; all: {})",
                list(speedups)
            ),
        )
        .comparing([SEQUENTIAL, best_model]),
    )
}

/// The `cpu` experiment's verdict on `parallelism` CPUs, from the speedups of
/// every model of one repetition and distribution: C2 ([`c2::verdict`]) on
/// one CPU, C3 ([`verdict`]) on more.
pub fn cpu(
    speedups: &[(&str, f64)],
    parallelism: usize,
    dist: &str,
    baseline: &str,
) -> Option<Verdict> {
    if parallelism == 1 {
        c2::verdict(speedups, 1, dist, baseline)
    } else {
        verdict(speedups, parallelism, dist, baseline)
    }
}

/// A parallel `cpu` model measured at several core counts, starting at one.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling<'a> {
    /// Its binary.
    pub binary: &'a str,
    /// `model variant`, for the text.
    pub label: String,
    /// Its work (`balanced`, `skewed`).
    pub variant: &'a str,
    /// What the speedups are against, in words (`vs sequential`).
    pub basis: &'a str,
    /// `(cores, speedup)`, ascending.
    pub speedups: Vec<(u64, f64)>,
    /// Efficiency at the most cores (speedup / CPUs available).
    pub efficiency: f64,
    /// The most cores.
    pub last_cores: u64,
    /// Amdahl's serial fraction fitted over the points.
    pub serial_fraction: Option<f64>,
    /// The largest share of the CPUs other programs took while a point of
    /// the series (or its baseline) ran, median over repetitions.
    pub taken: f64,
}

/// Across core counts: each binary's fastest parallel model at the most
/// cores (on balanced work where there is any) must speed up at every step
/// and reach [`MIN_EFFICIENCY`] at the most cores. `None` without a series.
pub fn across(series: &[Scaling<'_>]) -> Option<Judged> {
    let balanced = series.iter().any(|s| s.variant == BALANCED);
    let at_most = |s: &Scaling<'_>| s.speedups.last().map_or(0.0, |x| x.1);
    let mut best: BTreeMap<&str, &Scaling<'_>> = BTreeMap::new();
    for s in series.iter().filter(|s| !balanced || s.variant == BALANCED) {
        let b = best.entry(s.binary).or_insert(s);
        if at_most(s) > at_most(b) {
            *b = s;
        }
    }
    if best.is_empty() {
        return None;
    }
    let mut statuses = Vec::new();
    let mut evidence = Vec::new();
    let mut reasons = Vec::new();
    for (bin, s) in best {
        let grows = s.speedups.windows(2).all(|w| w[1].1 > w[0].1);
        let eff = s.efficiency;
        let (status, reason) = noise::across(
            grows && eff >= MIN_EFFICIENCY,
            s.taken,
            &format!("{bin} {} ran", s.label),
        );
        statuses.push(status);
        reasons.extend(reason);
        let cores: Vec<String> = s.speedups.iter().map(|p| p.0.to_string()).collect();
        let xs: Vec<String> = s.speedups.iter().map(|p| fmt_ratio(p.1)).collect();
        evidence.push(format!(
            "{bin} {}: {} {} at {} cores; efficiency {} at {}{}; serial fraction {}",
            s.label,
            xs.join(", "),
            s.basis,
            cores.join(", "),
            fmt_num(eff),
            s.last_cores,
            if grows {
                ""
            } else {
                " (speedup did not grow at every step)"
            },
            opt(s.serial_fraction, fmt_num)
        ));
    }
    let status = Status::all(statuses);
    Some(Judged {
        status,
        evidence: evidence.join("; "),
        basis: format!(
            "computed by report from each binary's fastest parallel cpu model at the most cores: holds when its speedup \
             (over the run's sequential model where recorded, else over its own 1-core run) grows at every core count \
             and efficiency at the most cores is at least {MIN_EFFICIENCY:.2}"
        ),
        reason: (status == Status::Inconclusive).then(|| reasons.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_best_model_on_balanced_work() {
        let v = verdict(
            &[("pool", 3.9), ("static-split", 3.5)],
            4,
            BALANCED,
            "one process",
        )
        .unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C3, true));
        assert!(v.text.contains("pool, efficiency 0.97"), "{}", v.text);
        assert!(
            !verdict(&[("pool", 1.5)], 4, BALANCED, "one thread")
                .unwrap()
                .holds()
        );
        assert!(verdict(&[("pool", 1.5)], 4, "skewed", "one thread").is_none());
        assert!(verdict(&[("pool", 0.9)], 1, BALANCED, "one thread").is_none());
        assert!(verdict(&[], 4, BALANCED, "one thread").is_none());
    }

    #[test]
    fn cpu_is_c2_on_one_cpu_and_c3_on_more() {
        let v = cpu(&[("rayon", 0.98)], 1, BALANCED, "one thread").unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C2, true));
        let v = cpu(&[("rayon", 0.98)], 1, "skewed", "one thread").unwrap();
        assert_eq!(v.claim, Claim::C2, "C2 is decided on every distribution");
        let v = cpu(&[("rayon", 3.9)], 4, BALANCED, "one thread").unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C3, true));
        assert!(cpu(&[("rayon", 3.9)], 4, "skewed", "one thread").is_none());
    }

    fn scaling(binary: &'static str, xs: &[(u64, f64)], eff: f64) -> Scaling<'static> {
        Scaling {
            binary,
            label: "rayon balanced".into(),
            variant: BALANCED,
            basis: "vs sequential",
            speedups: xs.to_vec(),
            efficiency: eff,
            last_cores: xs.last().unwrap().0,
            serial_fraction: Some(0.01),
            taken: 0.0,
        }
    }

    #[test]
    fn across_needs_growth_and_efficiency() {
        let ok = scaling("thread", &[(1, 1.0), (2, 1.9), (4, 3.7)], 0.92);
        assert_eq!(
            across(std::slice::from_ref(&ok)).unwrap().status,
            Status::Holds
        );
        let flat = scaling("process", &[(1, 1.0), (2, 1.9), (4, 1.8)], 0.45);
        let j = across(&[ok.clone(), flat.clone()]).unwrap();
        assert_eq!(
            j.status,
            Status::DoesNotHold,
            "on an idle machine the failure stands"
        );
        assert!(j.evidence.contains("did not grow"), "{}", j.evidence);
        let busy = Scaling { taken: 0.5, ..flat };
        let j = across(&[ok, busy]).unwrap();
        assert_eq!(j.status, Status::Inconclusive);
        assert!(j.reason.unwrap().contains("50 %"));
        assert!(across(&[]).is_none());
    }
}

//! Scaling across core counts: speedup and efficiency against one core,
//! the Karp–Flatt metric at each core count, and Amdahl's serial fraction
//! fitted by least squares.
//!
//! Two speedups exist. *Against one core* (`×1 core`) is a case's ops/s over
//! the same model's ops/s at `--cores 1`: every series has it. *In-run* is the
//! record's own `speedup` figure, the model's wall time against the
//! `sequential` model of the same run (the textbook `T_sequential / T_p`).
//! Karp–Flatt and the Amdahl fit use the in-run speedup where a series
//! carries it at every core count above one (its *basis* says so), since a
//! model that is slow on one core (a thread per task) would otherwise seem to
//! scale well; elsewhere they use the speedup against one core.
//!
//! With `p` CPUs and speedup `S(p)`, Amdahl's law says
//! `1/S = s + (1 - s)/p`, that is `1/S - 1/p = s · (1 - 1/p)`: a line through
//! the origin in `x = 1 - 1/p`, `y = 1/S - 1/p`, whose least-squares slope is
//! `s = Σxy / Σx²`. Solving the same equation at a single `p` gives the
//! Karp–Flatt metric `e(p) = (1/S - 1/p) / (1 - 1/p)`; the fit is therefore a
//! weighted mean of the Karp–Flatt values, and a Karp–Flatt that grows with
//! `p` points at overhead that grows with cores (not a fixed serial part).

use crate::merge::{Case, SeriesKey};

/// The Karp–Flatt metric: the serial fraction implied by speedup `s` on `p` CPUs
/// (`None` at `p = 1`, where it is undefined).
pub fn karp_flatt(speedup: f64, p: f64) -> Option<f64> {
    (p > 1.0 && speedup > 0.0).then(|| (1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p))
}

/// Amdahl's serial fraction fitted by least squares to `(p, speedup)` points;
/// `None` without a point at `p > 1`. Not clamped: a negative value means
/// superlinear speedup (caches), above 1 means slower with more CPUs.
pub fn amdahl_fit(points: &[(f64, f64)]) -> Option<f64> {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(p, s) in points {
        if p > 1.0 && s > 0.0 {
            let x = 1.0 - 1.0 / p;
            let y = 1.0 / s - 1.0 / p;
            sxy += x * y;
            sxx += x * x;
        }
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Amdahl's speedup on `p` CPUs with serial fraction `s`.
pub fn amdahl_speedup(s: f64, p: f64) -> f64 {
    1.0 / (s + (1.0 - s) / p)
}

/// What a series' Karp–Flatt and Amdahl fit are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The `sequential` model of the same run (the records' `speedup` figure).
    Sequential,
    /// The same model at `--cores 1`.
    OneCore,
}

impl Basis {
    /// The words in tables.
    pub fn words(self) -> &'static str {
        match self {
            Basis::Sequential => "vs sequential",
            Basis::OneCore => "vs 1 core",
        }
    }
}

/// One core count of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// `params.cores`.
    pub cores: u64,
    /// CPUs actually available (the `p` of the formulas).
    pub parallelism: u64,
    /// Merged ops/s.
    pub ops_per_s: f64,
    /// Ops/s over the 1-core case's ops/s.
    pub speedup: Option<f64>,
    /// Speedup / parallelism.
    pub efficiency: Option<f64>,
    /// The records' own speedup over `sequential` (median over repetitions).
    pub in_run: Option<f64>,
    /// Karp–Flatt at this core count, on the in-run speedup where there is one.
    pub karp_flatt: Option<f64>,
}

impl Point {
    /// The speedup a basis uses.
    pub fn on(&self, basis: Basis) -> Option<f64> {
        match basis {
            Basis::Sequential => self.in_run,
            Basis::OneCore => self.speedup,
        }
    }
}

/// A series measured at two or more core counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What was measured.
    pub key: SeriesKey,
    /// Its core counts, ascending.
    pub points: Vec<Point>,
    /// What the fit and Karp–Flatt are measured against; `None` when neither
    /// exists (no 1-core case and no in-run speedup).
    pub basis: Option<Basis>,
    /// Amdahl's serial fraction fitted over the points, on `basis`.
    pub serial_fraction: Option<f64>,
}

impl Series {
    /// The point at the most cores.
    pub fn last(&self) -> &Point {
        self.points.last().expect("a series has points")
    }

    /// The point at `cores`, if measured.
    pub fn at(&self, cores: u64) -> Option<&Point> {
        self.points.iter().find(|p| p.cores == cores)
    }

    /// `(cores, speedup)` on the series' basis, where measured.
    pub fn speedups(&self) -> Vec<(u64, f64)> {
        let Some(b) = self.basis else {
            return Vec::new();
        };
        self.points
            .iter()
            .filter_map(|p| p.on(b).map(|x| (p.cores, x)))
            .collect()
    }
}

/// Speedups, efficiency and Karp–Flatt of one case against its series' 1-core case.
pub fn point(case: &Case, base_ops_per_s: Option<f64>) -> Point {
    let ops = case.ops_per_s();
    let speedup = base_ops_per_s.filter(|b| *b > 0.0).map(|b| ops / b);
    let in_run = case.figure("speedup");
    let p = case.parallelism as f64;
    Point {
        cores: case.cores,
        parallelism: case.parallelism,
        ops_per_s: ops,
        speedup,
        efficiency: speedup.map(|s| s / p),
        in_run,
        karp_flatt: in_run.or(speedup).and_then(|s| karp_flatt(s, p)),
    }
}

/// The 1-core ops/s of a series, for [`point`].
pub fn baseline(cases: &[Case], key: &SeriesKey) -> Option<f64> {
    cases
        .iter()
        .find(|c| &c.key == key && c.cores == 1)
        .map(Case::ops_per_s)
}

/// Every series with two or more core counts (`cases` sorted as `merge` sorts them).
pub fn series(cases: &[Case]) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    let mut i = 0;
    while i < cases.len() {
        let key = &cases[i].key;
        let end = cases[i..]
            .iter()
            .position(|c| &c.key != key)
            .map_or(cases.len(), |n| i + n);
        if end - i >= 2 {
            let base = baseline(&cases[i..end], key);
            let points: Vec<Point> = cases[i..end].iter().map(|c| point(c, base)).collect();
            let above_one = points.iter().filter(|p| p.parallelism > 1);
            let basis =
                if above_one.clone().count() > 0 && above_one.clone().all(|p| p.in_run.is_some()) {
                    Some(Basis::Sequential)
                } else if base.is_some() {
                    Some(Basis::OneCore)
                } else {
                    None
                };
            let fit: Vec<(f64, f64)> = basis.map_or_else(Vec::new, |b| {
                points
                    .iter()
                    .filter_map(|p| p.on(b).map(|s| (p.parallelism as f64, s)))
                    .collect()
            });
            out.push(Series {
                key: key.clone(),
                points,
                basis,
                serial_fraction: amdahl_fit(&fit),
            });
        }
        i = end;
    }
    out
}

//! Scaling across core counts: speedup and efficiency against one core,
//! the Karp–Flatt metric at each core count, and Amdahl's serial fraction
//! fitted by least squares.
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
    /// Karp–Flatt at this core count.
    pub karp_flatt: Option<f64>,
}

/// A series measured at two or more core counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What was measured.
    pub key: SeriesKey,
    /// Its core counts, ascending.
    pub points: Vec<Point>,
    /// Amdahl's serial fraction fitted over the points (needs a 1-core point).
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
}

/// Speedup, efficiency and Karp–Flatt of one case against its series' 1-core case.
pub fn point(case: &Case, base_ops_per_s: Option<f64>) -> Point {
    let ops = case.ops_per_s();
    let speedup = base_ops_per_s.filter(|b| *b > 0.0).map(|b| ops / b);
    let p = case.parallelism as f64;
    Point {
        cores: case.cores,
        parallelism: case.parallelism,
        ops_per_s: ops,
        speedup,
        efficiency: speedup.map(|s| s / p),
        karp_flatt: speedup.and_then(|s| karp_flatt(s, p)),
    }
}

/// The 1-core ops/s of each series, for [`point`].
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
            let fit: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|p| p.speedup.map(|s| (p.parallelism as f64, s)))
                .collect();
            out.push(Series {
                key: key.clone(),
                points,
                serial_fraction: amdahl_fit(&fit),
            });
        }
        i = end;
    }
    out
}

//! CSV outputs, for spreadsheets and scripts: raw units (nanoseconds, bytes,
//! operations per second), one header line, one row per case, series, figure
//! or claim.
//!
//! - `cases.csv`: every merged case, with its spread, percentiles and scaling;
//! - `scaling.csv`: every series measured at several core counts, with the fit;
//! - `figures.csv`: every experiment-specific figure of every case (long form);
//! - `claims.csv`: the claims table.

use crate::Report;
use crate::merge::SeriesKey;
use crate::scaling::{baseline, point};

fn f(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn u(v: Option<u64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn to_string(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is UTF-8")
}

fn write(w: &mut csv::Writer<Vec<u8>>, row: &[String]) {
    w.write_record(row).expect("writing to memory cannot fail");
}

/// The columns that name a series, first in `cases`, `scaling` and `figures`.
const KEY: [&str; 5] = ["experiment", "binary", "model", "variant", "work"];

/// A writer with the header `KEY` + `rest`.
fn writer(rest: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = KEY.iter().chain(rest).map(|s| s.to_string()).collect();
    write(&mut w, &header);
    w
}

/// The `KEY` columns of a series, then `rest`.
fn keyed(k: &SeriesKey, rest: Vec<String>) -> Vec<String> {
    let mut row = vec![
        k.experiment.clone(),
        k.binary.clone(),
        k.model.clone(),
        k.variant.clone(),
        k.work.clone(),
    ];
    row.extend(rest);
    row
}

/// `cases.csv`.
pub fn cases(r: &Report) -> String {
    let mut w = writer(&[
        "cores",
        "parallelism",
        "reps",
        "ops",
        "wall_ns",
        "ops_per_s",
        "ops_per_s_min",
        "ops_per_s_median",
        "ops_per_s_max",
        "wall_ns_min",
        "wall_ns_median",
        "wall_ns_max",
        "samples",
        "min_ns",
        "p50_ns",
        "p90_ns",
        "p99_ns",
        "p999_ns",
        "max_ns",
        "mean_ns",
        "speedup_vs_1core",
        "efficiency_vs_1core",
        "karp_flatt",
        "speedup_in_run",
        "efficiency_in_run",
        "max_rss_bytes",
        "checksum",
    ]);
    for c in &r.cases {
        let p = point(c, baseline(&r.cases, &c.key));
        let h = c.histogram.as_ref();
        let q = |x: f64| u(c.quantile_ns(x));
        let row = vec![
            c.cores.to_string(),
            c.parallelism.to_string(),
            c.reps.to_string(),
            c.ops.to_string(),
            c.wall_ns.to_string(),
            p.ops_per_s.to_string(),
            c.ops_per_s_spread.min.to_string(),
            c.ops_per_s_spread.median.to_string(),
            c.ops_per_s_spread.max.to_string(),
            c.wall_ns_spread.min.to_string(),
            c.wall_ns_spread.median.to_string(),
            c.wall_ns_spread.max.to_string(),
            u(h.map(|h| h.len())),
            u(h.map(|h| h.min())),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            u(h.map(|h| h.max())),
            f(h.map(|h| h.mean())),
            f(p.speedup),
            f(p.efficiency),
            f(p.karp_flatt),
            f(p.in_run),
            f(c.figure("efficiency")),
            c.max_rss_bytes.to_string(),
            c.checksums.iter().cloned().collect::<Vec<_>>().join(" "),
        ];
        write(&mut w, &keyed(&c.key, row));
    }
    to_string(w)
}

/// `scaling.csv`.
pub fn scaling(r: &Report) -> String {
    let mut w = writer(&[
        "cores",
        "speedups_vs_1core",
        "speedups_in_run",
        "karp_flatt",
        "max_cores",
        "speedup_at_max",
        "efficiency_at_max",
        "serial_fraction",
        "fit_basis",
    ]);
    for s in &r.series {
        let join = |g: &dyn Fn(&crate::scaling::Point) -> String| {
            s.points.iter().map(g).collect::<Vec<_>>().join(";")
        };
        let last = s.last();
        write(
            &mut w,
            &keyed(
                &s.key,
                vec![
                    join(&|p| p.cores.to_string()),
                    join(&|p| f(p.speedup)),
                    join(&|p| f(p.in_run)),
                    join(&|p| f(p.karp_flatt)),
                    last.cores.to_string(),
                    f(last.speedup),
                    f(last.efficiency),
                    f(s.serial_fraction),
                    s.basis.map_or("", |b| b.words()).to_string(),
                ],
            ),
        );
    }
    to_string(w)
}

/// `figures.csv`.
pub fn figures(r: &Report) -> String {
    let mut w = writer(&["cores", "figure", "reps", "min", "median", "max"]);
    for c in &r.cases {
        for (name, vals) in &c.figures {
            let sp = crate::merge::Spread::of(vals).expect("a figure has values");
            write(
                &mut w,
                &keyed(
                    &c.key,
                    vec![
                        c.cores.to_string(),
                        name.clone(),
                        vals.len().to_string(),
                        sp.min.to_string(),
                        sp.median.to_string(),
                        sp.max.to_string(),
                    ],
                ),
            );
        }
    }
    to_string(w)
}

/// `claims.csv`.
pub fn claims(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    write(
        &mut w,
        &[
            "claim",
            "statement",
            "verdict",
            "reason",
            "evidence",
            "basis",
        ]
        .map(String::from),
    );
    for c in &r.claims {
        write(
            &mut w,
            &[
                c.id().to_string(),
                c.statement.to_string(),
                c.status.word().to_string(),
                c.reason.clone().unwrap_or_default(),
                c.evidence.clone(),
                c.basis.clone(),
            ],
        );
    }
    to_string(w)
}

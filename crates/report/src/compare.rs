//! `report --compare A B`: two runs side by side, case by case and claim by
//! claim, saying which differences are larger than the runs' own noise.
//!
//! Cases are matched on experiment × binary × model × variant × work ×
//! cores (never on the machine, which may differ). Each is compared on its
//! ops/s (the median over its repetitions; higher is faster): the
//! difference is **faster** or **slower** only when it exceeds the spread of
//! the repetitions on either side (`(max − min) / median`), and at least
//! [`MIN_DIFFERENCE`]; otherwise it is **within noise**. A case measured
//! once on a side has no spread there: [`SINGLE_REP_NOISE`] stands in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use record::fmt::{fmt_ratio, fmt_si};

use crate::Report;
use crate::markdown::Table;
use crate::merge::{Case, SeriesKey};

/// The smallest difference ever called faster or slower.
pub const MIN_DIFFERENCE: f64 = 0.05;
/// The noise assumed for a side measured once (no spread to measure): the
/// 1.07–1.21× spread of identical sequential runs seen on the 16-CPU VM.
pub const SINGLE_REP_NOISE: f64 = 0.20;

/// How two measurements of one case compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// B is faster than A beyond the noise.
    Faster,
    /// B is slower than A beyond the noise.
    Slower,
    /// The difference is within the noise of the repetitions.
    WithinNoise,
}

impl Change {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Change::Faster => "faster",
            Change::Slower => "slower",
            Change::WithinNoise => "within noise",
        }
    }
}

/// The noise of one side: its repetitions' relative spread of ops/s.
fn noise(c: &Case) -> f64 {
    if c.reps < 2 {
        SINGLE_REP_NOISE
    } else {
        c.ops_per_s_spread.relative()
    }
}

/// How `b` compares with `a` (both the same case): by their median ops/s.
pub fn change(a: &Case, b: &Case) -> (f64, Change) {
    let (x, y) = (a.ops_per_s_spread.median, b.ops_per_s_spread.median);
    let ratio = if x > 0.0 { y / x } else { f64::NAN };
    let threshold = noise(a).max(noise(b)).max(MIN_DIFFERENCE);
    let c = if !ratio.is_finite() || (ratio - 1.0).abs() <= threshold {
        Change::WithinNoise
    } else if ratio > 1.0 {
        Change::Faster
    } else {
        Change::Slower
    };
    (ratio, c)
}

/// A side's name in the tables: its machine, else `A` or `B`.
fn side_name(r: &Report, fallback: &str) -> String {
    match r.machines.as_slice() {
        [one] => format!("{fallback}: {one}"),
        _ => fallback.to_string(),
    }
}

/// The comparison as Markdown: counts, the claims, then every case both measured.
pub fn markdown(a: &Report, b: &Report, a_path: &str, b_path: &str) -> String {
    let (na, nb) = (side_name(a, "A"), side_name(b, "B"));
    let mut s = String::from("# conpar comparison\n\n");
    let _ = writeln!(
        s,
        "- A: `{a_path}` — {} records, {} cases",
        a.provenance.records,
        a.cases.len()
    );
    let _ = writeln!(
        s,
        "- B: `{b_path}` — {} records, {} cases\n",
        b.provenance.records,
        b.cases.len()
    );

    let index = |r: &Report| -> BTreeMap<(SeriesKey, u64), usize> {
        r.cases
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.key.without_machine(), c.cores), i))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let mut rows = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, &i) in &ia {
        let Some(&j) = ib.get(key) else {
            continue;
        };
        let (ca, cb) = (&a.cases[i], &b.cases[j]);
        let (ratio, c) = change(ca, cb);
        *counts.entry(c.word()).or_default() += 1;
        rows.push(vec![
            ca.key.experiment.clone(),
            ca.key.binary.clone(),
            ca.key.label(),
            ca.cores.to_string(),
            fmt_si(ca.ops_per_s_spread.median),
            fmt_si(cb.ops_per_s_spread.median),
            fmt_ratio(ratio),
            format!("{:.0} % / {:.0} %", 100.0 * noise(ca), 100.0 * noise(cb)),
            c.word().to_string(),
        ]);
    }
    let only = |x: &BTreeMap<(SeriesKey, u64), usize>, y: &BTreeMap<(SeriesKey, u64), usize>| {
        x.keys().filter(|k| !y.contains_key(*k)).count()
    };
    let _ = writeln!(
        s,
        "{} cases in both: {} faster, {} slower, {} within noise (B against A, by median ops/s; a difference counts \
         when it exceeds both runs' spread of repetitions and {:.0} %); {} only in A, {} only in B.\n",
        rows.len(),
        counts.get("faster").unwrap_or(&0),
        counts.get("slower").unwrap_or(&0),
        counts.get("within noise").unwrap_or(&0),
        100.0 * MIN_DIFFERENCE,
        only(&ia, &ib),
        only(&ib, &ia)
    );

    s.push_str("## Claims\n\n");
    let mut t = Table::new(&["claim", &na, &nb, "changed"]);
    for (ca, cb) in a.claims.iter().zip(&b.claims) {
        let show = |c: &crate::claims::ClaimRow| match &c.reason {
            Some(r) => format!("{}: {r}", c.status.word()),
            None => c.status.word().to_string(),
        };
        t.row(vec![
            format!("{} {}", ca.id(), ca.statement),
            show(ca),
            show(cb),
            if ca.status == cb.status {
                "no"
            } else {
                "**yes**"
            }
            .to_string(),
        ]);
    }
    s.push_str(&t.render());

    s.push_str("\n## Cases\n\n");
    let ops_a = format!(">{na} ops/s");
    let ops_b = format!(">{nb} ops/s");
    let mut t = Table::new(&[
        "experiment",
        "binary",
        "case",
        ">cores",
        &ops_a,
        &ops_b,
        ">B / A",
        ">noise A / B",
        "verdict",
    ]);
    rows.into_iter().for_each(|r| t.row(r));
    s.push_str(&t.render());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::Spread;

    fn case(median: f64, spread: f64, reps: usize) -> Case {
        Case {
            key: SeriesKey {
                machine: String::new(),
                experiment: "cpu".into(),
                binary: "thread".into(),
                model: "rayon".into(),
                variant: String::new(),
                work: String::new(),
            },
            cores: 2,
            parallelism: 2,
            reps,
            ops: 1,
            wall_ns: 1,
            ops_per_s_spread: Spread {
                min: median * (1.0 - spread / 2.0),
                median,
                max: median * (1.0 + spread / 2.0),
            },
            wall_ns_spread: Spread {
                min: 1.0,
                median: 1.0,
                max: 1.0,
            },
            histogram: None,
            p50_spread: None,
            figures: BTreeMap::new(),
            checksums: Default::default(),
            same_ops: true,
            max_rss_bytes: 0.0,
            taken: 0.0,
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn differences_beyond_the_spread_count() {
        assert_eq!(
            change(&case(100.0, 0.04, 3), &case(103.0, 0.04, 3)).1,
            Change::WithinNoise
        );
        assert_eq!(
            change(&case(100.0, 0.04, 3), &case(130.0, 0.04, 3)).1,
            Change::Faster
        );
        assert_eq!(
            change(&case(100.0, 0.04, 3), &case(70.0, 0.04, 3)).1,
            Change::Slower
        );
        // A wide spread on either side swallows the same difference.
        assert_eq!(
            change(&case(100.0, 0.5, 3), &case(130.0, 0.04, 3)).1,
            Change::WithinNoise
        );
        // Measured once: the assumed noise stands in.
        assert_eq!(
            change(&case(100.0, 0.0, 1), &case(115.0, 0.0, 1)).1,
            Change::WithinNoise
        );
        assert_eq!(
            change(&case(100.0, 0.0, 1), &case(150.0, 0.0, 1)).1,
            Change::Faster
        );
    }
}

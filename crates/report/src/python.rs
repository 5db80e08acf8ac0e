//! "Python beside Rust": the same work per kind of unit, CPython's best model
//! beside the best Rust model — `cpu` and `gil` speedups at each core count,
//! spawn cost, switch cost (`pingpong`), memory per unit — from the merged
//! cases, so a reader of the notes sees `threading`, `multiprocessing` and
//! `asyncio` next to Rust's threads, processes and tasks.
//!
//! A case's kind of unit is its `unit` parameter (every Python record has
//! one), else its binary's (`thread`, `process`, `coroutine`). A Python
//! binary is one whose name starts with `python` (`python`, and
//! `python-nogil` for an interpreter without the GIL: a column of its own).

use std::collections::BTreeSet;

use record::fmt::{fmt_bytes, fmt_ns, fmt_ratio};

use crate::Report;
use crate::claims::MEMORY_FIGURES;
use crate::markdown::Table;
use crate::merge::Case;

/// Kinds of unit, heaviest first.
const KINDS: [&str; 3] = ["process", "thread", "coroutine"];

/// Whether a binary runs Python.
pub fn is_python(binary: &str) -> bool {
    binary.starts_with("python")
}

/// What is compared, how it reads and which way is better.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// The in-run speedup over `sequential` (higher is better).
    Speedup,
    /// Nanoseconds (lower is better).
    Ns,
    /// Bytes (lower is better).
    Bytes,
}

impl Measure {
    fn show(self, v: f64) -> String {
        match self {
            Measure::Speedup => fmt_ratio(v),
            Measure::Ns => fmt_ns(v),
            Measure::Bytes => fmt_bytes(v),
        }
    }

    fn better(self, a: f64, b: f64) -> bool {
        match self {
            Measure::Speedup => a > b,
            Measure::Ns | Measure::Bytes => a < b,
        }
    }
}

/// One comparison: its rows' name, measure, and the cases it draws from
/// with their value.
struct Line<'a> {
    what: String,
    measure: Measure,
    values: Vec<(&'a Case, f64)>,
}

fn unit_of(c: &Case) -> String {
    c.params
        .get("unit")
        .and_then(|v| v.as_str())
        .map_or_else(|| c.key.binary.clone(), str::to_string)
}

fn placement_of(c: &Case) -> String {
    c.params
        .get("placement")
        .and_then(|v| v.as_str())
        .map_or_else(|| c.key.variant.clone(), str::to_string)
}

/// The speedup lines of `experiment` (`cpu`, `gil`): one per core count above
/// one, balanced work where there is any. In `gil` the Rust side is its
/// emulation of the GIL (one lock around every task), not the same threads
/// without it (`no-gil-threads`).
fn speedups<'a>(r: &'a Report, experiment: &str) -> Vec<Line<'a>> {
    let cases: Vec<&Case> = r
        .cases
        .iter()
        .filter(|c| c.key.experiment == experiment && c.key.model != "sequential")
        .filter(|c| experiment != "gil" || !c.key.model.starts_with("no-gil"))
        .collect();
    let balanced = cases.iter().any(|c| c.key.variant == "balanced");
    let cores: BTreeSet<u64> = cases.iter().map(|c| c.cores).filter(|&n| n > 1).collect();
    cores
        .into_iter()
        .map(|n| Line {
            what: format!("{experiment} speedup, {n} cores"),
            measure: Measure::Speedup,
            values: cases
                .iter()
                .filter(|c| c.cores == n && (!balanced || c.key.variant == "balanced"))
                .filter_map(|c| Some((*c, c.figure("speedup")?)))
                .collect(),
        })
        .collect()
}

/// The lines of the cost experiments: spawn p50, pingpong p50 per placement,
/// memory per unit.
fn costs(r: &Report) -> Vec<Line<'_>> {
    let of = |e: &'static str| r.cases.iter().filter(move |c| c.key.experiment == e);
    let mut lines = vec![Line {
        what: "spawn, p50".into(),
        measure: Measure::Ns,
        values: of("spawn")
            .filter_map(|c| Some((c, c.quantile_ns(0.5)? as f64)))
            .collect(),
    }];
    let places: BTreeSet<String> = of("pingpong").map(placement_of).collect();
    for place in places {
        lines.push(Line {
            what: format!("pingpong round trip, p50, {place}"),
            measure: Measure::Ns,
            values: of("pingpong")
                .filter(|c| placement_of(c) == place)
                .filter_map(|c| Some((c, c.quantile_ns(0.5)? as f64)))
                .collect(),
        });
    }
    lines.push(Line {
        what: "memory per unit".into(),
        measure: Measure::Bytes,
        values: of("memory")
            .filter_map(|c| Some((c, MEMORY_FIGURES.iter().find_map(|f| c.figure(f))?)))
            .collect(),
    });
    lines
}

/// The best of `values` for which `keep` holds.
fn best<'a>(
    m: Measure,
    values: &[(&'a Case, f64)],
    keep: impl Fn(&Case) -> bool,
) -> Option<(&'a Case, f64)> {
    values
        .iter()
        .filter(|(c, _)| keep(c))
        .copied()
        .reduce(|a, b| if m.better(b.1, a.1) { b } else { a })
}

/// The section, or nothing when no Python record was read.
pub fn section(r: &Report) -> String {
    match table(r) {
        Some(t) => format!("\n## Python beside Rust\n\n{INTRO}\n{}", t.render()),
        None => String::new(),
    }
}

/// The table of the section, `None` when no Python binary ran.
pub fn table(r: &Report) -> Option<Table> {
    let pythons: BTreeSet<&str> = r
        .cases
        .iter()
        .map(|c| c.key.binary.as_str())
        .filter(|b| is_python(b))
        .collect();
    if pythons.is_empty() {
        return None;
    }
    let mut lines = speedups(r, "cpu");
    lines.extend(speedups(r, "gil"));
    lines.extend(costs(r));
    let mut t = Table::new(&[
        "what",
        "unit",
        "Python model",
        ">Python",
        "Rust model",
        ">Rust",
        ">Python ÷ Rust",
    ]);
    for line in &lines {
        for kind in KINDS {
            let rust = best(line.measure, &line.values, |c| {
                !is_python(&c.key.binary) && unit_of(c) == kind
            });
            for py in &pythons {
                let Some((pc, pv)) = best(line.measure, &line.values, |c| {
                    c.key.binary == *py && unit_of(c) == kind
                }) else {
                    continue;
                };
                let (rust_label, rust_value, ratio) = match rust {
                    Some((rc, rv)) => (
                        format!("{} {}", rc.key.binary, rc.key.label()),
                        line.measure.show(rv),
                        fmt_ratio(pv / rv.max(f64::MIN_POSITIVE)),
                    ),
                    None => ("-".into(), "-".into(), "-".into()),
                };
                t.row(vec![
                    line.what.clone(),
                    kind.to_string(),
                    format!("{} {}", pc.key.binary, pc.key.label()),
                    line.measure.show(pv),
                    rust_label,
                    rust_value,
                    ratio,
                ]);
            }
        }
    }
    Some(t)
}

/// What the section's table shows, in Markdown.
pub const INTRO: &str = "The same work in CPython (`threading`, `multiprocessing`, `asyncio`, run by the `python` binary) and in Rust,
per kind of unit: the best Python model beside the best Rust model of that kind (fastest, cheapest, smallest).
Speedups are over the run's own `sequential` model (balanced work); under the GIL CPython's threads stay near 1×
while its processes scale, and `gil` puts CPython's real GIL beside Rust's emulation of it (one lock around every
task: `gil-threads`, and `gil-processes` with a lock each); an interpreter without the GIL (a free-threaded build,
rows `python-nogil`) runs the same threads in parallel. A Python unit of work is the same kernel as Rust's, about a
hundred times slower, so speedups compare and times per unit of work do not; spawn, switch and memory costs
compare directly.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_binaries_and_measures() {
        assert!(is_python("python") && is_python("python-nogil") && !is_python("thread"));
        assert!(Measure::Speedup.better(2.0, 1.0) && Measure::Ns.better(1.0, 2.0));
        assert_eq!(Measure::Bytes.show(2048.0), fmt_bytes(2048.0));
    }
}

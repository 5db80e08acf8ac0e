//! The claims table: one row per claim C1–C13, its verdict and the numbers
//! behind it.
//!
//! The rules are the catalogue's (`record::claims`, one module per claim):
//! this module only gathers what they judge from the records and the merged
//! cases — the binaries' own verdicts ([`claims::from_verdicts`]), and the
//! numbers of the comparisons no single binary can see (the `across` rule of
//! C3, C5, C7, C8, C10 and C12) — and lets each claim's [`Source`] say which
//! decides. A claim with no record is "not measured", naming what must run.

use std::collections::{BTreeMap, BTreeSet};

use record::claims::{
    self, Claim, Judged, Measured, Point, Seen, Source, c3, c4, c5, c7, c8, c10, c12,
};

pub use record::claims::Status;

use crate::SeenVerdict;
use crate::merge::Case;
use crate::scaling::Series;

/// Memory figures that mean "resident bytes per live unit", in order of preference.
pub const MEMORY_FIGURES: &[&str] = &[
    "bytes_per_unit",
    "bytes_per_task",
    "rss_bytes_per_unit",
    "pss_bytes_per_unit",
];

/// One row of the claims table.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// The claim.
    pub claim: Claim,
    /// The claim, short.
    pub statement: &'static str,
    /// The verdict.
    pub status: Status,
    /// The numbers behind it.
    pub evidence: String,
    /// Where the verdict comes from and by which rule.
    pub basis: String,
    /// Why it is inconclusive, with the number that made it so.
    pub reason: Option<String>,
}

impl ClaimRow {
    /// `C1`…`C13`.
    pub fn id(&self) -> &'static str {
        self.claim.id()
    }
}

/// What the claims of one machine are decided from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The machine, by label.
    pub machine: &'a str,
    /// The machine as the cases' keys name it (empty with one machine).
    pub machine_key: &'a str,
    /// The binaries' own verdicts, of every machine.
    pub verdicts: &'a [SeenVerdict],
    /// The merged cases, of every machine.
    pub cases: &'a [Case],
    /// The series measured at several core counts, of every machine.
    pub series: &'a [Series],
}

impl<'a> Inputs<'a> {
    /// This machine's cases.
    fn mine(&self) -> impl Iterator<Item = &'a Case> + 'a {
        let key = self.machine_key;
        self.cases.iter().filter(move |c| c.key.machine == key)
    }
}

/// The claims table, C1 to C13.
pub fn claims(inp: Inputs<'_>) -> Vec<ClaimRow> {
    Claim::ALL
        .into_iter()
        .map(|claim| {
            let recorded = claims::from_verdicts(&seen(claim, &inp));
            let computed = match claim.source() {
                Source::Records => None,
                _ => computed(claim, inp),
            };
            let decided = claims::judge(claim, recorded, computed)
                .unwrap_or_else(|| claims::not_measured(claim, &ran(claim, &inp)));
            ClaimRow {
                claim,
                statement: claim.statement(),
                status: decided.status,
                evidence: decided.evidence,
                basis: decided.basis,
                reason: decided.reason,
            }
        })
        .collect()
}

/// The binaries' verdicts on `claim` on this machine, in record order.
fn seen<'a>(claim: Claim, inp: &Inputs<'a>) -> Vec<Seen<'a>> {
    inp.verdicts
        .iter()
        .filter(|v| v.claim == claim && v.machine == inp.machine)
        .map(|v| Seen {
            experiment: &v.experiment,
            binary: &v.binary,
            cores: v.cores,
            seed_case: claim == Claim::C4 && c4::is_seed_case(v.cores, v.orders),
            outcome: v.outcome,
            reason: v.reason.as_deref(),
            text: &v.text,
        })
        .collect()
}

/// `binary experiment` of every case of the claim's experiments on this machine.
fn ran(claim: Claim, inp: &Inputs<'_>) -> Vec<String> {
    let have: BTreeSet<String> = inp
        .mine()
        .filter(|c| claim.experiments().contains(&c.key.experiment.as_str()))
        .map(|c| format!("{} {}", c.key.binary, c.key.experiment))
        .collect();
    have.into_iter().collect()
}

fn computed(claim: Claim, inp: Inputs<'_>) -> Option<Judged> {
    match claim {
        Claim::C3 => c3::across(&scaling(&inp)),
        Claim::C5 => c5::across(&request_ways(&inp)),
        Claim::C7 => {
            let kinds = c7::HEAVY_TO_LIGHT;
            let spawn: Vec<_> = kinds.iter().map(|k| (*k, spawn_cost(&inp, k))).collect();
            let memory: Vec<_> = kinds
                .iter()
                .map(|k| (*k, memory_per_unit(&inp, k)))
                .collect();
            c7::across(&spawn, &memory)
        }
        Claim::C8 => c8::across(&handovers(&inp)),
        Claim::C10 => {
            let memory: Vec<_> = c10::PAIR
                .iter()
                .map(|k| (*k, memory_per_unit(&inp, k)))
                .collect();
            c10::across(&round_trips(&inp), &memory)
        }
        Claim::C12 => c12::across(&served(&inp)),
        _ => None,
    }
}

/// C3's series: every parallel `cpu` model measured from one core up.
fn scaling<'a>(inp: &Inputs<'a>) -> Vec<c3::Scaling<'a>> {
    inp.series
        .iter()
        .filter(|s| s.key.machine == inp.machine_key)
        .filter(|s| s.key.experiment == "cpu" && s.key.model != claims::SEQUENTIAL)
        .filter(|s| s.points[0].cores == 1 && s.speedups().len() >= 2)
        .map(|s| {
            let basis = s.basis.expect("a series with speedups has a basis");
            let last = s.last();
            c3::Scaling {
                binary: &s.key.binary,
                label: s.key.label(),
                variant: &s.key.variant,
                basis: basis.words(),
                speedups: s.speedups(),
                efficiency: last.on(basis).unwrap_or(0.0) / last.parallelism as f64,
                last_cores: last.cores,
                serial_fraction: s.serial_fraction,
                taken: taken_of_series(inp, s),
            }
        })
        .collect()
}

/// C5's ways of making the requests, at the fewest cores measured.
fn request_ways<'a>(inp: &Inputs<'a>) -> Vec<c5::Way<'a>> {
    let req: Vec<&Case> = inp
        .mine()
        .filter(|c| c.key.experiment == "requests" && c.reps > 0)
        .collect();
    let Some(cores) = req.iter().map(|c| c.cores).min() else {
        return Vec::new();
    };
    req.into_iter()
        .filter(|c| c.cores == cores)
        .map(|c| c5::Way {
            binary: &c.key.binary,
            label: c.key.label(),
            wall_ns: c.wall_ns_spread.median,
            requests: c.ops / c.reps as u64,
            delay_ms: c.params.get("delay_ms").and_then(serde_json::Value::as_f64),
            taken: c.taken,
        })
        .collect()
}

/// The kind of unit a case measured: its `unit` parameter (`process`,
/// `thread`, `coroutine`), else the binary's own kind. A binary may measure a
/// reference unit of another kind beside its own (`process spawn` times a
/// thread too, so its C7 ratio comes from one run); those records say so.
fn unit_of(c: &Case) -> String {
    c.param("unit").unwrap_or_else(|| c.key.binary.clone())
}

/// The cheapest way to create a unit of one kind: the lowest merged p50 over the `spawn` cases of that kind.
fn spawn_cost(inp: &Inputs<'_>, unit: &str) -> Option<Point> {
    inp.mine()
        .filter(|c| c.key.experiment == "spawn" && unit_of(c) == unit)
        .filter_map(|c| {
            let ns = c
                .quantile_ns(0.5)
                .map(|v| v as f64)
                .or_else(|| (c.ops > 0).then(|| c.wall_ns as f64 / c.ops as f64))?;
            Some(point(ns, c))
        })
        .min_by(|a, b| a.value.total_cmp(&b.value))
}

fn point(value: f64, c: &Case) -> Point {
    Point {
        value,
        label: c.key.label(),
        taken: c.taken,
    }
}

/// The most any point of a series (or the run's sequential model at those
/// core counts) lost to other programs.
fn taken_of_series(inp: &Inputs<'_>, s: &Series) -> f64 {
    inp.mine()
        .filter(|c| {
            c.key.experiment == s.key.experiment
                && c.key.binary == s.key.binary
                && c.key.variant == s.key.variant
                && (c.key.model == s.key.model || c.key.model == claims::SEQUENTIAL)
                && s.points.iter().any(|p| p.cores == c.cores)
        })
        .map(|c| c.taken)
        .fold(0.0, f64::max)
}

/// The least memory per live unit of one kind (median over repetitions).
fn memory_per_unit(inp: &Inputs<'_>, unit: &str) -> Option<Point> {
    inp.mine()
        .filter(|c| c.key.experiment == "memory" && unit_of(c) == unit)
        .filter_map(|c| {
            let v = MEMORY_FIGURES.iter().find_map(|f| c.figure(f))?;
            Some(point(v, c))
        })
        .min_by(|a, b| a.value.total_cmp(&b.value))
}

/// C10's round trips: the fastest `pingpong` of threads and of coroutines, per placement.
fn round_trips<'a>(inp: &Inputs<'a>) -> Vec<(String, Vec<Measured<'static>>)> {
    let mut placements: BTreeMap<String, Vec<Measured<'static>>> = BTreeMap::new();
    for c in inp.mine().filter(|c| c.key.experiment == "pingpong") {
        let unit = unit_of(c);
        let Some(b) = c10::PAIR.iter().copied().find(|b| *b == unit) else {
            continue;
        };
        let Some(p50) = c.quantile_ns(0.5) else {
            continue;
        };
        let place = c
            .param("placement")
            .unwrap_or_else(|| c.key.variant.clone());
        let slot = placements.entry(place).or_default();
        match slot.iter_mut().find(|(bin, _)| *bin == b) {
            Some((_, Some(best))) if best.value <= p50 as f64 => {}
            Some((_, v)) => *v = Some(point(p50 as f64, c)),
            None => slot.push((b, Some(point(p50 as f64, c)))),
        }
    }
    placements.into_iter().collect()
}

/// C8's hand-overs: every `share` case with its rate and what it copied.
fn handovers<'a>(inp: &Inputs<'a>) -> Vec<c8::Handover<'a>> {
    inp.mine()
        .filter(|c| c.key.experiment == "share")
        .filter_map(|c| {
            Some(c8::Handover {
                binary: &c.key.binary,
                label: c.key.label(),
                bytes: c.param_u64("bytes")?,
                placement: c.param("placement").unwrap_or_default(),
                bytes_per_s: c.figure("bytes_per_s")?,
                bytes_copied: c.figure("bytes_copied_per_transfer")?,
                taken: c.taken,
            })
        })
        .collect()
}

/// C12's echo cases that served requests.
fn served<'a>(inp: &Inputs<'a>) -> Vec<c12::Served<'a>> {
    inp.mine()
        .filter(|c| c.key.experiment == "echo" && c.ops > 0)
        .map(|c| c12::Served {
            binary: &c.key.binary,
            label: c.key.label(),
            connections: c.param_u64("connections"),
            requests_per_s: c.ops_per_s(),
            p99_ns: c.quantile_ns(0.99).map(|v| v as f64),
            rss_bytes: c.max_rss_bytes,
        })
        .collect()
}

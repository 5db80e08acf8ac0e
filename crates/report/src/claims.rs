//! The claims table: one row per claim C1–C12, its verdict and the numbers
//! behind it.
//!
//! Two sources, and a fixed rule for each:
//!
//! - **The binaries' own verdicts** (`record.verdict`), computed by a binary
//!   from one repetition's numbers. A claim seen in many records (repetitions,
//!   core counts, binaries) is decided per experiment at the *largest core
//!   count where some record decides it* (the seed's own case first, where a
//!   claim names one: C4 is "3 cores × 100 orders each"): it **holds** if it
//!   held in every one of those records, **does not hold** if in none, and is
//!   **mixed** otherwise, always with "held in k of n". Experiments of one
//!   claim (C6: `stall` and `wouldblock`) are combined the same way.
//! - **Verdicts computed here**, for what no single binary can see: C3
//!   (scaling across the sweep's core counts), C7 (process vs thread vs
//!   coroutine), C10 (coroutine vs thread), C12 (the server binaries side by
//!   side). They decide their claim; the binaries' own verdicts are shown
//!   beside them. For C5 and C8 the binaries' verdicts decide, and a verdict
//!   computed here from the records' numbers stands in when no record has one.
//!
//! Nothing is hard-coded: every verdict is a comparison of measured numbers,
//! and a claim with no record is "not measured", naming what must run.

use std::collections::{BTreeMap, BTreeSet};

use crate::fmt::{fmt_bytes, fmt_ns, fmt_num, fmt_ratio, fmt_si};
use crate::load::Loaded;
use crate::merge::Case;
use crate::scaling::Series;

/// Efficiency at the largest core count for C3 to hold; the threshold of the binaries' own verdicts.
pub const C3_MIN_EFFICIENCY: f64 = harness::verdicts::C3_MIN_EFFICIENCY;

/// Memory figures that mean "resident bytes per live unit", in order of preference.
pub const MEMORY_FIGURES: &[&str] = &[
    "bytes_per_unit",
    "bytes_per_task",
    "rss_bytes_per_unit",
    "pss_bytes_per_unit",
];

/// Unit kinds from heaviest to lightest, as C7 claims.
const HEAVY_TO_LIGHT: &[&str] = &["process", "thread", "coroutine"];

/// The verdict of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every deciding record (or the computed comparison) bears it out.
    Holds,
    /// None does.
    DoesNotHold,
    /// Some do and some do not.
    Mixed,
    /// No record decides it.
    NotMeasured,
}

impl Status {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::DoesNotHold => "does not hold",
            Status::Mixed => "mixed",
            Status::NotMeasured => "not measured",
        }
    }

    fn of(k: usize, n: usize) -> Status {
        match k {
            _ if n == 0 => Status::NotMeasured,
            0 => Status::DoesNotHold,
            k if k == n => Status::Holds,
            _ => Status::Mixed,
        }
    }

    fn combine(all: impl IntoIterator<Item = Status>) -> Status {
        let mut it = all.into_iter();
        match it.next() {
            None => Status::NotMeasured,
            Some(first) if it.all(|s| s == first) => first,
            Some(_) => Status::Mixed,
        }
    }
}

/// One row of the claims table.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// `C1`…`C12`.
    pub id: &'static str,
    /// The claim, short.
    pub claim: &'static str,
    /// The verdict.
    pub status: Status,
    /// The numbers behind it.
    pub evidence: String,
    /// Where the verdict comes from and by which rule.
    pub basis: String,
}

/// Which source decides a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The binaries' own verdicts.
    Records,
    /// Computed here; the binaries' verdicts shown beside.
    Computed,
    /// The binaries' verdicts, or computed here when no record has one.
    RecordsThenComputed,
}

struct Def {
    id: &'static str,
    claim: &'static str,
    experiments: &'static [&'static str],
    needs: &'static str,
    source: Source,
}

const CLAIMS: &[Def] = &[
    Def {
        id: "C1",
        claim: "Concurrency overlaps waiting, even on one core",
        experiments: &["kitchen"],
        needs: "kitchen on 1 core",
        source: Source::Records,
    },
    Def {
        id: "C2",
        claim: "Concurrency alone does not speed up computation",
        experiments: &["cpu"],
        needs: "cpu on 1 core",
        source: Source::Records,
    },
    Def {
        id: "C3",
        claim: "Parallelism speeds up computation with cores",
        experiments: &["cpu"],
        needs: "cpu at 1 core and at more",
        source: Source::Computed,
    },
    Def {
        id: "C4",
        claim: "Parallelism and concurrency coexist (3 cores × 100 orders)",
        experiments: &["kitchen"],
        needs: "kitchen on 2 or more cores",
        source: Source::Records,
    },
    Def {
        id: "C5",
        claim: "Sync waits, async does not",
        experiments: &["requests"],
        needs: "requests from blocking-io, coroutine and thread",
        source: Source::RecordsThenComputed,
    },
    Def {
        id: "C6",
        claim: "Blocking stalls the caller; non-blocking returns at once",
        experiments: &["stall", "wouldblock"],
        needs: "coroutine stall and nonblocking-socket wouldblock",
        source: Source::Records,
    },
    Def {
        id: "C7",
        claim: "Processes are heavier than threads, threads than coroutines",
        experiments: &["spawn", "memory"],
        needs: "spawn and memory from two or more of process, thread, coroutine",
        source: Source::Computed,
    },
    Def {
        id: "C8",
        claim: "Threads share memory; processes must copy or map it",
        experiments: &["share"],
        needs: "share from thread and process",
        source: Source::RecordsThenComputed,
    },
    Def {
        id: "C9",
        claim: "Shared memory brings synchronization problems",
        experiments: &["race"],
        needs: "race",
        source: Source::Records,
    },
    Def {
        id: "C10",
        claim: "Coroutines are lighter than threads",
        experiments: &["pingpong", "memory"],
        needs: "pingpong and memory from coroutine and thread",
        source: Source::Computed,
    },
    Def {
        id: "C11",
        claim: "\"Parallelism = multiprocessing\" comes from the GIL",
        experiments: &["gil"],
        needs: "gil on 2 or more cores",
        source: Source::Records,
    },
    Def {
        id: "C12",
        claim: "A server can block per thread or run an event loop",
        experiments: &["echo"],
        needs: "echo from blocking-io and a non-blocking or async server",
        source: Source::Computed,
    },
];

/// What the claims are decided from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Every record read.
    pub loaded: &'a [Loaded],
    /// The merged cases.
    pub cases: &'a [Case],
    /// The series measured at several core counts.
    pub series: &'a [Series],
}

struct Decided {
    status: Status,
    evidence: String,
    basis: String,
}

/// The claims table, C1 to C12.
pub fn claims(inp: Inputs<'_>) -> Vec<ClaimRow> {
    CLAIMS
        .iter()
        .map(|d| {
            let records = from_records(d, inp.loaded);
            let computed = match d.source {
                Source::Records => None,
                _ => computed(d.id, inp),
            };
            let decided = match d.source {
                Source::Records => records,
                Source::Computed => match (computed, records) {
                    (Some(mut c), Some(r)) => {
                        c.basis = format!("{}; the binaries' own verdicts: {}", c.basis, r.basis);
                        Some(c)
                    }
                    (c, r) => c.or(r),
                },
                Source::RecordsThenComputed => records.or(computed),
            }
            .unwrap_or_else(|| not_measured(d, inp.loaded));
            ClaimRow {
                id: d.id,
                claim: d.claim,
                status: decided.status,
                evidence: decided.evidence,
                basis: decided.basis,
            }
        })
        .collect()
}

fn not_measured(d: &Def, loaded: &[Loaded]) -> Decided {
    let have: BTreeSet<String> = loaded
        .iter()
        .filter(|l| d.experiments.contains(&l.record.experiment.as_str()))
        .map(|l| format!("{} {}", l.record.binary, l.record.experiment))
        .collect();
    let have = if have.is_empty() {
        "none of its experiments ran".to_string()
    } else {
        format!(
            "ran: {}, which decide(s) nothing alone",
            have.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    Decided {
        status: Status::NotMeasured,
        evidence: String::new(),
        basis: format!("needs {}; {have}", d.needs),
    }
}

/// The seed's own case, where a claim names one: C4 is 3 cores × 100 orders.
fn seed_case(id: &str, l: &Loaded) -> bool {
    id == "C4" && l.cores() == 3 && l.record.param_u64("orders") == Some(300)
}

/// The binaries' verdicts on `d`, by the rule in the module documentation.
fn from_records(d: &Def, loaded: &[Loaded]) -> Option<Decided> {
    let mut by_exp: BTreeMap<&str, Vec<&Loaded>> = BTreeMap::new();
    for l in loaded {
        if l.record.verdict.as_ref().is_some_and(|v| v.claim == d.id) {
            by_exp.entry(&l.record.experiment).or_default().push(l);
        }
    }
    if by_exp.is_empty() {
        return None;
    }
    let (mut statuses, mut evidence, mut basis) = (Vec::new(), Vec::new(), Vec::new());
    for (exp, recs) in by_exp {
        let seed: Vec<&Loaded> = recs
            .iter()
            .copied()
            .filter(|l| seed_case(d.id, l))
            .collect();
        let (pool, which) = if seed.is_empty() {
            (recs, "")
        } else {
            (seed, ", the seed's case")
        };
        let cores = pool.iter().map(|l| l.cores()).max().expect("not empty");
        let deciding: Vec<&Loaded> = pool.into_iter().filter(|l| l.cores() == cores).collect();
        let k = deciding
            .iter()
            .filter(|l| l.record.verdict.as_ref().is_some_and(|v| v.holds))
            .count();
        let n = deciding.len();
        statuses.push(Status::of(k, n));
        // One sentence per binary: its latest deciding record's.
        let mut last: BTreeMap<&str, &Loaded> = BTreeMap::new();
        for l in &deciding {
            last.insert(&l.record.binary, l);
        }
        for (bin, l) in last {
            let v = l.record.verdict.as_ref().expect("filtered on verdict");
            let word = if v.holds { "" } else { " (does not hold)" };
            evidence.push(format!("{bin} {exp}{word}: {}", v.text));
        }
        basis.push(format!(
            "{exp} at {cores} core(s){which}: held in {k} of {n} run(s)"
        ));
    }
    Some(Decided {
        status: Status::combine(statuses),
        evidence: evidence.join("; "),
        basis: basis.join("; "),
    })
}

fn computed(id: &str, inp: Inputs<'_>) -> Option<Decided> {
    match id {
        "C3" => c3(inp),
        "C5" => c5(inp),
        "C7" => c7(inp),
        "C8" => c8(inp),
        "C10" => c10(inp),
        "C12" => c12(inp),
        _ => None,
    }
}

/// The first record of a case, for its parameters.
fn first<'a>(inp: &Inputs<'a>, c: &Case) -> &'a Loaded {
    &inp.loaded[c.records[0]]
}

fn param_text(l: &Loaded, key: &str) -> Option<String> {
    l.record.params.get(key).map(crate::merge::param_text)
}

/// C3: the best parallel model of each binary's `cpu` across the sweep's core counts.
fn c3(inp: Inputs<'_>) -> Option<Decided> {
    let cpu: Vec<&Series> = inp
        .series
        .iter()
        .filter(|s| s.key.experiment == "cpu" && s.key.model != "sequential")
        .filter(|s| s.points[0].cores == 1 && s.speedups().len() >= 2)
        .collect();
    let balanced = cpu.iter().any(|s| s.key.variant == "balanced");
    let at_most = |s: &Series| s.speedups().last().map_or(0.0, |x| x.1);
    let mut best: BTreeMap<&str, &Series> = BTreeMap::new();
    for s in cpu
        .into_iter()
        .filter(|s| !balanced || s.key.variant == "balanced")
    {
        let b = best.entry(&s.key.binary).or_insert(s);
        if at_most(s) > at_most(b) {
            *b = s;
        }
    }
    if best.is_empty() {
        return None;
    }
    let mut statuses = Vec::new();
    let mut evidence = Vec::new();
    for (bin, s) in best {
        let basis = s.basis.expect("a series with speedups has a basis");
        let speedups = s.speedups();
        let grows = speedups.windows(2).all(|w| w[1].1 > w[0].1);
        let last = s.last();
        let eff = last.on(basis).unwrap_or(0.0) / last.parallelism as f64;
        statuses.push(if grows && eff >= C3_MIN_EFFICIENCY {
            Status::Holds
        } else {
            Status::DoesNotHold
        });
        let cores: Vec<String> = speedups.iter().map(|p| p.0.to_string()).collect();
        let xs: Vec<String> = speedups.iter().map(|p| fmt_ratio(p.1)).collect();
        evidence.push(format!(
            "{bin} {}: {} {} at {} cores; efficiency {} at {}{}; serial fraction {}",
            s.key.label(),
            xs.join(", "),
            basis.words(),
            cores.join(", "),
            fmt_num(eff),
            last.cores,
            if grows {
                ""
            } else {
                " (speedup did not grow at every step)"
            },
            crate::fmt::opt(s.serial_fraction, fmt_num)
        ));
    }
    Some(Decided {
        status: Status::combine(statuses),
        evidence: evidence.join("; "),
        basis: format!(
            "computed by report from each binary's fastest parallel cpu model at the most cores: holds when its speedup \
             (over the run's sequential model where recorded, else over its own 1-core run) grows at every core count \
             and efficiency at the most cores is at least {C3_MIN_EFFICIENCY:.2}"
        ),
    })
}

/// A binary's measured value and the model that gave it, if it measured one.
type Measured<'a> = (&'a str, Option<(f64, String)>);

/// The kind of unit a case measured: its `unit` parameter (`process`,
/// `thread`, `coroutine`), else the binary's own kind. A binary may measure a
/// reference unit of another kind beside its own (`process spawn` times a
/// thread too, so its C7 ratio comes from one run); those records say so.
fn unit_of(inp: &Inputs<'_>, c: &Case) -> String {
    param_text(first(inp, c), "unit").unwrap_or_else(|| c.key.binary.clone())
}

/// The cheapest way to create a unit of one kind: the lowest merged p50 over the `spawn` cases of that kind.
fn spawn_cost(inp: &Inputs<'_>, unit: &str) -> Option<(f64, String)> {
    inp.cases
        .iter()
        .filter(|c| c.key.experiment == "spawn" && unit_of(inp, c) == unit)
        .filter_map(|c| {
            let ns = c
                .quantile_ns(0.5)
                .map(|v| v as f64)
                .or_else(|| (c.ops > 0).then(|| c.wall_ns as f64 / c.ops as f64))?;
            Some((ns, c.key.label()))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// The least memory per live unit of one kind (median over repetitions).
fn memory_per_unit(inp: &Inputs<'_>, unit: &str) -> Option<(f64, String)> {
    inp.cases
        .iter()
        .filter(|c| c.key.experiment == "memory" && unit_of(inp, c) == unit)
        .filter_map(|c| {
            let v = MEMORY_FIGURES.iter().find_map(|f| c.figure(f))?;
            Some((v, c.key.label()))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// Compares one quantity across unit kinds that must be strictly decreasing
/// in `order`; `None` with fewer than two measured.
fn ordered(
    what: &str,
    order: &[&str],
    values: &[Measured<'_>],
    show: fn(f64) -> String,
) -> Option<(bool, String)> {
    let have: Vec<(&str, f64, &str)> = order
        .iter()
        .filter_map(|k| {
            values
                .iter()
                .find(|(b, _)| b == k)
                .and_then(|(b, v)| v.as_ref().map(|(x, m)| (*b, *x, m.as_str())))
        })
        .collect();
    if have.len() < 2 {
        return None;
    }
    let holds = have.windows(2).all(|w| w[0].1 > w[1].1);
    let list: Vec<String> = have
        .iter()
        .map(|(b, x, m)| format!("{b} {} ({m})", show(*x)))
        .collect();
    let ratios: Vec<String> = have
        .windows(2)
        .map(|w| format!("{}/{} {}", w[0].0, w[1].0, fmt_ratio(w[0].1 / w[1].1)))
        .collect();
    let missing: Vec<&str> = order
        .iter()
        .copied()
        .filter(|k| !have.iter().any(|h| h.0 == *k))
        .collect();
    let missing = if missing.is_empty() {
        String::new()
    } else {
        format!(" ({} not measured)", missing.join(", "))
    };
    Some((
        holds,
        format!(
            "{what}: {}; {}{missing}",
            list.join(", "),
            ratios.join(", ")
        ),
    ))
}

fn parts_decided(parts: Vec<(bool, String)>, basis: String) -> Option<Decided> {
    if parts.is_empty() {
        return None;
    }
    let holds = parts.iter().all(|p| p.0);
    Some(Decided {
        status: if holds {
            Status::Holds
        } else if parts.iter().any(|p| p.0) {
            Status::Mixed
        } else {
            Status::DoesNotHold
        },
        evidence: parts
            .into_iter()
            .map(|p| p.1)
            .collect::<Vec<_>>()
            .join("; "),
        basis,
    })
}

/// C7: creation cost and memory per unit, process > thread > coroutine.
fn c7(inp: Inputs<'_>) -> Option<Decided> {
    let spawn: Vec<_> = HEAVY_TO_LIGHT
        .iter()
        .map(|b| (*b, spawn_cost(&inp, b)))
        .collect();
    let memory: Vec<_> = HEAVY_TO_LIGHT
        .iter()
        .map(|b| (*b, memory_per_unit(&inp, b)))
        .collect();
    let parts: Vec<(bool, String)> = [
        ordered("spawn p50", HEAVY_TO_LIGHT, &spawn, fmt_ns),
        ordered("memory per unit", HEAVY_TO_LIGHT, &memory, fmt_bytes),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts_decided(
        parts,
        "computed by report: the cheapest spawn model (merged p50) and the smallest memory per unit of each kind \
         of unit (records' `unit`, else their binary); holds when both fall strictly from process to thread to \
         coroutine (mixed when one does)"
            .into(),
    )
}

/// C10: coroutine vs thread, round trip per placement and memory per unit.
fn c10(inp: Inputs<'_>) -> Option<Decided> {
    let pair = ["thread", "coroutine"];
    let mut placements: BTreeMap<String, Vec<Measured<'_>>> = BTreeMap::new();
    for c in inp.cases.iter().filter(|c| c.key.experiment == "pingpong") {
        let unit = unit_of(&inp, c);
        let Some(b) = pair.iter().copied().find(|b| *b == unit) else {
            continue;
        };
        let Some(p50) = c.quantile_ns(0.5) else {
            continue;
        };
        let place =
            param_text(first(&inp, c), "placement").unwrap_or_else(|| c.key.variant.clone());
        let slot = placements.entry(place).or_default();
        match slot.iter_mut().find(|(bin, _)| *bin == b) {
            Some((_, Some(best))) if best.0 <= p50 as f64 => {}
            Some((_, v)) => *v = Some((p50 as f64, c.key.label())),
            None => slot.push((b, Some((p50 as f64, c.key.label())))),
        }
    }
    let mut parts: Vec<(bool, String)> = placements
        .iter()
        .filter_map(|(place, v)| ordered(&format!("pingpong p50 ({place})"), &pair, v, fmt_ns))
        .collect();
    let memory: Vec<_> = pair
        .iter()
        .map(|b| (*b, memory_per_unit(&inp, b)))
        .collect();
    parts.extend(ordered("memory per unit", &pair, &memory, fmt_bytes));
    parts_decided(
        parts,
        "computed by report: the fastest pingpong model per placement (merged p50 round trip) and the smallest \
         memory per unit of threads and of coroutines (records' `unit`, else their binary); holds when the \
         coroutine is cheaper in every comparison"
            .into(),
    )
}

/// C12: the echo servers side by side at the most connections every server binary served.
fn c12(inp: Inputs<'_>) -> Option<Decided> {
    let echo: Vec<(&Case, Option<u64>)> = inp
        .cases
        .iter()
        .filter(|c| c.key.experiment == "echo" && c.ops > 0)
        .map(|c| (c, first(&inp, c).record.param_u64("connections")))
        .collect();
    let binaries: BTreeSet<&str> = echo.iter().map(|(c, _)| c.key.binary.as_str()).collect();
    if !binaries.contains("blocking-io") || binaries.len() < 2 {
        return None;
    }
    // The largest connection count that every server binary measured.
    let conns = binaries
        .iter()
        .map(|b| {
            echo.iter()
                .filter(|(c, _)| c.key.binary == *b)
                .map(|(_, n)| *n)
                .collect::<BTreeSet<_>>()
        })
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .and_then(|common| common.into_iter().max())?;
    let mut lines = Vec::new();
    for b in &binaries {
        let best = echo
            .iter()
            .filter(|(c, n)| c.key.binary == *b && *n == conns)
            .max_by(|x, y| x.0.ops_per_s().total_cmp(&y.0.ops_per_s()))
            .map(|(c, _)| *c)?;
        lines.push(format!(
            "{b} {}: {} req/s, p99 {}, RSS {}",
            best.key.label(),
            fmt_si(best.ops_per_s()),
            crate::fmt::opt(best.quantile_ns(0.99).map(|v| v as f64), fmt_ns),
            fmt_bytes(best.max_rss_bytes)
        ));
    }
    let at = conns.map_or_else(String::new, |n| format!("at {n} connections, "));
    Some(Decided {
        status: Status::Holds,
        evidence: format!("{at}{}", lines.join("; ")),
        basis: "computed by report: holds when a blocking server (blocking-io) and a non-blocking or async one both served \
                the same echo load with verified bytes; shown: each binary's fastest model at the most connections all served"
            .into(),
    })
}

/// C5 when no binary decided it: the slowest and fastest way to make the same requests.
fn c5(inp: Inputs<'_>) -> Option<Decided> {
    let req: Vec<&Case> = inp
        .cases
        .iter()
        .filter(|c| c.key.experiment == "requests" && c.reps > 0)
        .collect();
    let cores = req.iter().map(|c| c.cores).min()?;
    let req: Vec<&Case> = req.into_iter().filter(|c| c.cores == cores).collect();
    if req.len() < 2 {
        return None;
    }
    let wall = |c: &Case| c.wall_ns_spread.median;
    let slow = req.iter().max_by(|a, b| wall(a).total_cmp(&wall(b)))?;
    let fast = req.iter().min_by(|a, b| wall(a).total_cmp(&wall(b)))?;
    let n = slow.ops / slow.reps as u64;
    let ratio = wall(slow) / wall(fast).max(1.0);
    let delay = first(&inp, slow)
        .record
        .params
        .get("delay_ms")
        .and_then(serde_json::Value::as_f64);
    let nd = delay.map_or_else(String::new, |d| {
        format!(
            " (N·d = {n} × {} = {})",
            fmt_num(d),
            fmt_ns(n as f64 * d * 1e6)
        )
    });
    Some(Decided {
        status: if n >= 2 && ratio >= n as f64 / 2.0 {
            Status::Holds
        } else {
            Status::DoesNotHold
        },
        evidence: format!(
            "{n} requests: slowest {} {} {}{nd}, fastest {} {} {}: {} apart",
            slow.key.binary,
            slow.key.label(),
            fmt_ns(wall(slow)),
            fast.key.binary,
            fast.key.label(),
            fmt_ns(wall(fast)),
            fmt_ratio(ratio)
        ),
        basis: "computed by report (no binary decided it): holds when the slowest way to make the N requests took at least \
                N/2 times as long as the fastest (N·d against d)"
            .into(),
    })
}

/// C8 when no binary decided it: zero-copy hand-over against copying, at the largest size both measured.
fn c8(inp: Inputs<'_>) -> Option<Decided> {
    // (bytes, placement) -> (zero-copy best, copying best)
    type Best<'a> = Option<(f64, &'a Case)>;
    let mut at: BTreeMap<(u64, String), (Best<'_>, Best<'_>)> = BTreeMap::new();
    for c in inp.cases.iter().filter(|c| c.key.experiment == "share") {
        let l = first(&inp, c);
        let (Some(bytes), Some(bps), Some(copied)) = (
            l.record.param_u64("bytes"),
            c.figure("bytes_per_s"),
            c.figure("bytes_copied_per_transfer"),
        ) else {
            continue;
        };
        let place = param_text(l, "placement").unwrap_or_default();
        let slot = at.entry((bytes, place)).or_default();
        let side = if copied == 0.0 {
            &mut slot.0
        } else {
            &mut slot.1
        };
        if side.is_none_or(|(b, _)| bps > b) {
            *side = Some((bps, c));
        }
    }
    let ((bytes, place), (Some(zero), Some(copy))) = at
        .into_iter()
        .filter(|(_, (z, c))| z.is_some() && c.is_some())
        .max_by_key(|((b, p), _)| (*b, p == "same-cpu"))?
    else {
        return None;
    };
    let show =
        |(bps, c): (f64, &Case)| format!("{} {} {}B/s", c.key.binary, c.key.label(), fmt_si(bps));
    Some(Decided {
        status: if zero.0 > copy.0 {
            Status::Holds
        } else {
            Status::DoesNotHold
        },
        evidence: format!(
            "{} bytes{}: without copying {}; copying {}: {}",
            bytes,
            if place.is_empty() { String::new() } else { format!(" ({place})") },
            show(zero),
            show(copy),
            fmt_ratio(zero.0 / copy.0)
        ),
        basis: "computed by report (no binary decided it): holds when the fastest hand-over that copies no byte \
                (bytes_copied_per_transfer = 0) beats the fastest that copies, at the largest size both measured"
            .into(),
    })
}

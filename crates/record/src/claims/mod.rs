//! The claims catalogue: every claim of the seed notes (C1–C12), what it
//! says, which experiments decide it, and its rule with its margins — one
//! module per claim, used by the binaries (a case's own verdict) and by
//! `report` (the verdict over many records) alike. No threshold of a claim is
//! written anywhere else.
//!
//! A rule is a pure function: numbers in, a [`Verdict`](crate::Verdict) (one
//! case) or a [`Judged`] row (many records) out, `None` when the numbers that
//! decide it are not there. Its sentence is built from the numbers it judged.
//!
//! How a claim is decided over many records ([`Source`]):
//! - **the binaries' own verdicts** ([`from_verdicts`]): a claim seen in many
//!   records (repetitions, core counts, binaries) is decided per experiment at
//!   the *largest core count where some record decides it* (the seed's own
//!   case first, where a claim names one: C4 is "3 cores × 100 orders each"):
//!   it **holds** if it held in every one of those records, **does not hold**
//!   if in none, and is **mixed** otherwise, always with "held in k of n".
//!   Experiments of one claim (C6: `stall` and `wouldblock`) are combined the
//!   same way;
//! - **computed across binaries** (`across` in C3, C5, C7, C8, C10, C12): what
//!   no single binary can see (scaling across core counts, process vs thread
//!   vs coroutine, the server binaries side by side).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod c1;
pub mod c10;
pub mod c11;
pub mod c12;
pub mod c2;
pub mod c3;
pub mod c4;
pub mod c5;
pub mod c6;
pub mod c7;
pub mod c8;
pub mod c9;

/// The name every binary gives its sequential baseline model.
pub const SEQUENTIAL: &str = "sequential";

/// A claim of the seed notes (`seeds/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Claim {
    /// Concurrency overlaps waiting, even on one core.
    C1,
    /// Concurrency alone does not speed up computation.
    C2,
    /// Parallelism speeds up computation with cores.
    C3,
    /// Parallelism and concurrency coexist (3 cores × 100 orders).
    C4,
    /// Sync waits, async does not.
    C5,
    /// Blocking stalls the caller; non-blocking returns at once.
    C6,
    /// Processes are heavier than threads, threads than coroutines.
    C7,
    /// Threads share memory; processes must copy or map it.
    C8,
    /// Shared memory brings synchronization problems.
    C9,
    /// Coroutines are lighter than threads.
    C10,
    /// "Parallelism = multiprocessing" comes from the GIL.
    C11,
    /// A server can block per thread or run an event loop.
    C12,
}

/// Which source decides a claim over many records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The binaries' own verdicts.
    Records,
    /// Computed across binaries; the binaries' verdicts shown beside.
    Computed,
    /// The binaries' verdicts, or computed across binaries when no record has one.
    RecordsThenComputed,
}

/// What the catalogue knows of a claim besides its rule.
struct Entry {
    statement: &'static str,
    experiments: &'static [&'static str],
    needs: &'static str,
    source: Source,
}

impl Claim {
    /// Every claim, in order.
    pub const ALL: [Claim; 12] = [
        Claim::C1,
        Claim::C2,
        Claim::C3,
        Claim::C4,
        Claim::C5,
        Claim::C6,
        Claim::C7,
        Claim::C8,
        Claim::C9,
        Claim::C10,
        Claim::C11,
        Claim::C12,
    ];

    /// `C1`…`C12`.
    pub fn id(self) -> &'static str {
        match self {
            Claim::C1 => "C1",
            Claim::C2 => "C2",
            Claim::C3 => "C3",
            Claim::C4 => "C4",
            Claim::C5 => "C5",
            Claim::C6 => "C6",
            Claim::C7 => "C7",
            Claim::C8 => "C8",
            Claim::C9 => "C9",
            Claim::C10 => "C10",
            Claim::C11 => "C11",
            Claim::C12 => "C12",
        }
    }

    fn entry(self) -> Entry {
        let e = |statement, experiments, needs, source| Entry {
            statement,
            experiments,
            needs,
            source,
        };
        match self {
            Claim::C1 => e(
                "Concurrency overlaps waiting, even on one core",
                &["kitchen"],
                "kitchen on 1 core",
                Source::Records,
            ),
            Claim::C2 => e(
                "Concurrency alone does not speed up computation",
                &["cpu"],
                "cpu on 1 core",
                Source::Records,
            ),
            Claim::C3 => e(
                "Parallelism speeds up computation with cores",
                &["cpu"],
                "cpu at 1 core and at more",
                Source::Computed,
            ),
            Claim::C4 => e(
                "Parallelism and concurrency coexist (3 cores × 100 orders)",
                &["kitchen"],
                "kitchen on 2 or more cores",
                Source::Records,
            ),
            Claim::C5 => e(
                "Sync waits, async does not",
                &["requests"],
                "requests from blocking-io, coroutine and thread",
                Source::RecordsThenComputed,
            ),
            Claim::C6 => e(
                "Blocking stalls the caller; non-blocking returns at once",
                &["stall", "wouldblock"],
                "coroutine stall and nonblocking-socket wouldblock",
                Source::Records,
            ),
            Claim::C7 => e(
                "Processes are heavier than threads, threads than coroutines",
                &["spawn", "memory"],
                "spawn and memory from two or more of process, thread, coroutine",
                Source::Computed,
            ),
            Claim::C8 => e(
                "Threads share memory; processes must copy or map it",
                &["share"],
                "share from thread and process",
                Source::RecordsThenComputed,
            ),
            Claim::C9 => e(
                "Shared memory brings synchronization problems",
                &["race"],
                "race",
                Source::Records,
            ),
            Claim::C10 => e(
                "Coroutines are lighter than threads",
                &["pingpong", "memory"],
                "pingpong and memory from coroutine and thread",
                Source::Computed,
            ),
            Claim::C11 => e(
                "\"Parallelism = multiprocessing\" comes from the GIL",
                &["gil"],
                "gil on 2 or more cores",
                Source::Records,
            ),
            Claim::C12 => e(
                "A server can block per thread or run an event loop",
                &["echo"],
                "echo from blocking-io and a non-blocking or async server",
                Source::Computed,
            ),
        }
    }

    /// The claim, short, as the notes make it.
    pub fn statement(self) -> &'static str {
        self.entry().statement
    }

    /// The experiments whose records decide it.
    pub fn experiments(self) -> &'static [&'static str] {
        self.entry().experiments
    }

    /// What must run for it to be decided, for "not measured".
    pub fn needs(self) -> &'static str {
        self.entry().needs
    }

    /// Which source decides it over many records.
    pub fn source(self) -> Source {
        self.entry().source
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Claim {
    type Err = String;

    fn from_str(s: &str) -> Result<Claim, String> {
        Claim::ALL
            .into_iter()
            .find(|c| c.id() == s)
            .ok_or_else(|| format!("'{s}' is not a claim (C1 to C12)"))
    }
}

/// The verdict on a claim over many records.
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

    /// `k` of `n` deciding records held.
    pub fn of(k: usize, n: usize) -> Status {
        match k {
            _ if n == 0 => Status::NotMeasured,
            0 => Status::DoesNotHold,
            k if k == n => Status::Holds,
            _ => Status::Mixed,
        }
    }

    /// One status from several: the common one, else mixed.
    pub fn combine(all: impl IntoIterator<Item = Status>) -> Status {
        let mut it = all.into_iter();
        match it.next() {
            None => Status::NotMeasured,
            Some(first) if it.all(|s| s == first) => first,
            Some(_) => Status::Mixed,
        }
    }
}

/// A claim decided over many records: its status, the numbers behind it, and
/// where it comes from by which rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The verdict.
    pub status: Status,
    /// The numbers behind it.
    pub evidence: String,
    /// Where the verdict comes from and by which rule.
    pub basis: String,
}

/// A binary's own verdict, as a record carries it, with what the rule over
/// many records needs to know of the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen<'a> {
    /// The record's experiment.
    pub experiment: &'a str,
    /// The record's binary.
    pub binary: &'a str,
    /// The record's core count.
    pub cores: u64,
    /// Whether the record is the seed's own case of the claim (C4: [`c4::is_seed_case`]).
    pub seed_case: bool,
    /// Whether it held.
    pub holds: bool,
    /// Its sentence.
    pub text: &'a str,
}

/// The binaries' verdicts on a claim, by the rule in the module
/// documentation; `None` when no record decides it. `seen` holds only the
/// verdicts on this claim, in the order the records were read.
pub fn from_verdicts(seen: &[Seen<'_>]) -> Option<Judged> {
    let mut by_exp: BTreeMap<&str, Vec<&Seen<'_>>> = BTreeMap::new();
    for s in seen {
        by_exp.entry(s.experiment).or_default().push(s);
    }
    if by_exp.is_empty() {
        return None;
    }
    let (mut statuses, mut evidence, mut basis) = (Vec::new(), Vec::new(), Vec::new());
    for (exp, recs) in by_exp {
        let seed: Vec<&Seen<'_>> = recs.iter().copied().filter(|s| s.seed_case).collect();
        let (pool, which) = if seed.is_empty() {
            (recs, "")
        } else {
            (seed, ", the seed's case")
        };
        let cores = pool.iter().map(|s| s.cores).max().expect("not empty");
        let deciding: Vec<&Seen<'_>> = pool.into_iter().filter(|s| s.cores == cores).collect();
        let k = deciding.iter().filter(|s| s.holds).count();
        let n = deciding.len();
        statuses.push(Status::of(k, n));
        // One sentence per binary: its latest deciding record's.
        let mut last: BTreeMap<&str, &Seen<'_>> = BTreeMap::new();
        for s in &deciding {
            last.insert(s.binary, s);
        }
        for (bin, s) in last {
            let word = if s.holds { "" } else { " (does not hold)" };
            evidence.push(format!("{bin} {exp}{word}: {}", s.text));
        }
        basis.push(format!(
            "{exp} at {cores} core(s){which}: held in {k} of {n} run(s)"
        ));
    }
    Some(Judged {
        status: Status::combine(statuses),
        evidence: evidence.join("; "),
        basis: basis.join("; "),
    })
}

/// The claim's row from its two sources, as its [`Source`] says; `None` when
/// neither decides it.
pub fn judge(claim: Claim, recorded: Option<Judged>, computed: Option<Judged>) -> Option<Judged> {
    match claim.source() {
        Source::Records => recorded,
        Source::Computed => match (computed, recorded) {
            (Some(mut c), Some(r)) => {
                c.basis = format!("{}; the binaries' own verdicts: {}", c.basis, r.basis);
                Some(c)
            }
            (c, r) => c.or(r),
        },
        Source::RecordsThenComputed => recorded.or(computed),
    }
}

/// A claim nothing decided: what it needs, and which of its experiments ran
/// (`ran`: `binary experiment`, sorted, no repeats).
pub fn not_measured(claim: Claim, ran: &[String]) -> Judged {
    let have = if ran.is_empty() {
        "none of its experiments ran".to_string()
    } else {
        format!("ran: {}, which decide(s) nothing alone", ran.join(", "))
    };
    Judged {
        status: Status::NotMeasured,
        evidence: String::new(),
        basis: format!("needs {}; {have}", claim.needs()),
    }
}

/// One kind's measured value and the case that gave it (its label), if it
/// measured one: `(kind, Some((value, label)))`.
pub type Measured<'a> = (&'a str, Option<(f64, String)>);

/// Compares one quantity across kinds that must be strictly decreasing in
/// `order`; `None` with fewer than two measured. Returns whether it holds
/// and the sentence.
pub fn ordered(
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
        .map(|w| {
            format!(
                "{}/{} {}",
                w[0].0,
                w[1].0,
                crate::fmt::fmt_ratio(w[0].1 / w[1].1)
            )
        })
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

/// A row from comparisons that must all hold: holds when all do, mixed when
/// some do; `None` without any.
pub fn all_parts(parts: Vec<(bool, String)>, basis: String) -> Option<Judged> {
    if parts.is_empty() {
        return None;
    }
    let holds = parts.iter().all(|p| p.0);
    Some(Judged {
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

/// `a 0.98×, b 1.02×`.
fn list(speedups: &[(&str, f64)]) -> String {
    speedups
        .iter()
        .map(|(m, x)| format!("{m} {x:.2}×"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of `model` among the `(model, value)` measured so far.
fn find(values: &[(&str, f64)], model: &str) -> Option<f64> {
    values.iter().find(|w| w.0 == model).map(|w| w.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for c in Claim::ALL {
            assert_eq!(c.id().parse::<Claim>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Claim>(&json).unwrap(), c);
            assert!(!c.statement().is_empty() && !c.experiments().is_empty());
        }
        assert!("C99".parse::<Claim>().is_err());
    }

    fn seen(exp: &'static str, cores: u64, holds: bool) -> Seen<'static> {
        Seen {
            experiment: exp,
            binary: "thread",
            cores,
            seed_case: false,
            holds,
            text: "numbers",
        }
    }

    #[test]
    fn verdicts_are_decided_at_the_most_cores() {
        let j = from_verdicts(&[seen("cpu", 1, false), seen("cpu", 2, true)]).unwrap();
        assert_eq!(j.status, Status::Holds);
        assert!(
            j.basis.contains("at 2 core(s): held in 1 of 1"),
            "{}",
            j.basis
        );
        let j = from_verdicts(&[seen("cpu", 2, false), seen("cpu", 2, true)]).unwrap();
        assert_eq!(j.status, Status::Mixed);
        assert!(from_verdicts(&[]).is_none());
        let mut seed = seen("kitchen", 3, true);
        seed.seed_case = true;
        let j = from_verdicts(&[seed, seen("kitchen", 16, false)]).unwrap();
        assert_eq!(j.status, Status::Holds, "the seed's case decides");
    }

    #[test]
    fn sources_pick_their_rows() {
        let row = |s| Judged {
            status: s,
            evidence: String::new(),
            basis: "b".into(),
        };
        let r = judge(
            Claim::C3,
            Some(row(Status::Mixed)),
            Some(row(Status::Holds)),
        )
        .unwrap();
        assert_eq!(r.status, Status::Holds);
        assert!(r.basis.contains("own verdicts"));
        let r = judge(
            Claim::C5,
            Some(row(Status::Mixed)),
            Some(row(Status::Holds)),
        )
        .unwrap();
        assert_eq!(r.status, Status::Mixed);
        assert!(judge(Claim::C1, None, Some(row(Status::Holds))).is_none());
    }
}

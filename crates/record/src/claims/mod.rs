//! The claims catalogue: every claim of the seed notes (C1–C13), what it
//! says, which experiments decide it, and its rule with its margins — one
//! module per claim, used by the binaries (a case's own verdict) and by
//! `report` (the verdict over many records) alike. No threshold of a claim is
//! written anywhere else.
//!
//! A rule is a pure function: numbers in, a [`Verdict`](crate::Verdict) (one
//! case) or a [`Judged`] row (many records) out, `None` when the numbers that
//! decide it are not there. Its sentence is built from the numbers it judged
//! and chosen by what they say. There are three outcomes: **holds**, **does
//! not hold**, and **inconclusive**, which always names the measured number
//! that made it so. A rule first compares the effect with its margin; then
//! [`noise::weigh`] looks at what the compared cases suffered from other
//! programs (their share of the CPUs taken, steal): a comparison that failed
//! while the CPUs were busy is inconclusive, never "does not hold", and on an
//! idle machine a contradicted claim still says "does not hold". Claims with
//! their own kind of noise weigh it in their rule (C6: the tail percentile
//! rests on at least ten samples; C9: the racing threads must have met).
//!
//! How a claim is decided over many records ([`Source`]):
//! - **the binaries' own verdicts** ([`from_verdicts`]): a claim seen in many
//!   records (repetitions, core counts, binaries) is decided per experiment at
//!   the *largest core count where some record decides it* (the seed's own
//!   case first, where a claim names one: C4 is "3 cores × 100 orders each"),
//!   by the **majority of its repetitions** (the median one, with three): it
//!   holds when more than half held, does not hold when more than half did
//!   not, and is inconclusive otherwise — one outlier never decides. The
//!   experiments of one claim (C6: `stall` and `wouldblock`) must all hold;
//!   one that does not hold decides; else it is inconclusive;
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
pub mod c13;
pub mod c2;
pub mod c3;
pub mod c4;
pub mod c5;
pub mod c6;
pub mod c7;
pub mod c8;
pub mod c9;
pub mod noise;

pub use crate::verdict::Outcome;

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
    /// Blocking/non-blocking and sync/async are different axes.
    C13,
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
    pub const ALL: [Claim; 13] = [
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
        Claim::C13,
    ];

    /// `C1`…`C13`.
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
            Claim::C13 => "C13",
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
            Claim::C13 => e(
                "Blocking/non-blocking and sync/async are different axes",
                &["quadrants"],
                "nonblocking-socket quadrants",
                Source::Records,
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
            .ok_or_else(|| format!("'{s}' is not a claim (C1 to C13)"))
    }
}

/// The verdict on a claim over many records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The deciding records (or the computed comparison) bear it out.
    Holds,
    /// They contradict it, and nothing measured explains that away.
    DoesNotHold,
    /// They could not show it either way; [`Judged::reason`] says why.
    Inconclusive,
    /// No record decides it.
    NotMeasured,
}

impl Status {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::DoesNotHold => "does not hold",
            Status::Inconclusive => "inconclusive",
            Status::NotMeasured => "not measured",
        }
    }

    /// The status of one outcome.
    pub fn of(o: Outcome) -> Status {
        match o {
            Outcome::Holds => Status::Holds,
            Outcome::DoesNotHold => Status::DoesNotHold,
            Outcome::Inconclusive => Status::Inconclusive,
        }
    }

    /// One status from the parts a claim needs all of: any that does not
    /// hold decides; all holding hold; anything else is inconclusive.
    pub fn all(parts: impl IntoIterator<Item = Status>) -> Status {
        let parts: Vec<Status> = parts.into_iter().collect();
        if parts.is_empty() {
            Status::NotMeasured
        } else if parts.contains(&Status::DoesNotHold) {
            Status::DoesNotHold
        } else if parts.iter().all(|s| *s == Status::Holds) {
            Status::Holds
        } else {
            Status::Inconclusive
        }
    }
}

/// A claim decided over many records: its status, the numbers behind it,
/// why it is inconclusive, and where it comes from by which rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The verdict.
    pub status: Status,
    /// The numbers behind it.
    pub evidence: String,
    /// Where the verdict comes from and by which rule.
    pub basis: String,
    /// Why it is inconclusive, with the number that made it so.
    pub reason: Option<String>,
}

impl Judged {
    /// A row of `status` with its evidence and basis, and no reason.
    pub fn new(status: Status, evidence: impl Into<String>, basis: impl Into<String>) -> Judged {
        Judged {
            status,
            evidence: evidence.into(),
            basis: basis.into(),
            reason: None,
        }
    }
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
    /// What it said.
    pub outcome: Outcome,
    /// Why it was inconclusive.
    pub reason: Option<&'a str>,
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
    let (mut statuses, mut evidence, mut basis, mut reasons) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (exp, recs) in by_exp {
        let seed: Vec<&Seen<'_>> = recs.iter().copied().filter(|s| s.seed_case).collect();
        let (pool, which) = if seed.is_empty() {
            (recs, "")
        } else {
            (seed, ", the seed's case")
        };
        let cores = pool.iter().map(|s| s.cores).max().expect("not empty");
        let deciding: Vec<&Seen<'_>> = pool.into_iter().filter(|s| s.cores == cores).collect();
        let count = |o: Outcome| deciding.iter().filter(|s| s.outcome == o).count();
        let (h, f, i) = (
            count(Outcome::Holds),
            count(Outcome::DoesNotHold),
            count(Outcome::Inconclusive),
        );
        let n = deciding.len();
        let status = if 2 * f > n {
            Status::DoesNotHold
        } else if 2 * h > n {
            Status::Holds
        } else {
            Status::Inconclusive
        };
        statuses.push(status);
        if status == Status::Inconclusive {
            let why = deciding.iter().find_map(|s| s.reason);
            reasons.push(match why {
                Some(r) if i > 0 => format!("{exp}: {r}"),
                _ => format!(
                    "{exp}: the repetitions disagree (held in {h} of {n}, did not hold in {f})"
                ),
            });
        }
        // One sentence per binary: its latest deciding record's, of the
        // outcome the experiment came to where it has one.
        let mut last: BTreeMap<&str, &Seen<'_>> = BTreeMap::new();
        for s in &deciding {
            let keep = last.get(s.binary).is_none_or(|prev| {
                Status::of(s.outcome) == status || Status::of(prev.outcome) != status
            });
            if keep {
                last.insert(s.binary, s);
            }
        }
        for (bin, s) in last {
            let word = match s.outcome {
                Outcome::Holds => String::new(),
                Outcome::DoesNotHold => " (does not hold)".into(),
                Outcome::Inconclusive => " (inconclusive)".into(),
            };
            evidence.push(format!("{bin} {exp}{word}: {}", s.text));
        }
        let others = match (f, i) {
            (0, 0) => String::new(),
            (f, 0) => format!(", did not hold in {f}"),
            (0, i) => format!(", inconclusive in {i}"),
            (f, i) => format!(", did not hold in {f}, inconclusive in {i}"),
        };
        basis.push(format!(
            "{exp} at {cores} core(s){which}: held in {h} of {n} run(s){others}"
        ));
    }
    let status = Status::all(statuses);
    Some(Judged {
        status,
        evidence: evidence.join("; "),
        basis: basis.join("; "),
        reason: (status == Status::Inconclusive).then(|| reasons.join("; ")),
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
    Judged::new(
        Status::NotMeasured,
        String::new(),
        format!("needs {}; {have}", claim.needs()),
    )
}

/// A merged case's value, its label, and the share of its CPUs other
/// programs took while it ran (the median over its repetitions).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The value compared.
    pub value: f64,
    /// The case (`model variant`).
    pub label: String,
    /// [`Interference::taken_fraction`](crate::Interference::taken_fraction), 0 when not recorded.
    pub taken: f64,
}

/// One kind's measured value, if it measured one: `(kind, Some(point))`.
pub type Measured<'a> = (&'a str, Option<Point>);

/// One comparison of a claim that needs several.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// What it says.
    pub status: Status,
    /// Its sentence.
    pub text: String,
    /// Why it is inconclusive.
    pub reason: Option<String>,
}

/// Compares one quantity across kinds that must be strictly decreasing in
/// `order`; `None` with fewer than two measured. Out of order while a
/// compared case was busy (see [`noise::BUSY_MIN`]) is inconclusive.
pub fn ordered(
    what: &str,
    order: &[&str],
    values: &[Measured<'_>],
    show: fn(f64) -> String,
) -> Option<Part> {
    let have: Vec<(&str, &Point)> = order
        .iter()
        .filter_map(|k| {
            values
                .iter()
                .find(|(b, _)| b == k)
                .and_then(|(b, v)| v.as_ref().map(|p| (*b, p)))
        })
        .collect();
    if have.len() < 2 {
        return None;
    }
    let holds = have.windows(2).all(|w| w[0].1.value > w[1].1.value);
    let list: Vec<String> = have
        .iter()
        .map(|(b, p)| format!("{b} {} ({})", show(p.value), p.label))
        .collect();
    let ratios: Vec<String> = have
        .windows(2)
        .map(|w| {
            format!(
                "{}/{} {}",
                w[0].0,
                w[1].0,
                crate::fmt::fmt_ratio(w[0].1.value / w[1].1.value)
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
    let busiest = have
        .iter()
        .map(|h| h.1)
        .filter(|p| p.taken >= noise::BUSY_MIN)
        .max_by(|a, b| a.taken.total_cmp(&b.taken));
    let (status, reason) = match (holds, busiest) {
        (true, _) => (Status::Holds, None),
        (false, Some(p)) => (
            Status::Inconclusive,
            Some(format!(
                "{what}: other programs took {:.0} % of the CPUs while `{}` ran",
                100.0 * p.taken,
                p.label
            )),
        ),
        (false, None) => (Status::DoesNotHold, None),
    };
    Some(Part {
        status,
        text: format!(
            "{what}: {}; {}{missing}",
            list.join(", "),
            ratios.join(", ")
        ),
        reason,
    })
}

/// A row from comparisons that must all hold (see [`Status::all`]); `None`
/// without any.
pub fn all_parts(parts: Vec<Part>, basis: String) -> Option<Judged> {
    if parts.is_empty() {
        return None;
    }
    let status = Status::all(parts.iter().map(|p| p.status));
    let reasons: Vec<String> = parts.iter().filter_map(|p| p.reason.clone()).collect();
    Some(Judged {
        status,
        evidence: parts
            .into_iter()
            .map(|p| p.text)
            .collect::<Vec<_>>()
            .join("; "),
        basis,
        reason: (status == Status::Inconclusive && !reasons.is_empty()).then(|| reasons.join("; ")),
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
        assert_eq!(Claim::ALL.len(), 13);
        assert_eq!("C13".parse::<Claim>(), Ok(Claim::C13));
        assert_eq!(Claim::C13.experiments(), ["quadrants"]);
        assert_eq!(Claim::C13.source(), Source::Records);
    }

    fn seen(exp: &'static str, cores: u64, outcome: Outcome) -> Seen<'static> {
        Seen {
            experiment: exp,
            binary: "thread",
            cores,
            seed_case: false,
            outcome,
            reason: (outcome == Outcome::Inconclusive).then_some("busy"),
            text: "numbers",
        }
    }

    use Outcome::{DoesNotHold as F, Holds as H, Inconclusive as I};

    #[test]
    fn verdicts_are_decided_at_the_most_cores_by_the_majority() {
        let j = from_verdicts(&[seen("cpu", 1, F), seen("cpu", 2, H)]).unwrap();
        assert_eq!(j.status, Status::Holds);
        assert!(
            j.basis.contains("at 2 core(s): held in 1 of 1"),
            "{}",
            j.basis
        );
        let j = from_verdicts(&[seen("cpu", 2, F), seen("cpu", 2, H), seen("cpu", 2, H)]).unwrap();
        assert_eq!(j.status, Status::Holds, "one outlier does not decide");
        assert!(j.basis.contains("did not hold in 1"), "{}", j.basis);
        let j = from_verdicts(&[seen("cpu", 2, F), seen("cpu", 2, F), seen("cpu", 2, H)]).unwrap();
        assert_eq!(j.status, Status::DoesNotHold);
        let j = from_verdicts(&[seen("cpu", 2, I), seen("cpu", 2, I), seen("cpu", 2, H)]).unwrap();
        assert_eq!(j.status, Status::Inconclusive);
        assert_eq!(j.reason.as_deref(), Some("cpu: busy"));
        let j = from_verdicts(&[seen("cpu", 2, F), seen("cpu", 2, H)]).unwrap();
        assert_eq!(j.status, Status::Inconclusive);
        assert!(j.reason.unwrap().contains("disagree"));
        assert!(from_verdicts(&[]).is_none());
        let mut seed = seen("kitchen", 3, H);
        seed.seed_case = true;
        let j = from_verdicts(&[seed, seen("kitchen", 16, F)]).unwrap();
        assert_eq!(j.status, Status::Holds, "the seed's case decides");
    }

    #[test]
    fn experiments_of_one_claim_must_all_hold() {
        let j = from_verdicts(&[seen("stall", 1, H), seen("wouldblock", 1, I)]).unwrap();
        assert_eq!(j.status, Status::Inconclusive);
        let j = from_verdicts(&[seen("stall", 1, F), seen("wouldblock", 1, I)]).unwrap();
        assert_eq!(j.status, Status::DoesNotHold);
    }

    #[test]
    fn an_ordering_out_of_order_on_busy_cpus_is_inconclusive() {
        let m = |k, v: f64, taken: f64| {
            (
                k,
                Some(Point {
                    value: v,
                    label: format!("{k}-model"),
                    taken,
                }),
            )
        };
        let order = ["process", "thread"];
        let ok = ordered(
            "spawn",
            &order,
            &[m("process", 9.0, 0.0), m("thread", 1.0, 0.0)],
            |x| x.to_string(),
        );
        assert_eq!(ok.unwrap().status, Status::Holds);
        let bad = ordered(
            "spawn",
            &order,
            &[m("process", 1.0, 0.0), m("thread", 9.0, 0.0)],
            |x| x.to_string(),
        );
        assert_eq!(bad.unwrap().status, Status::DoesNotHold);
        let busy = ordered(
            "spawn",
            &order,
            &[m("process", 1.0, 0.0), m("thread", 9.0, 0.5)],
            |x| x.to_string(),
        )
        .unwrap();
        assert_eq!(busy.status, Status::Inconclusive);
        assert!(busy.reason.unwrap().contains("thread-model"));
    }

    #[test]
    fn sources_pick_their_rows() {
        let row = |s| Judged::new(s, "", "b");
        let r = judge(
            Claim::C3,
            Some(row(Status::Inconclusive)),
            Some(row(Status::Holds)),
        )
        .unwrap();
        assert_eq!(r.status, Status::Holds);
        assert!(r.basis.contains("own verdicts"));
        let r = judge(
            Claim::C5,
            Some(row(Status::Inconclusive)),
            Some(row(Status::Holds)),
        )
        .unwrap();
        assert_eq!(r.status, Status::Inconclusive);
        assert!(judge(Claim::C1, None, Some(row(Status::Holds))).is_none());
    }
}

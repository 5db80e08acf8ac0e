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
mod decide;
pub mod noise;

pub use decide::{
    Judged, Measured, Part, Point, Seen, Status, all_parts, from_verdicts, judge, not_measured,
    ordered,
};
use decide::{find, list};

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

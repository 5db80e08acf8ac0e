//! Deciding a claim over many records: the [`Status`] of a claim, the
//! majority of its repetitions ([`from_verdicts`]), a recorded and a
//! computed answer put together ([`judge`]), and the helpers of the rules
//! computed across binaries ([`ordered`], [`all_parts`]).

use std::collections::BTreeMap;

use super::{Claim, Outcome, Source, noise};

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
        .max_by(|a, b| a.taken.total_cmp(&b.taken));
    let (taken, ran) = busiest.map_or((0.0, String::new()), |p| {
        (p.taken, format!("`{}` ran", p.label))
    });
    let (status, reason) = noise::across(holds, taken, &ran);
    let reason = reason.map(|r| format!("{what}: {r}"));
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
pub(super) fn list(speedups: &[(&str, f64)]) -> String {
    speedups
        .iter()
        .map(|(m, x)| format!("{m} {x:.2}×"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of `model` among the `(model, value)` measured so far.
pub(super) fn find(values: &[(&str, f64)], model: &str) -> Option<f64> {
    values.iter().find(|w| w.0 == model).map(|w| w.1)
}

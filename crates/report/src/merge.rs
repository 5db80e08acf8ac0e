//! Merging repetitions: the records of one case become one row, as the
//! records stream by.
//!
//! A *case* here is machine × experiment × binary × model × variant × work ×
//! cores, where *work* names the parameters that split records which would
//! otherwise merge (two `kitchen` runs with 30 and 300 orders), and the
//! machine is named only when the records come from more than one: records
//! of different machines are never merged into one case. Every record of a
//! case counts as one repetition, whatever its `rep` field (sweeps run each
//! repetition as its own process, so every record there has `rep` 0).
//!
//! Two passes over the records, each holding only what it accumulates: a
//! [`Prepass`] finds the machines and the splitting parameters; a [`Merger`]
//! adds each record into its case as it is read — histograms added (never
//! averaged percentiles), one number per repetition kept for the spread —
//! so memory grows with the cases, not with the records.

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;
use record::stats::median;
use record::{Machine, Record};
use serde_json::Value;

/// Parameters that never split a case: `cores` is a key of its own, and the
/// rest follow from it (workers, the CPUs of the two ends).
const NOT_WORK: &[&str] = &["cores", "workers", "cpu_a", "cpu_b"];

/// What identifies a series of cases across core counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The machine, when the report holds more than one (else empty).
    pub machine: String,
    /// Experiment (`cpu`).
    pub experiment: String,
    /// Binary (`thread`).
    pub binary: String,
    /// Model (`rayon`).
    pub model: String,
    /// Variant (`balanced`), may be empty.
    pub variant: String,
    /// The splitting parameters, `key=value` joined by spaces; usually empty.
    pub work: String,
}

impl SeriesKey {
    /// `model variant work`, for legends and messages.
    pub fn label(&self) -> String {
        [&self.model, &self.variant, &self.work]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `variant work`, the column beside the model in tables.
    pub fn case_label(&self) -> String {
        [&self.variant, &self.work]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The same series without its machine: what `--compare` matches on.
    pub fn without_machine(&self) -> SeriesKey {
        SeriesKey {
            machine: String::new(),
            ..self.clone()
        }
    }
}

/// Min, median and max of a quantity across repetitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` if empty.
    pub fn of(values: &[f64]) -> Option<Spread> {
        Some(Spread {
            min: values.iter().copied().reduce(f64::min)?,
            median: median(values)?,
            max: values.iter().copied().reduce(f64::max)?,
        })
    }

    /// `(max − min) / median`: how far repetitions of one case fall apart.
    pub fn relative(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median
        } else {
            0.0
        }
    }
}

/// All repetitions of one case, merged.
#[derive(Debug, Clone)]
pub struct Case {
    /// The series this case belongs to.
    pub key: SeriesKey,
    /// `params.cores`: workers of `--cores N`.
    pub cores: u64,
    /// CPUs the case could use: `min(workers, pinned CPUs)`, where workers is
    /// `params.workers` if recorded (1 for `sequential`), else `cores`.
    pub parallelism: u64,
    /// Number of records merged.
    pub reps: usize,
    /// Operations, summed over repetitions.
    pub ops: u64,
    /// Wall time, summed over repetitions, nanoseconds.
    pub wall_ns: u64,
    /// Spread of each repetition's ops/s.
    pub ops_per_s_spread: Spread,
    /// Spread of each repetition's wall time, nanoseconds.
    pub wall_ns_spread: Spread,
    /// Every repetition's histogram added into one.
    pub histogram: Option<Histogram<u64>>,
    /// Spread of each repetition's median latency, nanoseconds (where they sampled).
    pub p50_spread: Option<Spread>,
    /// Each figure's values, one per repetition that has it.
    pub figures: BTreeMap<String, Vec<f64>>,
    /// Distinct checksums seen (more than one, where every repetition did
    /// as many operations, means the work differed).
    pub checksums: BTreeSet<String>,
    /// Whether every repetition did the same number of operations (an echo
    /// window does not: its checksum covers what was answered).
    pub same_ops: bool,
    /// Median peak RSS of the repetitions, bytes.
    pub max_rss_bytes: f64,
    /// Median share of the case's CPUs that other programs (and steal) took
    /// while a repetition ran; 0 for records without interference (schema 1).
    pub taken: f64,
    /// The parameters of the first record merged.
    pub params: BTreeMap<String, Value>,
}

impl Case {
    /// Operations per second of all repetitions together: total ops over total wall.
    pub fn ops_per_s(&self) -> f64 {
        self.ops as f64 / (self.wall_ns.max(1) as f64 / 1e9)
    }

    /// Median of a figure across repetitions.
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.figures.get(name).and_then(|v| median(v))
    }

    /// A latency quantile of the merged histogram, nanoseconds.
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        self.histogram.as_ref().map(|h| h.value_at_quantile(q))
    }

    /// A parameter as text (strings without their quotes).
    pub fn param(&self, key: &str) -> Option<String> {
        self.params.get(key).map(param_text)
    }

    /// A parameter as an unsigned integer.
    pub fn param_u64(&self, key: &str) -> Option<u64> {
        self.params.get(key).and_then(Value::as_u64)
    }
}

/// A parameter's value as text (strings without their quotes).
pub(crate) fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `params.cores` (the workers of `--cores N`), or the pinned CPU count.
pub fn cores_of(r: &Record) -> u64 {
    r.param_u64("cores").unwrap_or(r.cpus.len() as u64)
}

/// A machine as the report names it: `host, N CPUs`.
pub fn machine_label(m: &Machine) -> String {
    format!("{}, {} CPUs", m.hostname, m.allowed_cpu_count)
}

/// Experiment, binary, model and variant of a record.
type Id = (String, String, String, String);

fn id(r: &Record) -> Id {
    (
        r.experiment.clone(),
        r.binary.clone(),
        r.model.clone(),
        r.variant.clone(),
    )
}

/// The first pass: which machines the records come from, and the parameter
/// names that split otherwise equal series — those with two or more values
/// among records of the same machine, experiment, binary, model, variant
/// *and core count* (two kitchen runs with 3 and 300 orders at 3 cores). A
/// parameter that changes only with the core count (a runtime's
/// `worker_threads`, the CPUs its threads were pinned to) describes how the
/// same work ran on more cores, so it does not break the series.
#[derive(Debug, Default)]
pub struct Prepass {
    machines: BTreeSet<String>,
    values: BTreeMap<(Id, u64), BTreeMap<String, BTreeSet<String>>>,
}

/// What the first pass found, for the second.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every machine, by label.
    pub machines: Vec<String>,
    split: BTreeMap<Id, Vec<String>>,
}

impl Prepass {
    /// Takes one record into account.
    pub fn add(&mut self, r: &Record) {
        self.machines.insert(machine_label(&r.machine));
        let slot = self.values.entry((id(r), cores_of(r))).or_default();
        for (k, v) in &r.params {
            if !NOT_WORK.contains(&k.as_str()) {
                let vals = slot.entry(k.clone()).or_default();
                // Two values are enough to split: no need to keep more.
                if vals.len() < 2 {
                    vals.insert(param_text(v));
                }
            }
        }
    }

    /// The plan of the second pass.
    pub fn finish(self) -> Plan {
        let mut split: BTreeMap<Id, Vec<String>> = BTreeMap::new();
        for ((id, _), params) in self.values {
            let keys = split.entry(id).or_default();
            for (k, vals) in params {
                if vals.len() > 1 && !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        split.values_mut().for_each(|k| k.sort());
        Plan {
            machines: self.machines.into_iter().collect(),
            split,
        }
    }
}

/// One case as its records stream in.
#[derive(Debug, Default)]
struct Acc {
    histogram: Option<Histogram<u64>>,
    figures: BTreeMap<String, Vec<f64>>,
    ops_per_s: Vec<f64>,
    p50s: Vec<f64>,
    walls: Vec<f64>,
    rss: Vec<f64>,
    taken: Vec<f64>,
    checksums: BTreeSet<String>,
    ops: u64,
    ops_seen: BTreeSet<u64>,
    wall_ns: u64,
    pinned: u64,
    workers: Option<u64>,
    params: Option<BTreeMap<String, Value>>,
}

/// The second pass: every record added into its case as it is read.
#[derive(Debug)]
pub struct Merger {
    plan: Plan,
    groups: BTreeMap<(SeriesKey, u64), Acc>,
}

impl Merger {
    /// A merger for the plan of the first pass.
    pub fn new(plan: Plan) -> Merger {
        Merger {
            plan,
            groups: BTreeMap::new(),
        }
    }

    /// The machine label as keys carry it: empty with one machine.
    pub fn machine_key(&self, m: &Machine) -> String {
        if self.plan.machines.len() > 1 {
            machine_label(m)
        } else {
            String::new()
        }
    }

    /// The key of the case `r` belongs to.
    pub fn key(&self, r: &Record) -> SeriesKey {
        let id = id(r);
        let work = self
            .plan
            .split
            .get(&id)
            .map(|keys| {
                keys.iter()
                    .map(|k| {
                        let v = r.params.get(k).map_or("-".to_string(), param_text);
                        format!("{k}={v}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        SeriesKey {
            machine: self.machine_key(&r.machine),
            experiment: id.0,
            binary: id.1,
            model: id.2,
            variant: id.3,
            work,
        }
    }

    /// Adds one record (and its decoded histogram) to its case.
    pub fn add(&mut self, r: &Record, h: Option<Histogram<u64>>) {
        let key = (self.key(r), cores_of(r));
        let acc = self.groups.entry(key).or_default();
        if let Some(h) = h {
            match acc.histogram.as_mut() {
                None => {
                    let mut first = h;
                    first.auto(true);
                    acc.histogram = Some(first);
                }
                // A growing histogram takes any other one's values; only a
                // usize overflow of its bucket count could refuse them.
                Some(total) => total
                    .add(&h)
                    .expect("an auto-resizing histogram accepts every value"),
            }
        }
        for (k, v) in &r.figures {
            acc.figures.entry(k.clone()).or_default().push(*v);
        }
        acc.ops_per_s.push(r.ops_per_s);
        if let Some(l) = &r.latency {
            acc.p50s.push(l.p50_ns as f64);
        }
        acc.walls.push(r.wall_ns as f64);
        acc.rss.push(r.max_rss_bytes as f64);
        acc.taken
            .push(r.interference.map_or(0.0, |i| i.taken_fraction()));
        if let Some(c) = &r.checksum
            && !acc.checksums.contains(c)
        {
            acc.checksums.insert(c.clone());
        }
        acc.ops += r.ops;
        if acc.ops_seen.len() < 2 {
            acc.ops_seen.insert(r.ops);
        }
        acc.wall_ns += r.wall_ns;
        acc.pinned = acc.pinned.max(r.cpus.len() as u64);
        if let Some(w) = r.param_u64("workers") {
            acc.workers = Some(acc.workers.map_or(w, |x| x.max(w)));
        }
        if acc.params.is_none() {
            acc.params = Some(r.params.clone());
        }
    }

    /// The cases, sorted by series key then cores.
    pub fn finish(self) -> Vec<Case> {
        self.groups
            .into_iter()
            .map(|((key, cores), a)| {
                // A model that starts one worker whatever --cores says
                // (`sequential`) records `workers`; it runs on one CPU, not on `cores`.
                let workers = a.workers.unwrap_or(cores);
                Case {
                    key,
                    cores,
                    parallelism: workers.min(a.pinned.max(1)).max(1),
                    reps: a.walls.len(),
                    ops: a.ops,
                    wall_ns: a.wall_ns,
                    ops_per_s_spread: Spread::of(&a.ops_per_s).expect("a case has a record"),
                    wall_ns_spread: Spread::of(&a.walls).expect("a case has a record"),
                    histogram: a.histogram,
                    p50_spread: Spread::of(&a.p50s),
                    figures: a.figures,
                    checksums: a.checksums,
                    same_ops: a.ops_seen.len() <= 1,
                    max_rss_bytes: median(&a.rss).unwrap_or(0.0),
                    taken: median(&a.taken).unwrap_or(0.0),
                    params: a.params.unwrap_or_default(),
                }
            })
            .collect()
    }
}

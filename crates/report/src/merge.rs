//! Merging repetitions: the records of one case become one row.
//!
//! A *case* here is experiment × binary × model × variant × work × cores,
//! where *work* names the parameters that split records which would
//! otherwise merge (two `kitchen` runs with 30 and 300 orders). Every record
//! of a case counts as one repetition, whatever its `rep` field (sweeps run
//! each repetition as its own process, so every record there has `rep` 0).
//!
//! Latencies are merged by adding histograms, never by averaging
//! percentiles; the spread across repetitions is kept apart (the min, median
//! and max of each repetition's ops/s and wall time).

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;
use record::stats::median;
use serde_json::Value;

use crate::load::Loaded;

/// Parameters that never split a case: `cores` is a key of its own, and the
/// rest follow from it (workers, the CPUs of the two ends).
const NOT_WORK: &[&str] = &["cores", "workers", "cpu_a", "cpu_b"];

/// What identifies a series of cases across core counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
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
    /// Each figure's values, one per repetition that has it.
    pub figures: BTreeMap<String, Vec<f64>>,
    /// Distinct checksums seen (more than one means the work differed).
    pub checksums: BTreeSet<String>,
    /// Median peak RSS of the repetitions, bytes.
    pub max_rss_bytes: f64,
    /// Median share of the case's CPUs that other programs (and steal) took
    /// while a repetition ran; 0 for records without interference (schema 1).
    pub taken: f64,
    /// Indices (into the loaded records) of the records merged.
    pub records: Vec<usize>,
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
}

/// A parameter's value as text (strings without their quotes).
pub(crate) fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Experiment, binary, model and variant of a record.
type Id = (String, String, String, String);

fn id(r: &record::Record) -> Id {
    (
        r.experiment.clone(),
        r.binary.clone(),
        r.model.clone(),
        r.variant.clone(),
    )
}

/// The parameter names that split otherwise equal series: those with two or
/// more values among records of the same experiment, binary, model, variant
/// *and core count* (two kitchen runs with 3 and 300 orders at 3 cores).
/// A parameter that changes only with the core count (a runtime's
/// `worker_threads`, the CPUs its threads were pinned to) describes how the
/// same work ran on more cores, so it does not break the series.
fn work_params(loaded: &[Loaded]) -> BTreeMap<Id, Vec<String>> {
    let mut values: BTreeMap<(Id, u64), BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for l in loaded {
        let r = &l.record;
        let slot = values.entry((id(r), l.cores())).or_default();
        for (k, v) in &r.params {
            if !NOT_WORK.contains(&k.as_str()) {
                slot.entry(k.clone()).or_default().insert(param_text(v));
            }
        }
    }
    let mut split: BTreeMap<Id, Vec<String>> = BTreeMap::new();
    for ((id, _), params) in values {
        let keys = split.entry(id).or_default();
        for (k, vals) in params {
            if vals.len() > 1 && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    split.values_mut().for_each(|k| k.sort());
    split
}

/// Merges the records into cases, sorted by series key then cores.
pub fn merge(loaded: &[Loaded]) -> Vec<Case> {
    let split = work_params(loaded);
    let mut groups: BTreeMap<(SeriesKey, u64), Vec<usize>> = BTreeMap::new();
    for (i, l) in loaded.iter().enumerate() {
        let r = &l.record;
        let id = id(r);
        let work = split
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
        let key = SeriesKey {
            experiment: id.0,
            binary: id.1,
            model: id.2,
            variant: id.3,
            work,
        };
        groups.entry((key, l.cores())).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|((key, cores), idx)| merge_case(key, cores, loaded, idx))
        .collect()
}

fn merge_case(key: SeriesKey, cores: u64, loaded: &[Loaded], idx: Vec<usize>) -> Case {
    let recs: Vec<&Loaded> = idx.iter().map(|&i| &loaded[i]).collect();
    let mut histogram: Option<Histogram<u64>> = None;
    for h in recs.iter().filter_map(|l| l.histogram.as_ref()) {
        let acc = histogram.get_or_insert_with(|| {
            let mut acc = record::hist::new();
            acc.auto(true);
            acc
        });
        // A growing histogram takes any other one's values; only a usize
        // overflow of its bucket count could refuse them.
        acc.add(h)
            .expect("an auto-resizing histogram accepts every value");
    }
    let mut figures: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for l in &recs {
        for (k, v) in &l.record.figures {
            figures.entry(k.clone()).or_default().push(*v);
        }
    }
    let ops_per_s: Vec<f64> = recs.iter().map(|l| l.record.ops_per_s).collect();
    let walls: Vec<f64> = recs.iter().map(|l| l.record.wall_ns as f64).collect();
    let rss: Vec<f64> = recs.iter().map(|l| l.record.max_rss_bytes as f64).collect();
    let pinned = recs.iter().map(|l| l.record.cpus.len() as u64).max();
    // A model that starts one worker whatever --cores says (`sequential`)
    // records `workers`; it runs on one CPU, not on `cores`.
    let workers = recs
        .iter()
        .filter_map(|l| l.record.param_u64("workers"))
        .max()
        .unwrap_or(cores);
    Case {
        key,
        cores,
        parallelism: workers.min(pinned.unwrap_or(workers)).max(1),
        reps: recs.len(),
        ops: recs.iter().map(|l| l.record.ops).sum(),
        wall_ns: recs.iter().map(|l| l.record.wall_ns).sum(),
        ops_per_s_spread: Spread::of(&ops_per_s).expect("a case has at least one record"),
        wall_ns_spread: Spread::of(&walls).expect("a case has at least one record"),
        histogram,
        figures,
        checksums: recs
            .iter()
            .filter_map(|l| l.record.checksum.clone())
            .collect(),
        max_rss_bytes: median(&rss).unwrap_or(0.0),
        taken: median(
            &recs
                .iter()
                .map(|l| l.record.interference.map_or(0.0, |i| i.taken_fraction()))
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0),
        records: idx,
    }
}

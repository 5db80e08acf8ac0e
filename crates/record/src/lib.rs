//! What a reader of conpar records needs, and nothing of the measuring side:
//! the [`Record`] (one JSON object per measured case, written as JSON Lines),
//! its histogram encoding ([`hist`]), the [`Machine`] fingerprint, small
//! statistics ([`stats`]), formatting for people ([`fmt`]), and the claims
//! catalogue ([`claims`]): every claim of the seed notes with its statement,
//! the experiments that decide it, and its rule and margins.
//!
//! This crate is the stable boundary between measuring (the concept binaries,
//! through `harness`) and reporting (`report`); `results/README.md` documents
//! the Record field by field. Units are in field names and raw values are
//! nanoseconds and bytes. A change that removes or renames a field bumps
//! [`SCHEMA`]. It has no syscalls, clocks or threads: reading a record pulls
//! in serde and the histogram codec, nothing else.

pub mod claims;
pub mod fmt;
pub mod hist;
pub mod machine;
pub mod stats;
pub mod units;
mod verdict;

pub use claims::Claim;
pub use machine::Machine;
pub use verdict::{Interference, Outcome, Verdict};

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the record format. Schema 2 added `interference` and the
/// verdict's three outcomes (`outcome`, `reason`, `compared` in place of
/// `holds`); schema 1 records are still read.
pub const SCHEMA: u32 = 2;

/// The oldest schema still read.
pub const OLDEST_SCHEMA: u32 = 1;

/// One measured case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Format version, [`SCHEMA`].
    pub schema: u32,
    /// Binary that measured it (`thread`, `process`, `coroutine`…).
    pub binary: String,
    /// Experiment (`spawn`, `cpu`, `kitchen`…), the same name in every binary.
    pub experiment: String,
    /// Model within the binary (`rayon`, `fork-exit`, `tokio-current-thread`…).
    pub model: String,
    /// What else distinguishes the case (`skewed`, `same-cpu`, `1MiB`…); empty if nothing.
    pub variant: String,
    /// Repetition index, from 0.
    pub rep: u32,
    /// Parameters of the case: `cores` (workers), `tasks`, sizes, durations…
    pub params: BTreeMap<String, Value>,
    /// CPUs the process was pinned to.
    pub cpus: Vec<usize>,
    /// Wall time of the measured operation, nanoseconds.
    pub wall_ns: u64,
    /// User CPU time of the case, this process and reaped children, nanoseconds.
    pub cpu_user_ns: u64,
    /// System CPU time of the case, this process and reaped children, nanoseconds.
    pub cpu_sys_ns: u64,
    /// Peak resident memory during the case (this process, or the largest child if larger), bytes.
    pub max_rss_bytes: u64,
    /// Context switches during the case.
    pub ctx_switches: CtxSwitches,
    /// What else ran on the case's CPUs meanwhile (schema 2; absent in schema 1).
    #[serde(default)]
    pub interference: Option<Interference>,
    /// Operations done (samples, tasks, round trips, requests…; the experiment says).
    pub ops: u64,
    /// `ops` per second of `wall_ns`.
    pub ops_per_s: f64,
    /// Digest of the work done (`0x` + 16 hex digits); equal across models that did the same work.
    pub checksum: Option<String>,
    /// Experiment-specific figures, units in their names (`speedup`, `lost_updates`, `bytes_per_s`…).
    pub figures: BTreeMap<String, f64>,
    /// Latency of the samples, when the case takes samples.
    pub latency: Option<Latency>,
    /// The claim this case decides, if any.
    pub verdict: Option<Verdict>,
    /// The harness's own cost per sample (two clock reads and a histogram record), nanoseconds.
    pub harness_overhead_ns: f64,
    /// Where, when and with what code.
    pub machine: Machine,
}

/// Context switches of a case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtxSwitches {
    /// The thread gave up the CPU (it waited).
    pub voluntary: u64,
    /// The scheduler took the CPU away.
    pub involuntary: u64,
}

/// Latency summary and the full histogram of a case's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Number of samples.
    pub samples: u64,
    /// Smallest sample, nanoseconds.
    pub min_ns: u64,
    /// Median, nanoseconds.
    pub p50_ns: u64,
    /// 90th percentile, nanoseconds.
    pub p90_ns: u64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: u64,
    /// 99.9th percentile, nanoseconds.
    pub p999_ns: u64,
    /// Largest sample, nanoseconds.
    pub max_ns: u64,
    /// Mean, nanoseconds.
    pub mean_ns: f64,
    /// Standard deviation, nanoseconds.
    pub stdev_ns: f64,
    /// Encoding of `histogram`: always `hdr-v2-deflate-base64`.
    pub encoding: String,
    /// The whole histogram (nanoseconds), for merging.
    pub histogram: String,
}

impl Latency {
    /// Summarises and encodes a histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> anyhow::Result<Latency> {
        Ok(Latency {
            samples: h.len(),
            min_ns: h.min(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            mean_ns: h.mean(),
            stdev_ns: h.stdev(),
            encoding: hist::ENCODING.to_string(),
            histogram: hist::encode(h)?,
        })
    }

    /// Decodes the full histogram.
    pub fn histogram(&self) -> anyhow::Result<Histogram<u64>> {
        anyhow::ensure!(
            self.encoding == hist::ENCODING,
            "unknown histogram encoding '{}'",
            self.encoding
        );
        hist::decode(&self.histogram)
    }
}

impl Record {
    /// Parses one JSON line of a supported schema ([`OLDEST_SCHEMA`] to
    /// [`SCHEMA`]), refusing any other; a schema 1 verdict's `holds` becomes
    /// its outcome.
    pub fn from_json_line(line: &str) -> anyhow::Result<Record> {
        let mut v: Value =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
        match v.get("schema").and_then(Value::as_u64) {
            Some(1) => upgrade_schema_1(&mut v),
            Some(s) if s == u64::from(SCHEMA) => {}
            Some(s) => anyhow::bail!(
                "record schema {s} is not a supported schema ({OLDEST_SCHEMA} to {SCHEMA})"
            ),
            None => anyhow::bail!("not a conpar record: no \"schema\" field"),
        }
        serde_json::from_value(v).map_err(|e| anyhow::anyhow!("malformed record: {e}"))
    }

    /// One JSON line, without the newline.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("records always serialise")
    }

    /// A parameter as an unsigned integer.
    pub fn param_u64(&self, key: &str) -> Option<u64> {
        self.params.get(key).and_then(Value::as_u64)
    }

    /// A figure, if present.
    pub fn figure(&self, key: &str) -> Option<f64> {
        self.figures.get(key).copied()
    }
}

/// A schema 1 verdict said `"holds": true|false`; schema 2 says `"outcome"`.
fn upgrade_schema_1(v: &mut Value) {
    if let Some(verdict) = v.get_mut("verdict").and_then(Value::as_object_mut)
        && let Some(holds) = verdict.remove("holds").and_then(|h| h.as_bool())
    {
        let outcome = Outcome::of(holds);
        verdict.insert("outcome".into(), Value::from(outcome.word()));
    }
}

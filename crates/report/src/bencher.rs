//! `report --export bencher`: the merged cases in Bencher Metric Format
//! (<https://bencher.dev/docs/reference/bencher-metric-format/>), so runs of
//! many machines and commits can be tracked in Bencher.
//!
//! One benchmark per case, named `experiment/binary/model[/variant][/work]/cores=N`
//! (prefixed by the machine where the report holds several), with two of
//! Bencher's built-in measures: `throughput` (operations per second: the
//! median over repetitions, the slowest and fastest as lower and upper
//! values) and, where the case took samples, `latency` (nanoseconds: the
//! merged median, the repetitions' lowest and highest medians as lower and
//! upper values).

use serde_json::{Map, Value, json};

use crate::Report;
use crate::merge::Case;

/// The benchmark name of a case.
pub fn name(c: &Case) -> String {
    let k = &c.key;
    let mut parts: Vec<&str> = Vec::new();
    if !k.machine.is_empty() {
        parts.push(&k.machine);
    }
    parts.extend([k.experiment.as_str(), k.binary.as_str(), k.model.as_str()]);
    if !k.variant.is_empty() {
        parts.push(&k.variant);
    }
    if !k.work.is_empty() {
        parts.push(&k.work);
    }
    format!("{}/cores={}", parts.join("/"), c.cores)
}

/// `{value, lower_value, upper_value}`, the bounds widened to hold the value.
fn metric(value: f64, lower: f64, upper: f64) -> Value {
    json!({
        "value": value,
        "lower_value": lower.min(value),
        "upper_value": upper.max(value),
    })
}

/// The report's cases as a Bencher Metric Format document.
pub fn bmf(r: &Report) -> Value {
    let mut out = Map::new();
    for c in &r.cases {
        let mut measures = Map::new();
        let sp = c.ops_per_s_spread;
        measures.insert("throughput".into(), metric(sp.median, sp.min, sp.max));
        if let (Some(p50), Some(spread)) = (c.quantile_ns(0.5), c.p50_spread) {
            measures.insert("latency".into(), metric(p50 as f64, spread.min, spread.max));
        }
        out.insert(name(c), Value::Object(measures));
    }
    Value::Object(out)
}

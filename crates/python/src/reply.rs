//! What the Python side answers, read into the Rust types the records are
//! made of: the checksum, the samples as an HDR histogram, the interpreter's
//! resource use during the command.

use std::time::Duration;

use harness::hist;
use serde_json::Value;
use workload::Checksum;

/// An answer: the command's result, and what it cost the interpreter.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The result (the experiment module reads it).
    pub ok: Value,
    /// The interpreter's (and its reaped children's) resource use.
    pub usage: Usage,
}

/// The interpreter's resource use during one command (getrusage of itself
/// and of the children it reaped; its peak resident memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User CPU time, nanoseconds.
    pub user_ns: u64,
    /// System CPU time, nanoseconds.
    pub sys_ns: u64,
    /// Voluntary context switches.
    pub voluntary: u64,
    /// Involuntary context switches.
    pub involuntary: u64,
    /// Peak resident memory, bytes (0: unknown).
    pub peak_rss_bytes: u64,
}

impl Reply {
    /// Reads `{"ok": …, "usage": …}`.
    pub fn from_json(v: Value) -> anyhow::Result<Reply> {
        let usage = v.get("usage").cloned().unwrap_or(Value::Null);
        let ok = v
            .get("ok")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the answer has no `ok`"))?;
        let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        Ok(Reply {
            ok,
            usage: Usage {
                user_ns: n("user_ns"),
                sys_ns: n("sys_ns"),
                voluntary: n("voluntary"),
                involuntary: n("involuntary"),
                peak_rss_bytes: n("peak_rss_bytes"),
            },
        })
    }

    /// A whole number of the result.
    pub fn u64(&self, key: &str) -> anyhow::Result<u64> {
        u64_of(&self.ok, key)
    }

    /// `wall_ns` of the result, as a duration.
    pub fn wall(&self) -> anyhow::Result<Duration> {
        Ok(Duration::from_nanos(self.u64("wall_ns")?.max(1)))
    }

    /// `{"sum", "count"}` of the result as a checksum.
    pub fn checksum(&self) -> anyhow::Result<Checksum> {
        Ok(Checksum {
            sum: self.u64("sum")?,
            count: self.u64("count")?,
        })
    }

    /// A list of whole numbers of the result.
    pub fn u64s(&self, key: &str) -> anyhow::Result<Vec<u64>> {
        let list = self
            .ok
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow::anyhow!("the result has no list `{key}`"))?;
        list.iter()
            .map(|x| {
                x.as_u64()
                    .ok_or_else(|| anyhow::anyhow!("`{key}` holds {x}, not a whole number"))
            })
            .collect()
    }

    /// `samples_ns` of the result as a histogram, with their count.
    pub fn histogram(&self) -> anyhow::Result<(hdrhistogram::Histogram<u64>, u64)> {
        let samples = self.u64s("samples_ns")?;
        let mut h = hist::new();
        samples.iter().for_each(|&ns| hist::record(&mut h, ns));
        Ok((h, samples.len() as u64))
    }
}

/// A whole number of a JSON object.
pub fn u64_of(v: &Value, key: &str) -> anyhow::Result<u64> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow::anyhow!("`{key}` is missing or not a whole number"))
}

/// A string of a JSON object.
pub fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("`{key}` is missing or not text"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_becomes_a_checksum_a_histogram_and_usage() {
        let r = Reply::from_json(json!({
            "ok": {"sum": 18446744073709551615u64, "count": 3, "wall_ns": 5, "samples_ns": [10, 20, 30]},
            "usage": {"user_ns": 7, "sys_ns": 1, "voluntary": 2, "involuntary": 0, "peak_rss_bytes": 4096}
        }))
        .unwrap();
        assert_eq!(
            r.checksum().unwrap(),
            Checksum {
                sum: u64::MAX,
                count: 3
            }
        );
        assert_eq!(r.wall().unwrap(), Duration::from_nanos(5));
        let (h, n) = r.histogram().unwrap();
        assert_eq!((h.len(), n), (3, 3));
        assert_eq!(r.usage.peak_rss_bytes, 4096);
        assert!(r.u64s("sum").is_err());
        assert!(Reply::from_json(json!({"usage": {}})).is_err());
    }
}

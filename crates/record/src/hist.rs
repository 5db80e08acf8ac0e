//! HDR histograms of nanosecond samples, and their text form in records.
//!
//! Every histogram covers 1 ns to 60 s at 3 significant figures (0.1 %
//! resolution). Samples outside are clamped and counted, never dropped. In
//! records a histogram is stored whole, in HdrHistogram's V2 + DEFLATE format
//! encoded as base64, so `report` can merge repetitions by adding histograms
//! rather than averaging percentiles.

use anyhow::Context as _;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Smallest recordable value, nanoseconds.
pub const LOWEST_NS: u64 = 1;
/// Largest recordable value, nanoseconds (60 s).
pub const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant figures kept.
pub const SIGFIG: u8 = 3;
/// The name of the encoding, stored in every record beside the data.
pub const ENCODING: &str = "hdr-v2-deflate-base64";

/// A new, empty histogram with conpar's bounds.
pub fn new() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// Records one sample, clamped into the histogram's range.
#[inline]
pub fn record(h: &mut Histogram<u64>, ns: u64) {
    // Clamping keeps the sample counted; the bounds are constants, so this cannot fail.
    let _ = h.record(ns.clamp(LOWEST_NS, HIGHEST_NS));
}

/// Serialises a histogram as V2 + DEFLATE, base64.
pub fn encode(h: &Histogram<u64>) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot serialise histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Parses what [`encode`] wrote.
pub fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .context("histogram is not valid base64")?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("histogram is not a valid HdrHistogram V2 blob: {e:?}"))?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = new();
        for v in [1u64, 5, 80, 1_000, 25_000, 1_000_000, 59_000_000_000] {
            record(&mut h, v);
        }
        record(&mut h, 0);
        record(&mut h, u64::MAX);
        let back = decode(&encode(&h).unwrap()).unwrap();
        assert_eq!(back.len(), 9);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        assert_eq!(back.max(), h.max());
        assert_eq!(back.min(), h.min());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}

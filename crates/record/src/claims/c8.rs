//! C8 — threads share memory; processes must copy or map it.
//!
//! The `process` binary decides it from one run ([`verdict`]: a pipe copy
//! against a shared mapping between processes); `report` stands in when no
//! record decides it ([`across`]: any hand-over that copies nothing against
//! the fastest that copies).

use std::collections::BTreeMap;

use super::{Claim, Judged, noise};
use crate::Verdict;
use crate::fmt::{fmt_ratio, fmt_si, fmt_size};

/// Between processes the bytes must be copied (`pipe`, bytes/s) or mapped
/// (`mapped`, a memfd mapping, bytes/s); mapping avoids the copies and is
/// faster. `bytes` is the amount moved per transfer.
pub fn verdict(pipe: f64, mapped: f64, bytes: u64, placement: &str) -> Verdict {
    let gbs = |r: f64| r / 1e9;
    let v = Verdict::new(
        Claim::C8,
        mapped > pipe,
        format!(
            "moving {} between processes ({placement}): copied through a pipe {:.2} GB/s \
             ({} copied per transfer), read in place from a shared memfd mapping {:.2} GB/s \
             (nothing copied): {:.1}× the pipe; threads only hand over a pointer (thread share)",
            fmt_size(bytes),
            gbs(pipe),
            fmt_size(2 * bytes),
            gbs(mapped),
            mapped / pipe.max(1.0)
        ),
    );
    let variant = format!("{}/{placement}", fmt_size(bytes));
    v.comparing([
        format!("pipe ({variant})"),
        format!("memfd-mmap ({variant})"),
    ])
}

/// One `share` case, merged over its repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Handover<'a> {
    /// Its binary.
    pub binary: &'a str,
    /// Its model and variant.
    pub label: String,
    /// Bytes moved per transfer.
    pub bytes: u64,
    /// Where the two ends ran (`same-cpu`), or empty.
    pub placement: String,
    /// Median bytes per second.
    pub bytes_per_s: f64,
    /// Bytes copied per transfer (0: handed over in place).
    pub bytes_copied: f64,
    /// The share of the CPUs other programs took while it ran.
    pub taken: f64,
}

/// Across binaries, when no binary decided it: holds when the fastest
/// hand-over that copies no byte beats the fastest that copies, at the
/// largest size both measured (the same-CPU placement first). `None` unless
/// both kinds were measured at one size.
pub fn across(cases: &[Handover<'_>]) -> Option<Judged> {
    // (bytes, placement) -> (zero-copy best, copying best)
    type Best<'b, 'a> = Option<&'b Handover<'a>>;
    let mut at: BTreeMap<(u64, &str), (Best<'_, '_>, Best<'_, '_>)> = BTreeMap::new();
    for c in cases {
        let slot = at.entry((c.bytes, c.placement.as_str())).or_default();
        let side = if c.bytes_copied == 0.0 {
            &mut slot.0
        } else {
            &mut slot.1
        };
        if side.is_none_or(|b| c.bytes_per_s > b.bytes_per_s) {
            *side = Some(c);
        }
    }
    let ((bytes, place), (Some(zero), Some(copy))) = at
        .into_iter()
        .filter(|(_, (z, c))| z.is_some() && c.is_some())
        .max_by_key(|((b, p), _)| (*b, *p == "same-cpu"))?
    else {
        return None;
    };
    let show = |c: &Handover<'_>| format!("{} {} {}B/s", c.binary, c.label, fmt_si(c.bytes_per_s));
    let taken = zero.taken.max(copy.taken);
    let (status, reason) = noise::across(
        zero.bytes_per_s > copy.bytes_per_s,
        taken,
        "the hand-overs ran",
    );
    Some(Judged {
        status,
        reason,
        evidence: format!(
            "{} bytes{}: without copying {}; copying {}: {}",
            bytes,
            if place.is_empty() { String::new() } else { format!(" ({place})") },
            show(zero),
            show(copy),
            fmt_ratio(zero.bytes_per_s / copy.bytes_per_s)
        ),
        basis: "computed by report (no binary decided it): holds when the fastest hand-over that copies no byte \
                (bytes_copied_per_transfer = 0) beats the fastest that copies, at the largest size both measured"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Status;

    #[test]
    fn verdict_compares_pipe_and_mapping() {
        let v = verdict(2e9, 8e9, 1 << 28, "same-cpu");
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("256MiB") && v.text.contains("512MiB") && v.text.contains("4.0×"),
            "{}",
            v.text
        );
        assert!(!verdict(8e9, 2e9, 1 << 28, "x").holds());
    }

    #[test]
    fn across_needs_both_kinds_at_one_size() {
        let h = |copied: f64, bps: f64| Handover {
            binary: "process",
            label: "m".into(),
            bytes: 1 << 20,
            placement: "same-cpu".into(),
            bytes_per_s: bps,
            bytes_copied: copied,
            taken: 0.0,
        };
        assert_eq!(
            across(&[h(0.0, 9e9), h(2.0, 1e9)]).unwrap().status,
            Status::Holds
        );
        assert_eq!(
            across(&[h(0.0, 1e9), h(2.0, 9e9)]).unwrap().status,
            Status::DoesNotHold
        );
        assert!(across(&[h(0.0, 1e9)]).is_none());
    }
}

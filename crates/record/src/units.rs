//! A figure's value for people, formatted by the unit its name carries
//! (`_ns`, `_ms`, `_bytes`, `_per_s`, fractions, counts): units live in
//! names, so the name says how to show the number.

use crate::fmt::{fmt_bytes, fmt_count, fmt_ns, fmt_num, fmt_si};

/// How a figure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds.
    Ns,
    /// Milliseconds.
    Ms,
    /// Bytes.
    Bytes,
    /// A rate per second.
    PerSecond,
    /// A share from 0 to 1.
    Fraction,
    /// A ratio (`speedup`, `…_over_…`).
    Ratio,
    /// A count or a plain number.
    Plain,
}

/// The unit of figure `name`.
pub fn unit_of(name: &str) -> Unit {
    if name.ends_with("_ns") {
        Unit::Ns
    } else if name.ends_with("_ms") {
        Unit::Ms
    } else if name.ends_with("bytes_per_s") || name.ends_with("_per_s") {
        Unit::PerSecond
    } else if name.contains("bytes") {
        Unit::Bytes
    } else if name.ends_with("fraction") || name.ends_with("_busy") || name == "efficiency" {
        Unit::Fraction
    } else if name == "speedup" || name.contains("_over_") || name.ends_with("_ratio") {
        Unit::Ratio
    } else {
        Unit::Plain
    }
}

/// `v` as figure `name` shows it.
pub fn show(name: &str, v: f64) -> String {
    match unit_of(name) {
        Unit::Ns => fmt_ns(v),
        Unit::Ms => fmt_ns(v * 1e6),
        Unit::Bytes => fmt_bytes(v),
        Unit::PerSecond if name.contains("bytes") => format!("{}/s", fmt_bytes(v)),
        Unit::PerSecond => format!("{}/s", fmt_si(v)),
        Unit::Fraction => format!("{:.1} %", 100.0 * v),
        Unit::Ratio => format!("{}×", fmt_num(v)),
        Unit::Plain if v == v.trunc() => fmt_count(v),
        Unit::Plain => fmt_num(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_unit() {
        assert_eq!(show("handover_p50_ns", 1500.0), "1.50 µs");
        assert_eq!(show("makespan_ms", 52.0), "52.0 ms");
        assert_eq!(show("rss_per_connection_bytes", 2048.0), "2.00 KiB");
        assert_eq!(show("echo_bytes_per_s", 1048576.0), "1.00 MiB/s");
        assert_eq!(show("lost_fraction", 0.486), "48.6 %");
        assert_eq!(show("makespan_over_ideal", 1.05), "1.05×");
        assert_eq!(show("lost_updates", 972402.0), "972 k");
        assert_eq!(show("connections_served", 100.0), "100");
    }
}

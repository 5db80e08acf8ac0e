//! Numbers for people: durations, rates, bytes and ratios, three significant
//! figures. Raw data stays in nanoseconds and bytes; only output converts.

/// Formats nanoseconds for people (`812 ns`, `4.21 µs`, `1.30 s`).
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "-".into();
    }
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v < 10.0 {
        format!("{v:.2} {unit}")
    } else if v < 100.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// Formats a rate or count with a metric suffix (`1.2 M`).
pub fn fmt_si(x: f64) -> String {
    let (v, s) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e3 {
        (x / 1e3, " k")
    } else {
        (x, "")
    };
    if v < 10.0 {
        format!("{v:.2}{s}")
    } else if v < 100.0 {
        format!("{v:.1}{s}")
    } else {
        format!("{v:.0}{s}")
    }
}

/// Bytes in binary units (`812 B`, `9.60 KiB`, `1.25 GiB`).
pub fn fmt_bytes(b: f64) -> String {
    if !b.is_finite() {
        return "-".into();
    }
    let (v, unit) = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        .iter()
        .find(|(d, _)| b.abs() >= *d as f64)
        .map_or((b, "B"), |&(d, u)| (b / d as f64, u));
    sig3(v, unit)
}

/// A byte count as flags take it (`64KiB`, `1MiB`, `100B`): exact, in the
/// largest binary unit that divides it.
pub fn fmt_size(b: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if b >= 1 << shift && b.is_multiple_of(1 << shift) {
            return format!("{}{unit}", b >> shift);
        }
    }
    format!("{b}B")
}

/// A count: exact below a thousand, then with a metric suffix (`812`, `2.05 k`).
pub fn fmt_count(x: f64) -> String {
    if x.abs() < 1e3 && x == x.trunc() {
        format!("{x:.0}")
    } else {
        fmt_si(x)
    }
}

/// A ratio (`4.52×`).
pub fn fmt_ratio(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    format!("{}×", sig3(x, "").trim_end())
}

/// A plain number with three significant figures (`0.0312`, `1.95`, `14.1`, `220`).
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() >= 1e4 {
        return fmt_si(x);
    }
    let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{x:.digits$}")
}

fn sig3(v: f64, unit: &str) -> String {
    let a = v.abs();
    let s = if a < 10.0 {
        format!("{v:.2}")
    } else if a < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    if unit.is_empty() {
        s
    } else {
        format!("{s} {unit}")
    }
}

/// An optional value, or `-`.
pub fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(812.0), "812 B");
        assert_eq!(fmt_bytes(9830.0), "9.60 KiB");
        assert_eq!(fmt_bytes(3.0 * (1 << 20) as f64), "3.00 MiB");
        assert_eq!(fmt_count(12.0), "12");
        assert_eq!(fmt_count(2048.0), "2.05 k");
        assert_eq!(fmt_ratio(4.5166), "4.52×");
        assert_eq!(fmt_ratio(123.4), "123×");
        assert_eq!(fmt_num(0.03123), "0.0312");
        assert_eq!(fmt_num(1.951), "1.95");
        assert_eq!(fmt_num(14.14), "14.1");
        assert_eq!(fmt_num(-0.5), "-0.500");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(f64::NAN), "-");
    }
}

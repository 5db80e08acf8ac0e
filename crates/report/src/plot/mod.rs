//! SVG plots, drawn with plotters' SVG backend (text is left to the SVG
//! viewer, so no font is needed to draw them).
//!
//! - `speedup-<experiment>-<binary>.svg`: speedup against cores, one line
//!   per model, with the ideal (linear) line; both axes start at 1;
//! - `latency-<experiment>[-<group>].svg`: latency percentile curves (p0 to
//!   p99.99, on a "nines" axis) of the merged histograms, one line per model,
//!   at each series' largest core count — split into small multiples (per
//!   binary, then per variant) so that no chart has more than
//!   [`MAX_SERIES`] lines;
//! - `memory-per-unit.svg`: resident memory per live unit, one bar per model
//!   of every binary;
//! - `bars-gil.svg`: each `gil` model's speedup over `sequential` at its
//!   most cores (C11); `bars-quadrants.svg`: the work each quadrant's caller
//!   did while it waited, as a share of what one core could do (C13);
//! - `bars-<experiment>.svg`: for an experiment with none of the above, its
//!   telling number per model (`race`: the share of updates lost; otherwise
//!   the median wall time).
//!
//! A bar chart names each bar on its axis and writes its value at its end,
//! one colour per binary; it grows taller with its bars (no limit of ten).
//!
//! Every chart keeps its legend outside the plot area (to the right), uses a
//! palette of ten distinct colours (never repeated: ten series at most), and
//! puts 1-2-5 ticks on log axes in the data's unit ("10 µs", "20 KiB").

use std::collections::BTreeMap;

use anyhow::anyhow;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Report;
use crate::claims::MEMORY_FIGURES;
use crate::merge::Case;
use record::fmt::{fmt_bytes, fmt_ns};

/// Width and height of every chart, pixels.
const SIZE: (u32, u32) = (900, 480);
/// A bar chart's height per bar, and for its title and axis, pixels.
const BAR_HEIGHT: u32 = 30;
const BAR_CHART_EXTRA: u32 = 110;
const BAR_CHART_MIN: u32 = 240;
/// Width of the legend column on the right, pixels.
const LEGEND_WIDTH: u32 = 310;
const FONT: &str = "sans-serif";
/// Deepest percentile drawn: p99.99 (four nines).
const MAX_NINES: f64 = 4.0;
/// Most lines on one chart (the palette's size).
pub const MAX_SERIES: usize = 10;

/// Ten colours a reader tells apart (Tableau 10).
const PALETTE: [RGBColor; MAX_SERIES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// What one plot shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Speedup vs cores of one experiment in one binary.
    Speedup {
        /// Experiment.
        experiment: String,
        /// Binary.
        binary: String,
    },
    /// Latency percentiles of one experiment, of the series in `members` (all when empty).
    Latency {
        /// Experiment.
        experiment: String,
        /// What the chart holds, in words (empty: everything).
        group: String,
        /// The groups of series drawn: `binary`, or `binary variant`.
        members: Vec<String>,
    },
    /// Memory per unit across binaries and models.
    Memory,
    /// One number per model of an experiment that has no other plot.
    Bars {
        /// Experiment.
        experiment: String,
    },
}

/// A plot to draw: its file name and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File name (`speedup-cpu-thread.svg`).
    pub file: String,
    /// What it shows.
    pub kind: Kind,
}

impl Plot {
    /// The experiment it belongs to (`None` for memory, which spans binaries
    /// and serves `memory`).
    pub fn experiment(&self) -> Option<&str> {
        match &self.kind {
            Kind::Speedup { experiment, .. }
            | Kind::Latency { experiment, .. }
            | Kind::Bars { experiment } => Some(experiment),
            Kind::Memory => None,
        }
    }

    /// The binary it draws, where it draws one (speedup, and latency split
    /// per binary).
    pub fn binary(&self) -> Option<&str> {
        match &self.kind {
            Kind::Speedup { binary, .. } => Some(binary),
            Kind::Latency { members, .. } => members.first().and_then(|m| m.split(' ').next()),
            Kind::Memory | Kind::Bars { .. } => None,
        }
    }

    /// Whether it shows something of `experiment` (the memory plot shows `memory`).
    pub fn shows(&self, experiment: &str) -> bool {
        self.experiment()
            .map_or(experiment == "memory", |e| e == experiment)
    }

    /// What it shows, in words (alt text and captions).
    pub fn title(&self) -> String {
        match &self.kind {
            Kind::Speedup { experiment, binary } => {
                format!("{binary} {experiment}: speedup against cores")
            }
            Kind::Latency {
                experiment, group, ..
            } if group.is_empty() => format!("{experiment}: latency percentiles"),
            Kind::Latency {
                experiment, group, ..
            } => format!("{experiment} ({group}): latency percentiles"),
            Kind::Memory => "resident memory per live unit".into(),
            Kind::Bars { experiment } => format!("{experiment}: {}", bar_metric(experiment).0),
        }
    }
}

fn memory_figure(c: &Case) -> Option<f64> {
    MEMORY_FIGURES.iter().find_map(|f| c.figure(f))
}

/// `1 core`, `2 cores`.
pub fn cores_words(n: u64) -> String {
    if n == 1 {
        "1 core".into()
    } else {
        format!("{n} cores")
    }
}

/// The cases of one latency chart: each series (with a histogram) at its
/// largest core count.
fn latency_cases<'a>(r: &'a Report, experiment: &str) -> Vec<&'a Case> {
    let mut at_most: BTreeMap<&crate::merge::SeriesKey, &Case> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == experiment) {
        if c.histogram.as_ref().is_some_and(|h| !h.is_empty()) {
            at_most.insert(&c.key, c);
        }
    }
    at_most.into_values().collect()
}

/// The group a case's line belongs to when an experiment needs small multiples.
fn group_of(c: &Case, fine: bool) -> String {
    let mut g = c.key.binary.clone();
    if !c.key.machine.is_empty() {
        g = format!("{} {g}", c.key.machine);
    }
    if fine && !c.key.variant.is_empty() {
        g = format!("{g} {}", c.key.variant);
    }
    g
}

/// The latency charts of an experiment, `(title, members)`: one holding
/// everything when it fits, else one per binary, and where a binary alone has
/// too many series, its variants packed into charts of at most
/// [`MAX_SERIES`] lines.
fn latency_groups(r: &Report, experiment: &str) -> Vec<(String, Vec<String>)> {
    let cases = latency_cases(r, experiment);
    if cases.len() <= MAX_SERIES {
        return vec![(String::new(), Vec::new())];
    }
    let mut by_binary: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for c in &cases {
        *by_binary
            .entry(group_of(c, false))
            .or_default()
            .entry(group_of(c, true))
            .or_default() += 1;
    }
    let mut out = Vec::new();
    for (b, fine) in by_binary {
        let n: usize = fine.values().sum();
        if n <= MAX_SERIES {
            out.push((b.clone(), vec![b]));
            continue;
        }
        let mut chart: Vec<String> = Vec::new();
        let mut lines = 0;
        for (g, k) in fine {
            if lines + k > MAX_SERIES && !chart.is_empty() {
                out.push((packed_title(&b, &chart), std::mem::take(&mut chart)));
                lines = 0;
            }
            chart.push(g);
            lines += k;
        }
        if !chart.is_empty() {
            out.push((packed_title(&b, &chart), chart));
        }
    }
    out
}

/// `thread 1KiB/same-cpu … 16MiB/cross-cpu`: a binary and the variants a chart holds.
fn packed_title(binary: &str, members: &[String]) -> String {
    let variant = |m: &String| m.strip_prefix(binary).unwrap_or(m).trim().to_string();
    match members {
        [one] => format!("{binary} {}", variant(one)),
        [first, .., last] => format!("{binary} {} … {}", variant(first), variant(last)),
        [] => binary.to_string(),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A bar chart's number: its name, how to read it off a case, how to show it.
type BarMetric = (&'static str, fn(&Case) -> Option<f64>, fn(f64) -> String);

/// Experiments that get a bar chart beside their other plots.
const BARS_AS_WELL: [&str; 2] = ["gil", "quadrants"];

/// The telling number of an experiment's bar chart.
fn bar_metric(experiment: &str) -> BarMetric {
    match experiment {
        "gil" => (
            "speedup over sequential, at the most cores",
            |c| {
                if c.key.model == "sequential" {
                    None
                } else {
                    c.figure("speedup")
                }
            },
            |v| format!("{v:.2}×"),
        ),
        "quadrants" => (
            "work done while waiting, share of what one core could do",
            |c| c.figure("units_share_of_wait"),
            |v| format!("{:.0} %", 100.0 * v),
        ),
        "race" => (
            "share of the updates lost",
            |c| c.figure("lost_fraction"),
            |v| format!("{:.1} %", 100.0 * v),
        ),
        _ => (
            "median wall time",
            |c| Some(c.wall_ns_spread.median),
            fmt_ns,
        ),
    }
}

/// The plots the report's data supports, in a fixed order.
pub fn plan(r: &Report) -> Vec<Plot> {
    let mut out = Vec::new();
    let mut speedup: Vec<(String, String)> = r
        .series
        .iter()
        .filter(|s| s.basis.is_some())
        .map(|s| (s.key.experiment.clone(), s.key.binary.clone()))
        .collect();
    speedup.dedup();
    for (experiment, binary) in speedup {
        out.push(Plot {
            file: format!("speedup-{experiment}-{binary}.svg"),
            kind: Kind::Speedup { experiment, binary },
        });
    }
    let mut latency: Vec<String> = r
        .cases
        .iter()
        .filter(|c| c.histogram.as_ref().is_some_and(|h| !h.is_empty()))
        .map(|c| c.key.experiment.clone())
        .collect();
    latency.sort();
    latency.dedup();
    for experiment in latency {
        for (group, members) in latency_groups(r, &experiment) {
            let file = if members.is_empty() {
                format!("latency-{experiment}.svg")
            } else {
                format!("latency-{experiment}-{}.svg", slug(&group))
            };
            out.push(Plot {
                file,
                kind: Kind::Latency {
                    experiment: experiment.clone(),
                    group,
                    members,
                },
            });
        }
    }
    if r.cases
        .iter()
        .any(|c| c.key.experiment == "memory" && memory_figure(c).is_some())
    {
        out.push(Plot {
            file: "memory-per-unit.svg".into(),
            kind: Kind::Memory,
        });
    }
    // The number that decides C11 (`gil`: the in-run speedup at the most
    // cores, which a quick sweep measures at one core count only) and C13
    // (`quadrants`: the work a caller did while it waited), one bar per model.
    for experiment in BARS_AS_WELL {
        if !named_bars(r, experiment, bar_metric(experiment).1).is_empty() {
            out.push(Plot {
                file: format!("bars-{experiment}.svg"),
                kind: Kind::Bars {
                    experiment: experiment.into(),
                },
            });
        }
    }
    let mut bare: Vec<String> = r
        .cases
        .iter()
        .map(|c| c.key.experiment.clone())
        .filter(|e| !out.iter().any(|p| p.shows(e)))
        .collect();
    bare.sort();
    bare.dedup();
    for experiment in bare {
        out.push(Plot {
            file: format!("bars-{experiment}.svg"),
            kind: Kind::Bars { experiment },
        });
    }
    out
}

/// Draws one plot as an SVG document.
pub fn render(r: &Report, plot: &Plot) -> anyhow::Result<String> {
    let mut svg = String::new();
    let fail = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", plot.file);
    let bar_chart = match &plot.kind {
        Kind::Memory => Some((
            memory_bars(r),
            ("bytes per unit (log scale)", fmt_bytes as fn(f64) -> String),
            true,
        )),
        Kind::Bars { experiment } => {
            let (what, get, show) = bar_metric(experiment);
            Some((
                named_bars(r, experiment, get),
                (what, show),
                !matches!(experiment.as_str(), "race" | "gil" | "quadrants"),
            ))
        }
        Kind::Speedup { .. } | Kind::Latency { .. } => None,
    };
    if let Some((values, metric, log)) = bar_chart {
        let height = (BAR_CHART_EXTRA + BAR_HEIGHT * values.len() as u32).max(BAR_CHART_MIN);
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        bars(&root, &plot.title(), &values, metric, log).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
        drop(root);
        return Ok(svg);
    }
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let (area, side) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
        let entries = match &plot.kind {
            Kind::Speedup { experiment, binary } => speedup(r, &area, experiment, binary),
            Kind::Latency {
                experiment,
                group,
                members,
            } => latency(r, &area, experiment, group, members),
            Kind::Memory | Kind::Bars { .. } => unreachable!("drawn above"),
        }
        .map_err(|e| fail(&e))?;
        draw_legend(&side, &entries).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

mod draw;
use draw::{bars, draw_legend, latency, memory_bars, named_bars, speedup};

#[cfg(test)]
mod tests {
    use super::draw::{BYTE_UNITS, NS_UNITS, ticks};
    use super::*;

    #[test]
    fn log_ticks_are_1_2_5_in_the_data_unit() {
        let t = ticks(3_000.0, 300_000.0, BYTE_UNITS);
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert!(
            labels.contains(&"10 KiB") && labels.contains(&"20 KiB"),
            "{labels:?}"
        );
        assert!(!labels.iter().any(|l| l.contains('.')), "{labels:?}");
        let t = ticks(800.0, 2_000_000.0, NS_UNITS);
        let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
        assert!(
            labels.contains(&"1 µs") && labels.contains(&"1 ms"),
            "{labels:?}"
        );
    }

    #[test]
    fn plurals_and_palette() {
        assert_eq!(cores_words(1), "1 core");
        assert_eq!(cores_words(16), "16 cores");
        for (i, a) in PALETTE.iter().enumerate() {
            assert!(PALETTE[i + 1..].iter().all(|b| b != a), "a colour repeats");
        }
        assert_eq!(slug("vm, 2 CPUs thread"), "vm-2-cpus-thread");
    }
}

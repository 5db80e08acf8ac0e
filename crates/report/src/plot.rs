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

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error + 'static>>;
type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// A legend entry: its colour, whether it is dashed (a reference line), its text.
type Entry = (RGBColor, bool, String);

/// Draws the legend in the column to the right of the plot area.
fn draw_legend(side: &Area<'_>, entries: &[Entry]) -> DrawResult {
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (c, dashed, text)) in entries.iter().enumerate() {
        let y = 40 + 22 * i as i32;
        if *dashed {
            side.draw(&PathElement::new([(6, y), (12, y)], c.stroke_width(2)))?;
            side.draw(&PathElement::new([(18, y), (24, y)], c.stroke_width(2)))?;
        } else {
            side.draw(&PathElement::new([(6, y), (24, y)], c.stroke_width(3)))?;
        }
        let max = 40;
        let shown = if text.chars().count() > max {
            format!("{}…", text.chars().take(max - 1).collect::<String>())
        } else {
            text.clone()
        };
        side.draw(&Text::new(shown, (30, y), style.clone()))?;
    }
    Ok(())
}

/// 1-2-5 ticks between `lo` and `hi`: `m · 10^j · unit` for the units
/// `units` (each `(size, name)`), labelled in that unit ("20 KiB", "5 µs").
fn ticks(lo: f64, hi: f64, units: &[(f64, &str)]) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for &(u, name) in units {
        for j in 0..3 {
            for m in [1.0, 2.0, 5.0] {
                let k = m * 10f64.powi(j);
                let v = k * u;
                if v >= lo && v <= hi && !out.iter().any(|t| (t.0 - v).abs() < 1e-9 * v) {
                    let sep = if name.is_empty() { "" } else { " " };
                    out.push((v, format!("{k:.0}{sep}{name}")));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Too many for one axis: keep the 1s and 10s.
    if out.len() > 12 {
        out.retain(|t| t.1.starts_with('1'));
    }
    out
}

/// Units of nanoseconds for [`ticks`].
const NS_UNITS: &[(f64, &str)] = &[(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];
/// Units of bytes for [`ticks`].
const BYTE_UNITS: &[(f64, &str)] = &[
    (1.0, "B"),
    (1024.0, "KiB"),
    (1048576.0, "MiB"),
    (1073741824.0, "GiB"),
];

fn label_of(ticks: &[(f64, String)], v: f64) -> String {
    ticks
        .iter()
        .find(|t| (t.0 - v).abs() <= 1e-6 * v.abs().max(1.0))
        .map(|t| t.1.clone())
        .unwrap_or_default()
}

fn speedup(r: &Report, root: &Area<'_>, experiment: &str, binary: &str) -> DrawResult<Vec<Entry>> {
    let series: Vec<_> = r
        .series
        .iter()
        .filter(|s| s.key.experiment == experiment && s.key.binary == binary)
        .filter(|s| s.basis.is_some())
        .take(MAX_SERIES - 1)
        .collect();
    let max_cores = series
        .iter()
        .map(|s| s.last().cores as f64)
        .fold(2.0, f64::max);
    let max_speedup = series
        .iter()
        .flat_map(|s| s.speedups().into_iter().map(|p| p.1))
        .fold(max_cores, f64::max);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{binary} {experiment}: speedup against cores"),
            (FONT, 20),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(1.0..max_cores, 1.0..max_speedup * 1.05)?;
    chart
        .configure_mesh()
        .x_labels(max_cores as usize + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("--cores")
        .y_desc("speedup (×)")
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart.draw_series(DashedLineSeries::new(
        [(1.0, 1.0), (max_cores, max_cores)],
        6,
        4,
        grey.stroke_width(1),
    ))?;
    let mut entries: Vec<Entry> = vec![(grey, true, "ideal (linear)".into())];
    for (i, s) in series.iter().enumerate() {
        let c = PALETTE[i];
        let pts: Vec<(f64, f64)> = s
            .speedups()
            .into_iter()
            .map(|(cores, x)| (cores as f64, x))
            .collect();
        chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?;
        chart.draw_series(PointSeries::of_element(pts, 3, c.filled(), &|p, s, st| {
            Circle::new(p, s, st)
        }))?;
        let basis = s.basis.expect("filtered").words();
        entries.push((c, false, format!("{} ({basis})", s.key.label())));
    }
    Ok(entries)
}

/// `x` nines as a quantile: 0 → 0, 1 → 0.9, 2 → 0.99, …
fn quantile_of_nines(x: f64) -> f64 {
    1.0 - 10f64.powf(-x)
}

fn nines_label(x: &f64) -> String {
    let q = quantile_of_nines(*x) * 100.0;
    let t = format!("p{q:.2}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    t.to_string()
}

fn latency(
    r: &Report,
    root: &Area<'_>,
    experiment: &str,
    group: &str,
    members: &[String],
) -> DrawResult<Vec<Entry>> {
    let cases: Vec<&Case> = latency_cases(r, experiment)
        .into_iter()
        .filter(|c| {
            members.is_empty()
                || members.contains(&group_of(c, false))
                || members.contains(&group_of(c, true))
        })
        .take(MAX_SERIES)
        .collect();
    let curves: Vec<(String, Vec<(f64, f64)>)> = cases
        .iter()
        .map(|c| {
            let h = c.histogram.as_ref().expect("filtered");
            // Beyond log10(samples) nines the curve is one sample: stop there.
            let deepest = (h.len() as f64).log10().clamp(1.0, MAX_NINES);
            let steps = (deepest * 20.0) as usize;
            let pts = (0..=steps)
                .map(|i| {
                    let x = deepest * i as f64 / steps as f64;
                    (x, h.value_at_quantile(quantile_of_nines(x)).max(1) as f64)
                })
                .collect();
            let who = if members.is_empty() {
                format!("{} ", c.key.binary)
            } else {
                String::new()
            };
            (
                format!("{who}{} ({})", c.key.label(), cores_words(c.cores)),
                pts,
            )
        })
        .collect();
    let (lo, hi) = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = ((lo / 1.5).max(1.0), hi * 1.5);
    let t = ticks(lo, hi, NS_UNITS);
    let keys: Vec<f64> = t.iter().map(|x| x.0).collect();
    let title = if group.is_empty() {
        format!("{experiment}: latency percentiles")
    } else {
        format!("{experiment} ({group}): latency percentiles")
    };
    let mut chart: Chart<'_, RangedCoordf64, _> = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..MAX_NINES, (lo..hi).log_scale().with_key_points(keys))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency")
        .x_labels(5)
        .x_label_formatter(&nines_label)
        .y_label_formatter(&|v| label_of(&t, *v))
        .draw()?;
    let mut entries = Vec::new();
    for (i, (label, pts)) in curves.into_iter().enumerate() {
        let c = PALETTE[i];
        chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        entries.push((c, false, label));
    }
    Ok(entries)
}

fn memory_bars(r: &Report) -> Vec<(String, f64)> {
    let mut bars: BTreeMap<String, f64> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == "memory") {
        if let Some(v) = memory_figure(c) {
            bars.insert(format!("{} {}", c.key.binary, c.key.label()), v);
        }
    }
    bars.into_iter().collect()
}

/// One bar per binary and model of `experiment`, at its largest core count.
fn named_bars(r: &Report, experiment: &str, get: fn(&Case) -> Option<f64>) -> Vec<(String, f64)> {
    let mut bars: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == experiment) {
        if let Some(v) = get(c) {
            let slot = bars
                .entry(format!("{} {}", c.key.binary, c.key.label()))
                .or_insert((c.cores, v));
            if c.cores >= slot.0 {
                *slot = (c.cores, v);
            }
        }
    }
    bars.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// Horizontal bars, each named on the axis and its value written at its
/// end, one colour per binary (the names' first word); on a log axis in
/// bytes or nanoseconds (`log`), else linear from 0. No legend is needed, so
/// there is no limit on the bars: the chart grows with them.
fn bars(
    root: &Area<'_>,
    title: &str,
    bars: &[(String, f64)],
    (what, show): (&str, fn(f64) -> String),
    log: bool,
) -> DrawResult {
    let n = bars.len().max(1) as f64;
    let mut binaries: Vec<&str> = Vec::new();
    let colours: Vec<RGBColor> = bars
        .iter()
        .map(|(name, _)| {
            let b = name.split(' ').next().unwrap_or_default();
            let i = binaries.iter().position(|x| *x == b).unwrap_or_else(|| {
                binaries.push(b);
                binaries.len() - 1
            });
            PALETTE[i % MAX_SERIES]
        })
        .collect();
    let label_width = bars
        .iter()
        .map(|(name, _)| name.chars().count() as u32 * 7 + 16)
        .max()
        .unwrap_or(40)
        .clamp(40, 420);
    let hi_v = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let y_range = 0.0..n;
    // Bar i (from the top) spans y in [n-i-1, n-i].
    if log {
        let lo = bars.iter().map(|b| b.1).fold(f64::MAX, f64::min).max(1.0) / 2.0;
        let hi = hi_v.max(lo * 4.0) * 3.0;
        let units = if what.starts_with("bytes") {
            BYTE_UNITS
        } else {
            NS_UNITS
        };
        let t = ticks(lo, hi, units);
        let keys: Vec<f64> = t.iter().map(|x| x.0).collect();
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d((lo..hi).log_scale().with_key_points(keys), y_range)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(what)
            .x_label_formatter(&|v| label_of(&t, *v))
            .y_labels(0)
            .draw()?;
        for (i, (_, v)) in bars.iter().enumerate() {
            let y = n - i as f64 - 1.0;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(lo, y + 0.2), (*v, y + 0.8)],
                colours[i].mix(0.85).filled(),
            )))?;
            chart.draw_series(std::iter::once(bar_value(*v * 1.05, y, show(*v))))?;
        }
        bar_names(root, bars, |y| chart.backend_coord(&(lo, y)))?;
    } else {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..(hi_v * 1.2).max(1e-9), y_range)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(what)
            .y_labels(0)
            .draw()?;
        for (i, (_, v)) in bars.iter().enumerate() {
            let y = n - i as f64 - 1.0;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (*v, y + 0.8)],
                colours[i].mix(0.85).filled(),
            )))?;
            chart.draw_series(std::iter::once(bar_value(v + hi_v * 0.01, y, show(*v))))?;
        }
        bar_names(root, bars, |y| chart.backend_coord(&(0.0, y)))?;
    }
    Ok(())
}

/// Each bar's name, right-aligned just left of the axis; `at` gives the
/// pixel of the axis at a height.
fn bar_names(
    root: &Area<'_>,
    bars: &[(String, f64)],
    at: impl Fn(f64) -> (i32, i32),
) -> DrawResult {
    let n = bars.len() as f64;
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, (name, _)) in bars.iter().enumerate() {
        let (x, y) = at(n - i as f64 - 0.5);
        root.draw(&Text::new(name.clone(), (x - 6, y), style.clone()))?;
    }
    Ok(())
}

/// A bar's value, written just past its end, centred on it.
fn bar_value(x: f64, y: f64, text: String) -> Text<'static, (f64, f64), String> {
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    Text::new(text, (x, y + 0.5), style)
}

#[cfg(test)]
mod tests {
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

//! SVG plots, drawn with plotters' SVG backend (text is left to the SVG
//! viewer, so no font is needed to draw them).
//!
//! - `speedup-<experiment>-<binary>.svg`: speedup over one core against
//!   cores, one line per model, with the ideal (linear) line;
//! - `latency-<experiment>.svg`: latency percentile curves (p0 to p99.99, on
//!   a "nines" axis) of the merged histograms, one line per model, at each
//!   series' largest core count;
//! - `memory-per-unit.svg`: resident memory per live unit, one bar per model.

use std::collections::BTreeMap;

use anyhow::anyhow;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Report;
use crate::claims::MEMORY_FIGURES;
use crate::merge::Case;
use record::fmt::{fmt_bytes, fmt_ns};

const SIZE: (u32, u32) = (760, 500);
const FONT: &str = "sans-serif";
/// Deepest percentile drawn: p99.99 (four nines).
const MAX_NINES: f64 = 4.0;

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
    /// Latency percentiles of one experiment.
    Latency {
        /// Experiment.
        experiment: String,
    },
    /// Memory per unit across binaries and models.
    Memory,
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
    /// The experiment it belongs to (`None` for memory, which spans binaries).
    pub fn experiment(&self) -> Option<&str> {
        match &self.kind {
            Kind::Speedup { experiment, .. } | Kind::Latency { experiment } => Some(experiment),
            Kind::Memory => None,
        }
    }
}

fn memory_figure(c: &Case) -> Option<f64> {
    MEMORY_FIGURES.iter().find_map(|f| c.figure(f))
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
    latency.dedup();
    for experiment in latency {
        out.push(Plot {
            file: format!("latency-{experiment}.svg"),
            kind: Kind::Latency { experiment },
        });
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
    out
}

/// Draws one plot as an SVG document.
pub fn render(r: &Report, plot: &Plot) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        match &plot.kind {
            Kind::Speedup { experiment, binary } => speedup(r, &root, experiment, binary),
            Kind::Latency { experiment } => latency(r, &root, experiment),
            Kind::Memory => memory(r, &root),
        }
        .map_err(|e| anyhow!("cannot draw {}: {e}", plot.file))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error + 'static>>;

type Chart<'a, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>;

/// Draws a labelled line.
fn line<'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, Y>,
    pts: Vec<(f64, f64)>,
    c: RGBColor,
    label: String,
) -> DrawResult {
    chart
        .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], c.stroke_width(2)));
    Ok(())
}

/// Draws the legend, top left.
fn legend<'a, Y: Ranged<ValueType = f64>>(chart: &mut Chart<'a, Y>) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

fn speedup(r: &Report, root: &Area<'_>, experiment: &str, binary: &str) -> DrawResult {
    let series: Vec<_> = r
        .series
        .iter()
        .filter(|s| s.key.experiment == experiment && s.key.binary == binary)
        .filter(|s| s.basis.is_some())
        .collect();
    let max_cores = series
        .iter()
        .map(|s| s.last().cores as f64)
        .fold(1.0, f64::max);
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
        .build_cartesian_2d(0.0..max_cores + 0.5, 0.0..max_speedup * 1.1)?;
    chart
        .configure_mesh()
        .x_labels(max_cores as usize + 2)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("--cores")
        .y_desc("speedup")
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart
        .draw_series(DashedLineSeries::new(
            [(1.0, 1.0), (max_cores, max_cores)],
            6,
            4,
            grey.stroke_width(1),
        ))?
        .label("ideal (linear)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], grey));
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let pts: Vec<(f64, f64)> = s
            .speedups()
            .into_iter()
            .map(|(cores, x)| (cores as f64, x))
            .collect();
        let basis = s.basis.expect("filtered").words();
        line(
            &mut chart,
            pts.clone(),
            c,
            format!("{} ({basis})", s.key.label()),
        )?;
        chart.draw_series(PointSeries::of_element(pts, 3, c.filled(), &|p, s, st| {
            Circle::new(p, s, st)
        }))?;
    }
    legend(&mut chart)
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

fn latency(r: &Report, root: &Area<'_>, experiment: &str) -> DrawResult {
    // Each series at its largest core count.
    let mut at_most: BTreeMap<&crate::merge::SeriesKey, &Case> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == experiment) {
        if c.histogram.as_ref().is_some_and(|h| !h.is_empty()) {
            at_most.insert(&c.key, c);
        }
    }
    let curves: Vec<(String, Vec<(f64, f64)>)> = at_most
        .values()
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
            let label = format!("{} {} ({} cores)", c.key.binary, c.key.label(), c.cores);
            (label, pts)
        })
        .collect();
    let (lo, hi) = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{experiment}: latency percentiles"), (FONT, 20))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..MAX_NINES, ((lo / 1.5).max(1.0)..hi * 1.5).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency")
        .x_labels(5)
        .x_label_formatter(&nines_label)
        .y_label_formatter(&|v| fmt_ns(*v))
        .draw()?;
    for (i, (label, pts)) in curves.into_iter().enumerate() {
        line(&mut chart, pts, color(i), label)?;
    }
    legend(&mut chart)
}

fn memory(r: &Report, root: &Area<'_>) -> DrawResult {
    // One bar per binary and model (at its largest core count), longest first
    // down the chart; each labelled at its end, so names need no axis.
    let mut bars: BTreeMap<String, f64> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == "memory") {
        if let Some(v) = memory_figure(c) {
            bars.insert(format!("{} {}", c.key.binary, c.key.label()), v);
        }
    }
    let bars: Vec<(String, f64)> = bars.into_iter().collect();
    let n = bars.len() as f64;
    let lo = bars.iter().map(|b| b.1).fold(f64::MAX, f64::min).max(1.0) / 4.0;
    // Room on the right (on a log axis) for the label after the longest bar.
    let hi = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 200.0;
    let mut chart = ChartBuilder::on(root)
        .caption("resident memory per live unit", (FONT, 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("bytes per unit (log scale)")
        .x_label_formatter(&|v| fmt_bytes(*v))
        .draw()?;
    let label = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = n - i as f64 - 1.0;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(lo, y + 0.2), (*v, y + 0.8)],
            color(i).mix(0.8).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{name}: {}", fmt_bytes(*v)),
            (*v * 1.15, y + 0.5),
            label.clone(),
        )))?;
    }
    Ok(())
}

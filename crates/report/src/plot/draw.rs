//! Drawing: the legend column, 1-2-5 log ticks in the data's unit, and the
//! three kinds of chart (speedup lines, latency percentile curves, named
//! bars). What to draw is chosen in the parent module.

use super::*;

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
pub(super) type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error + 'static>>;
type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// A legend entry: its colour, whether it is dashed (a reference line), its text.
pub(super) type Entry = (RGBColor, bool, String);

/// Draws the legend in the column to the right of the plot area.
pub(super) fn draw_legend(side: &Area<'_>, entries: &[Entry]) -> DrawResult {
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
pub(super) fn ticks(lo: f64, hi: f64, units: &[(f64, &str)]) -> Vec<(f64, String)> {
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
pub(super) const NS_UNITS: &[(f64, &str)] = &[(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];
/// Units of bytes for [`ticks`].
pub(super) const BYTE_UNITS: &[(f64, &str)] = &[
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

pub(super) fn speedup(
    r: &Report,
    root: &Area<'_>,
    experiment: &str,
    binary: &str,
) -> DrawResult<Vec<Entry>> {
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

pub(super) fn latency(
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

pub(super) fn memory_bars(r: &Report) -> Vec<(String, f64)> {
    let mut bars: BTreeMap<String, f64> = BTreeMap::new();
    for c in r.cases.iter().filter(|c| c.key.experiment == "memory") {
        if let Some(v) = memory_figure(c) {
            bars.insert(format!("{} {}", c.key.binary, c.key.label()), v);
        }
    }
    bars.into_iter().collect()
}

/// One bar per binary and model of `experiment`, at its largest core count.
pub(super) fn named_bars(
    r: &Report,
    experiment: &str,
    get: fn(&Case) -> Option<f64>,
) -> Vec<(String, f64)> {
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
pub(super) fn bars(
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

//! `summary.md`: provenance, the claims table, and per experiment the merged
//! cases, their scaling and their plots, as hand-formatted Markdown tables
//! (numbers right-aligned, columns padded so the raw text reads too).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::Report;
use crate::merge::Case;
use crate::plot::{Kind, Plot};
use crate::scaling::{Point, baseline, point};
use record::fmt::{fmt_bytes, fmt_count, fmt_ns, fmt_num, fmt_ratio, fmt_si, opt};

/// The order experiments appear in (the seed notes' order); others follow alphabetically.
const EXPERIMENT_ORDER: &[&str] = &[
    "kitchen",
    "cpu",
    "gil",
    "requests",
    "stall",
    "wouldblock",
    "spawn",
    "memory",
    "pingpong",
    "share",
    "race",
    "echo",
];

/// A Markdown table under construction.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns; a name starting with `>` is right-aligned (the `>` is dropped).
    pub fn new(columns: &[&str]) -> Table {
        Table {
            header: columns
                .iter()
                .map(|c| c.trim_start_matches('>').to_string())
                .collect(),
            right: columns.iter().map(|c| c.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// Drops the columns in which every row is `-` or empty.
    pub fn drop_empty_columns(&mut self) {
        let keep: Vec<bool> = (0..self.header.len())
            .map(|i| self.rows.iter().any(|r| !matches!(r[i].as_str(), "" | "-")))
            .collect();
        let filter = |v: &mut Vec<String>| {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        };
        filter(&mut self.header);
        for r in &mut self.rows {
            filter(r);
        }
        let mut i = 0;
        self.right.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }

    /// The table as Markdown.
    pub fn render(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let cells: Vec<Vec<String>> = std::iter::once(&self.header)
            .chain(&self.rows)
            .map(|r| r.iter().map(|c| esc(c)).collect())
            .collect();
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(3)
            })
            .collect();
        let line = |r: &[String]| {
            let parts: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = widths[i] - c.chars().count();
                    if self.right[i] {
                        format!("{}{c}", " ".repeat(pad))
                    } else {
                        format!("{c}{}", " ".repeat(pad))
                    }
                })
                .collect();
            format!("| {} |\n", parts.join(" | "))
        };
        let mut out = line(&cells[0]);
        let rule: Vec<String> = widths
            .iter()
            .zip(&self.right)
            .map(|(w, r)| {
                if *r {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    "-".repeat(*w)
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &cells[1..] {
            out.push_str(&line(r));
        }
        out
    }
}

fn experiments(r: &Report) -> Vec<String> {
    let present: BTreeSet<&str> = r.cases.iter().map(|c| c.key.experiment.as_str()).collect();
    let mut out: Vec<String> = EXPERIMENT_ORDER
        .iter()
        .filter(|e| present.contains(*e))
        .map(|e| e.to_string())
        .collect();
    out.extend(
        present
            .into_iter()
            .filter(|e| !EXPERIMENT_ORDER.contains(e))
            .map(String::from),
    );
    out
}

/// The whole `summary.md`; `plots` are linked where given.
pub fn summary(r: &Report, plots: &[Plot]) -> String {
    let mut s = String::new();
    s.push_str("# conpar report\n\n");
    provenance(r, &mut s);
    s.push_str("## Claims\n\n");
    let mut t = Table::new(&["claim", "verdict", "the numbers behind it", "basis"]);
    for c in &r.claims {
        let verdict = match &c.reason {
            Some(r) => format!("**{}**: {r}", c.status.word()),
            None => format!("**{}**", c.status.word()),
        };
        t.row(vec![
            format!("{} {}", c.id(), c.statement),
            verdict,
            c.evidence.clone(),
            c.basis.clone(),
        ]);
    }
    s.push_str(&t.render());
    s.push_str(HOW_TO_READ);
    s.push_str(&crate::python::section(r));
    for e in experiments(r) {
        experiment_section(r, &e, plots, &mut s);
    }
    if let Some(p) = plots.iter().find(|p| p.kind == Kind::Memory) {
        let _ = write!(
            s,
            "\n## Memory per unit, every binary\n\n![memory per unit]({})\n",
            p.file
        );
    }
    s
}

const HOW_TO_READ: &str = "
How to read the tables: a row merges every repetition of one case (experiment × binary × model × variant × cores).
Latency percentiles come from the repetitions' histograms added together, never from averaged percentiles;
ops/s is all operations over all wall time, and the spread across repetitions is shown apart (min / median / max).
*×1 core* is ops/s over the same model's ops/s at one core, *eff.* that divided by the CPUs the model used;
*in-run ×* is the record's own speedup over the `sequential` model of the same run (median over repetitions).
*K–F* (Karp–Flatt) is the serial fraction implied at one core count, and the *serial fraction* is Amdahl's law
fitted by least squares over the core counts, both on the in-run speedup where there is one (else on ×1 core).
Claims: a claim the binaries decide is decided at the largest core count where a record decides it (the seed's own
case first), *held in k of n*; C3, C7, C10 and C12 are computed here from the numbers of several core counts or binaries.
One run on one machine is never the whole truth: compare the spread, and repeat on your own machine.
";

fn provenance(r: &Report, s: &mut String) {
    let files: BTreeSet<&str> = r
        .loaded
        .iter()
        .map(|l| l.origin.rsplit_once(':').map_or("", |x| x.0))
        .collect();
    let binaries: BTreeSet<&str> = r.loaded.iter().map(|l| l.record.binary.as_str()).collect();
    let _ = writeln!(
        s,
        "{} records from {} file(s); binaries: {}; experiments: {}.\n",
        r.loaded.len(),
        files.len(),
        binaries.into_iter().collect::<Vec<_>>().join(", "),
        experiments(r).join(", ")
    );
    let mut machines: BTreeMap<Vec<String>, (BTreeSet<String>, String, String)> = BTreeMap::new();
    for l in &r.loaded {
        let m = &l.record.machine;
        let key = vec![
            m.hostname.clone(),
            format!(
                "{}{}",
                m.cpu_model,
                if m.virtualization.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", m.virtualization)
                }
            ),
            format!("{} ({})", m.allowed_cpu_count, m.allowed_cpus),
            fmt_bytes(m.mem_total_bytes as f64),
            m.kernel.clone(),
            m.rustc.clone(),
        ];
        let e = machines
            .entry(key)
            .or_insert_with(|| (BTreeSet::new(), m.timestamp.clone(), m.timestamp.clone()));
        let dirty = if m.git_dirty == "true" {
            " (dirty)"
        } else {
            ""
        };
        e.0.insert(format!(
            "{}{dirty}",
            m.git_rev.chars().take(12).collect::<String>()
        ));
        if m.timestamp < e.1 {
            e.1 = m.timestamp.clone();
        }
        if m.timestamp > e.2 {
            e.2 = m.timestamp.clone();
        }
    }
    let mut t = Table::new(&[
        "host",
        "CPU",
        "CPUs allowed",
        "memory",
        "kernel",
        "rustc",
        "git",
        "measured",
    ]);
    for (k, (revs, from, to)) in &machines {
        let mut row = k.clone();
        row.push(revs.iter().cloned().collect::<Vec<_>>().join(", "));
        row.push(if from == to {
            from.clone()
        } else {
            format!("{from} – {to}")
        });
        t.row(row);
    }
    s.push_str(&t.render());
    s.push('\n');
    let mut warnings = Vec::new();
    if machines.len() > 1 {
        warnings.push(format!(
            "these records come from {} different machines or toolchains: compare numbers only within one",
            machines.len()
        ));
    }
    let debug = r
        .loaded
        .iter()
        .filter(|l| l.record.machine.profile != "release")
        .count();
    if debug > 0 {
        warnings.push(format!(
            "{debug} record(s) come from a debug build: their numbers say nothing about real costs"
        ));
    }
    for c in r.cases.iter().filter(|c| c.checksums.len() > 1) {
        warnings.push(format!(
            "{} {} {} at {} cores: the repetitions' checksums differ ({}): they did not do the same work",
            c.key.experiment,
            c.key.binary,
            c.key.label(),
            c.cores,
            c.checksums.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    for w in warnings {
        let _ = writeln!(s, "> **Warning:** {w}\n");
    }
}

/// The figures of a case that have no column of their own, `name=median`.
fn figures_cell(c: &Case) -> String {
    c.figures
        .keys()
        .filter(|k| !matches!(k.as_str(), "speedup" | "efficiency"))
        .filter_map(|k| c.figure(k).map(|v| format!("{k}={}", fmt_num(v))))
        .collect::<Vec<_>>()
        .join(" ")
}

fn experiment_section(r: &Report, e: &str, plots: &[Plot], s: &mut String) {
    let _ = writeln!(s, "\n## {e}\n");
    let cases: Vec<&Case> = r.cases.iter().filter(|c| c.key.experiment == e).collect();
    let mut t = Table::new(&[
        "binary",
        "model",
        "case",
        ">cores",
        ">reps",
        ">ops",
        ">ops/s",
        ">ops/s min / med / max",
        ">wall (median)",
        ">p50",
        ">p99",
        ">p99.9",
        ">×1 core",
        ">eff.",
        ">K–F",
        ">in-run ×",
        ">RSS",
        "figures (median)",
    ]);
    for c in &cases {
        let base = baseline(&r.cases, &c.key);
        let p: Point = point(c, base);
        let q = |x: f64| opt(c.quantile_ns(x).map(|v| v as f64), fmt_ns);
        let sp = c.ops_per_s_spread;
        t.row(vec![
            c.key.binary.clone(),
            c.key.model.clone(),
            c.key.case_label(),
            c.cores.to_string(),
            c.reps.to_string(),
            fmt_count(c.ops as f64),
            fmt_si(p.ops_per_s),
            if c.reps > 1 {
                format!(
                    "{} / {} / {}",
                    fmt_si(sp.min),
                    fmt_si(sp.median),
                    fmt_si(sp.max)
                )
            } else {
                "-".into()
            },
            fmt_ns(c.wall_ns_spread.median),
            q(0.5),
            q(0.99),
            q(0.999),
            if c.cores == 1 {
                "-".into()
            } else {
                opt(p.speedup, fmt_ratio)
            },
            if c.cores == 1 {
                "-".into()
            } else {
                opt(p.efficiency, fmt_num)
            },
            opt(p.karp_flatt, fmt_num),
            opt(p.in_run, fmt_ratio),
            fmt_bytes(c.max_rss_bytes),
            figures_cell(c),
        ]);
    }
    t.drop_empty_columns();
    s.push_str(&t.render());
    let series: Vec<_> = r
        .series
        .iter()
        .filter(|x| x.key.experiment == e && x.basis.is_some())
        .collect();
    if !series.is_empty() {
        let _ = writeln!(s, "\nScaling:\n");
        let mut t = Table::new(&[
            "binary",
            "model",
            "case",
            ">cores",
            ">×1 core",
            ">in-run ×",
            ">Karp–Flatt",
            ">serial fraction (Amdahl fit)",
            "fit on",
        ]);
        let list = |pts: &[Point], f: &dyn Fn(&Point) -> String| {
            pts.iter().map(f).collect::<Vec<_>>().join(", ")
        };
        for x in series {
            t.row(vec![
                x.key.binary.clone(),
                x.key.model.clone(),
                x.key.case_label(),
                list(&x.points, &|p| p.cores.to_string()),
                list(&x.points, &|p| opt(p.speedup, fmt_ratio)),
                list(&x.points, &|p| opt(p.in_run, fmt_ratio)),
                list(&x.points, &|p| opt(p.karp_flatt, fmt_num)),
                opt(x.serial_fraction, fmt_num),
                x.basis.map_or("-", |b| b.words()).to_string(),
            ]);
        }
        t.drop_empty_columns();
        s.push_str(&t.render());
    }
    let mine: Vec<&Plot> = plots.iter().filter(|p| p.experiment() == Some(e)).collect();
    if !mine.is_empty() {
        s.push('\n');
        for p in mine {
            let _ = writeln!(s, "![{}]({})", p.file.trim_end_matches(".svg"), p.file);
        }
    }
}

//! `summary.md`: provenance, the claims table, and per experiment the merged
//! cases, their scaling and their plots, as hand-formatted Markdown tables
//! (numbers right-aligned, columns padded so the raw text reads too).

use std::collections::BTreeSet;
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

    /// The table as an HTML `<table>` (cells escaped; numeric columns right-aligned).
    pub fn html(&self) -> String {
        let mut out = String::from("<table>\n<thead><tr>");
        for (h, r) in self.header.iter().zip(&self.right) {
            let class = if *r { " class=\"num\"" } else { "" };
            out.push_str(&format!("<th{class}>{}</th>", crate::html::escape(h)));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (c, r) in row.iter().zip(&self.right) {
                let class = if *r { " class=\"num\"" } else { "" };
                out.push_str(&format!("<td{class}>{}</td>", crate::html::escape(c)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
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

/// The experiments of the report, in the seed notes' order.
pub fn experiments(r: &Report) -> Vec<String> {
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
    claims_section(r, &mut s);
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

/// How to read the tables, in prose (summary.md and index.html).
pub const HOW_TO_READ: &str = "
How to read the tables: a row merges every repetition of one case (experiment × binary × model × variant × cores).
Latency percentiles come from the repetitions' histograms added together, never from averaged percentiles;
ops/s is all operations over all wall time, and the spread across repetitions is shown apart (min / median / max).
*×1 core* is ops/s over the same model's ops/s at one core, *eff.* that divided by the CPUs the model used;
*in-run ×* is the record's own speedup over the `sequential` model of the same run (median over repetitions).
*K–F* (Karp–Flatt) is the serial fraction implied at one core count, and the *serial fraction* is Amdahl's law
fitted by least squares over the core counts, both on the in-run speedup where there is one (else on ×1 core).
Claims: a claim the binaries decide is decided at the largest core count where a record decides it (the seed's own
case first) by the majority of its repetitions (*held in k of n*); C3, C7, C10 and C12 are computed here from the
numbers of several core counts or binaries. *Inconclusive* always names the measured reason (other programs took
the CPUs, the racing threads never met, too few samples); on an idle machine a contradicted claim *does not hold*.
One run on one machine is never the whole truth: compare the spread, and repeat on your own machine.
";

/// The claims: a table of outcomes (one column per machine), then each
/// claim's evidence and basis as prose, so no line of the table runs long.
fn claims_section(r: &Report, s: &mut String) {
    let many = r.machines.len() > 1;
    let mut head = vec!["claim".to_string()];
    if many {
        head.extend(r.machines.iter().cloned());
    } else {
        head.push("verdict".into());
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(&head);
    for (i, c) in r.claims.iter().enumerate() {
        let mut row = vec![format!("{} {}", c.id(), c.statement)];
        for rows in &r.claims_by_machine {
            let m = &rows[i];
            row.push(match &m.reason {
                Some(why) => format!("**{}**: {why}", m.status.word()),
                None => format!("**{}**", m.status.word()),
            });
        }
        t.row(row);
    }
    s.push_str(&t.render());
    for (m, rows) in r.machines.iter().zip(&r.claims_by_machine) {
        if many {
            let _ = writeln!(s, "\n### The numbers behind them on {m}");
        } else {
            s.push_str("\n### The numbers behind them\n");
        }
        for c in rows
            .iter()
            .filter(|c| c.status != crate::claims::Status::NotMeasured)
        {
            let _ = writeln!(
                s,
                "\n- **{}** ({}): {}",
                c.id(),
                c.status.word(),
                c.evidence
            );
            let _ = writeln!(s, "  — {}", c.basis);
        }
        let unmeasured: Vec<String> = rows
            .iter()
            .filter(|c| c.status == crate::claims::Status::NotMeasured)
            .map(|c| format!("{} ({})", c.id(), c.basis))
            .collect();
        if !unmeasured.is_empty() {
            let _ = writeln!(s, "\nNot measured: {}.", unmeasured.join("; "));
        }
    }
}

/// `N records from F file(s); binaries: …; experiments: ….`
pub fn provenance_line(r: &Report) -> String {
    let p = &r.provenance;
    format!(
        "{} records from {} file(s); binaries: {}; experiments: {}.",
        p.records,
        p.files.len(),
        p.binaries.iter().cloned().collect::<Vec<_>>().join(", "),
        experiments(r).join(", ")
    )
}

/// Where and with what the records were measured: one row per machine.
pub fn machines_table(r: &Report) -> Table {
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
    for (k, (revs, from, to)) in &r.provenance.machines {
        let mut row = k.clone();
        row.push(revs.iter().cloned().collect::<Vec<_>>().join(", "));
        row.push(if from == to {
            from.clone()
        } else {
            format!("{from} – {to}")
        });
        t.row(row);
    }
    t
}

/// What a reader must know before trusting the numbers.
pub fn warnings(r: &Report) -> Vec<String> {
    let p = &r.provenance;
    let mut warnings = Vec::new();
    if p.machines.len() > 1 {
        warnings.push(format!(
            "these records come from {} different machines or toolchains: their cases are kept apart, one column per machine",
            p.machines.len()
        ));
    }
    if p.debug_records > 0 {
        warnings.push(format!(
            "{} record(s) come from a debug build: their numbers say nothing about real costs",
            p.debug_records
        ));
    }
    for c in r
        .cases
        .iter()
        .filter(|c| c.checksums.len() > 1 && c.same_ops)
    {
        warnings.push(format!(
            "{} {} {} at {} cores: the repetitions' checksums differ ({}): they did not do the same work",
            c.key.experiment,
            c.key.binary,
            c.key.label(),
            c.cores,
            c.checksums.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    warnings
}

fn provenance(r: &Report, s: &mut String) {
    let _ = writeln!(s, "{}\n", provenance_line(r));
    s.push_str(&machines_table(r).render());
    s.push('\n');
    for w in warnings(r) {
        let _ = writeln!(s, "> **Warning:** {w}\n");
    }
}

/// The figures of an experiment's cases that have no column in the main
/// table, in name order.
pub fn figure_names(cases: &[&Case]) -> Vec<String> {
    let names: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.figures.keys().map(String::as_str))
        .filter(|k| !matches!(*k, "speedup" | "efficiency"))
        .collect();
    names.into_iter().map(str::to_string).collect()
}

fn experiment_section(r: &Report, e: &str, plots: &[Plot], s: &mut String) {
    let _ = writeln!(s, "\n## {e}\n");
    let cases = cases_of(r, e);
    s.push_str(&case_table(r, &cases).render());
    if let Some(t) = figure_table(&cases) {
        let _ = writeln!(s, "\nFigures (median over repetitions):\n");
        s.push_str(&t.render());
    }
    if let Some(t) = scaling_table(r, e) {
        let _ = writeln!(s, "\nScaling:\n");
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

/// The cases of experiment `e`.
pub fn cases_of<'a>(r: &'a Report, e: &str) -> Vec<&'a Case> {
    r.cases.iter().filter(|c| c.key.experiment == e).collect()
}

/// The main table of an experiment: one row per case, empty columns dropped.
pub fn case_table(r: &Report, cases: &[&Case]) -> Table {
    let many = r.machines.len() > 1;
    let mut t = Table::new(&[
        "machine",
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
        ">others",
        ">RSS",
    ]);
    for c in cases {
        let base = baseline(&r.cases, &c.key);
        let p: Point = point(c, base);
        let q = |x: f64| opt(c.quantile_ns(x).map(|v| v as f64), fmt_ns);
        let sp = c.ops_per_s_spread;
        t.row(vec![
            if many {
                c.key.machine.clone()
            } else {
                "-".into()
            },
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
            if c.taken >= 0.05 {
                format!("{:.0} %", 100.0 * c.taken)
            } else {
                "-".into()
            },
            fmt_bytes(c.max_rss_bytes),
        ]);
    }
    t.drop_empty_columns();
    t
}

/// An experiment's figures in real columns, one per figure, each formatted
/// by the unit its name carries; `None` without figures.
pub fn figure_table(cases: &[&Case]) -> Option<Table> {
    let names = figure_names(cases);
    if names.is_empty() {
        return None;
    }
    let mut head: Vec<String> = ["binary", "model", "case", ">cores"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    head.extend(names.iter().map(|n| format!(">{n}")));
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(&head);
    for c in cases {
        let mut row = vec![
            c.key.binary.clone(),
            c.key.model.clone(),
            c.key.case_label(),
            c.cores.to_string(),
        ];
        row.extend(names.iter().map(|n| {
            c.figure(n)
                .map_or("-".to_string(), |v| record::units::show(n, v))
        }));
        t.row(row);
    }
    t.drop_empty_columns();
    Some(t)
}

/// An experiment's series across core counts; `None` without any.
pub fn scaling_table(r: &Report, e: &str) -> Option<Table> {
    let series: Vec<_> = r
        .series
        .iter()
        .filter(|x| x.key.experiment == e && x.basis.is_some())
        .collect();
    if series.is_empty() {
        return None;
    }
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
    Some(t)
}

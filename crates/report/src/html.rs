//! `index.html`: one self-contained page — styles inline, every plot an
//! inline SVG, no script, no link, nothing fetched from anywhere — that a
//! person would rather read than `summary.md`: the claims first, each
//! outcome coloured, its reason, its evidence and the plots that show it;
//! then one section per experiment with its figures in real columns
//! (formatted by unit), the scaling and the plots behind `<details>`; then
//! the machines and provenance.

use std::fmt::Write as _;

use crate::Report;
use crate::claims::{ClaimRow, Status};
use crate::markdown::{
    HOW_TO_READ, case_table, cases_of, experiments, figure_table, machines_table, provenance_line,
    scaling_table, warnings,
};
use crate::plot::{Kind, Plot};
use record::Claim;

/// Most plots shown beside one claim (the rest are in its experiments' sections).
const PLOTS_PER_CLAIM: usize = 4;

/// Binaries in the order their plots are shown beside a claim (the Rust
/// models, then CPython's, then the servers').
const BINARY_ORDER: [&str; 6] = [
    "thread",
    "process",
    "coroutine",
    "python",
    "blocking-io",
    "nonblocking-socket",
];

/// The plots shown beside `claim`, at most [`PLOTS_PER_CLAIM`]: the telling
/// kind first (`gil`'s speedup bars for C11, `quadrants`' for C13, speedup curves where the claim
/// is about scaling, memory per unit where it is about weight), then one plot
/// per binary before a second of any binary.
fn claim_plots(claim: Claim, plots: &[(Plot, String)]) -> Vec<&(Plot, String)> {
    let telling = |p: &Plot| -> u8 {
        match (&p.kind, claim) {
            (Kind::Bars { experiment }, Claim::C11) if experiment == "gil" => 0,
            (Kind::Bars { experiment }, Claim::C13) if experiment == "quadrants" => 0,
            (Kind::Memory, Claim::C7 | Claim::C10) => 0,
            (Kind::Speedup { .. }, Claim::C2 | Claim::C3 | Claim::C11) => 1,
            _ => 2,
        }
    };
    let rank = |p: &Plot| {
        p.binary().map_or(BINARY_ORDER.len(), |b| {
            BINARY_ORDER
                .iter()
                .position(|x| *x == b)
                .unwrap_or(BINARY_ORDER.len())
        })
    };
    let mut candidates: Vec<&(Plot, String)> = plots
        .iter()
        .filter(|(p, _)| claim.experiments().iter().any(|e| p.shows(e)))
        .collect();
    candidates.sort_by_key(|(p, _)| (telling(p), rank(p)));
    let mut seen = std::collections::BTreeSet::new();
    let (mut shown, rest): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|(p, _)| p.binary().is_none_or(|b| seen.insert(b)));
    shown.extend(rest);
    shown.truncate(PLOTS_PER_CLAIM);
    shown
}

/// `<`, `>`, `&`, `"` escaped for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown code spans (`` `x` ``) of already escaped text as `<code>`.
fn code_spans(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len() + 32);
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
.claim { border: 1px solid #ddd; border-left: 8px solid #999; border-radius: 4px; padding: 0.6em 1em; margin: 1em 0; }
.claim.holds { border-left-color: #2c8a2c; }
.claim.does-not-hold { border-left-color: #c62828; }
.claim.inconclusive { border-left-color: #e0a100; }
.claim.not-measured { border-left-color: #9e9e9e; }
.claim h3 { margin: 0.2em 0; }
.outcome { display: inline-block; padding: 0.1em 0.6em; border-radius: 1em; font-weight: 600; color: white; margin-right: 0.5em; }
.outcome.holds { background: #2c8a2c; }
.outcome.does-not-hold { background: #c62828; }
.outcome.inconclusive { background: #b07d00; }
.outcome.not-measured { background: #757575; }
.reason { color: #7a5500; }
.evidence { margin: 0.4em 0; }
.basis, .how { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure.plot { margin: 0.6em 0; }
figure.plot svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.85em; }
.warning { background: #fff4e5; border-left: 4px solid #e0a100; padding: 0.4em 0.8em; }
details { margin: 0.5em 0; }
summary { cursor: pointer; color: #1a5276; }
.toc a { margin-right: 0.8em; }
";

/// A CSS class for a status.
fn class(s: Status) -> &'static str {
    match s {
        Status::Holds => "holds",
        Status::DoesNotHold => "does-not-hold",
        Status::Inconclusive => "inconclusive",
        Status::NotMeasured => "not-measured",
    }
}

/// One plot, inline, with its caption; `svg` is the plot's SVG document.
fn figure(p: &Plot, svg: &str) -> String {
    let body = svg
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>").map(|x| x.1))
        .unwrap_or(svg);
    format!(
        "<figure class=\"plot\" data-plot=\"{}\">{}<figcaption>{}</figcaption></figure>\n",
        escape(&p.file),
        body.trim(),
        escape(&p.title())
    )
}

/// The page: `plots` with their SVG documents, in the order of `plot::plan`.
pub fn page(r: &Report, plots: &[(Plot, String)]) -> String {
    let mut s = String::new();
    s.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<title>conpar report</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<h1>conpar report</h1>\n");
    let _ = writeln!(s, "<p>{}</p>", escape(&provenance_line(r)));
    for w in warnings(r) {
        let _ = writeln!(s, "<p class=\"warning\">{}</p>", escape(&w));
    }
    let exps = experiments(r);
    s.push_str("<p class=\"toc\"><a href=\"#claims\">claims</a>");
    if r.cases
        .iter()
        .any(|c| crate::python::is_python(&c.key.binary))
    {
        s.push_str("<a href=\"#python\">python</a>");
    }
    for e in &exps {
        let _ = write!(s, "<a href=\"#exp-{0}\">{0}</a>", escape(e));
    }
    s.push_str("<a href=\"#machines\">machines</a></p>\n");

    s.push_str("<section id=\"claims\">\n<h2>Claims</h2>\n");
    for (i, row) in r.claims.iter().enumerate() {
        claim(r, i, row, plots, &mut s);
    }
    s.push_str("</section>\n");

    if let Some(t) = crate::python::table(r) {
        s.push_str("<section id=\"python\">\n<h2>Python beside Rust</h2>\n");
        let intro = escape(crate::python::INTRO.trim()).replace('\n', " ");
        let _ = writeln!(s, "<p>{}</p>", code_spans(&intro));
        s.push_str(&t.html());
        s.push_str("</section>\n");
    }

    for e in &exps {
        let _ = writeln!(s, "<section id=\"exp-{0}\">\n<h2>{0}</h2>", escape(e));
        let cases = cases_of(r, e);
        s.push_str(&case_table(r, &cases).html());
        if let Some(t) = figure_table(&cases) {
            s.push_str("<details open><summary>figures (median over repetitions)</summary>\n");
            s.push_str(&t.html());
            s.push_str("</details>\n");
        }
        if let Some(t) = scaling_table(r, e) {
            s.push_str("<details><summary>scaling across core counts</summary>\n");
            s.push_str(&t.html());
            s.push_str("</details>\n");
        }
        let mine: Vec<&(Plot, String)> = plots
            .iter()
            .filter(|(p, _)| p.experiment() == Some(e.as_str()))
            .collect();
        if !mine.is_empty() {
            let _ = writeln!(s, "<details open><summary>plots ({})</summary>", mine.len());
            for (p, svg) in mine {
                s.push_str(&figure(p, svg));
            }
            s.push_str("</details>\n");
        }
        s.push_str("</section>\n");
    }
    if let Some((p, svg)) = plots.iter().find(|(p, _)| p.experiment().is_none()) {
        s.push_str("<section id=\"memory-per-unit\">\n<h2>Memory per unit, every binary</h2>\n");
        s.push_str(&figure(p, svg));
        s.push_str("</section>\n");
    }
    s.push_str("<section id=\"machines\">\n<h2>Machines and provenance</h2>\n");
    s.push_str(&machines_table(r).html());
    let _ = writeln!(
        s,
        "<p class=\"how\">{}</p>",
        escape(HOW_TO_READ.trim()).replace('\n', " ")
    );
    s.push_str("</section>\n</body>\n</html>\n");
    s
}

/// One claim's card: its outcome on every machine, reason, evidence, basis, plots.
fn claim(r: &Report, i: usize, row: &ClaimRow, plots: &[(Plot, String)], s: &mut String) {
    let _ = writeln!(
        s,
        "<article class=\"claim {}\" id=\"claim-{}\">\n<h3>{} {}</h3>",
        class(row.status),
        row.id(),
        row.id(),
        escape(row.statement)
    );
    let many = r.machines.len() > 1;
    for (m, rows) in r.machines.iter().zip(&r.claims_by_machine) {
        let c = &rows[i];
        let on = if many {
            format!(" on {}", escape(m))
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<p><span class=\"outcome {}\">{}</span>{on}",
            class(c.status),
            c.status.word()
        );
        if let Some(why) = &c.reason {
            let _ = write!(s, " <span class=\"reason\">{}</span>", escape(why));
        }
        s.push_str("</p>\n");
        if !c.evidence.is_empty() {
            let _ = writeln!(s, "<p class=\"evidence\">{}</p>", escape(&c.evidence));
        }
        let _ = writeln!(
            s,
            "<details><summary>how it was decided</summary><p class=\"basis\">{}</p></details>",
            escape(&c.basis)
        );
    }
    for (p, svg) in claim_plots(row.claim, plots) {
        s.push_str(&figure(p, svg));
    }
    s.push_str("</article>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code() {
        assert_eq!(
            code_spans("a `b` c `d`"),
            "a <code>b</code> c <code>d</code>"
        );
        assert_eq!(code_spans("no code"), "no code");
    }

    fn latency(experiment: &str, binary: &str) -> (Plot, String) {
        let p = Plot {
            file: format!("latency-{experiment}-{binary}.svg"),
            kind: Kind::Latency {
                experiment: experiment.into(),
                group: binary.into(),
                members: vec![binary.into()],
            },
        };
        (p, String::new())
    }

    fn files(shown: &[&(Plot, String)]) -> Vec<String> {
        shown.iter().map(|(p, _)| p.file.clone()).collect()
    }

    #[test]
    fn claim_plots_put_the_telling_kind_first_and_spread_binaries() {
        let mut plots: Vec<(Plot, String)> = ["coroutine", "process", "python", "thread"]
            .iter()
            .map(|b| latency("spawn", b))
            .collect();
        plots.push(latency("spawn", "thread"));
        plots.push((
            Plot {
                file: "memory-per-unit.svg".into(),
                kind: Kind::Memory,
            },
            String::new(),
        ));
        let shown = claim_plots(Claim::C7, &plots);
        assert_eq!(
            files(&shown),
            [
                "memory-per-unit.svg",
                "latency-spawn-thread.svg",
                "latency-spawn-process.svg",
                "latency-spawn-coroutine.svg"
            ]
        );
        // Nothing of another claim's experiments.
        assert!(claim_plots(Claim::C12, &plots).is_empty());
        // A second plot of a binary only once every binary has one.
        let two: Vec<(Plot, String)> = vec![
            latency("spawn", "thread"),
            latency("spawn", "thread"),
            latency("spawn", "python"),
        ];
        let shown = claim_plots(Claim::C7, &two);
        assert_eq!(shown[1].0.binary(), Some("python"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
    }
}

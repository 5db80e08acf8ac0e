//! The verdict table the sweep prints on stderr as it ends: every claim, its
//! outcome, one line of evidence, the reason when inconclusive, and a hint
//! for what to do about it — read from the `claims.csv` that `report` wrote.

use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets};

/// One claim's row of `claims.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `C1`…
    pub id: String,
    /// `holds`, `does not hold`, `inconclusive`, `not measured`.
    pub verdict: String,
    /// Why it is inconclusive.
    pub reason: String,
    /// The numbers behind it.
    pub evidence: String,
}

/// The rows of `claims.csv` in `dir`.
pub fn read(dir: &Path) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(dir.join("claims.csv"))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (id, verdict, reason, evidence) =
        (col("claim"), col("verdict"), col("reason"), col("evidence"));
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        out.push(Row {
            id: get(id),
            verdict: get(verdict),
            reason: get(reason),
            evidence: get(evidence),
        });
    }
    Ok(out)
}

/// The first clause of `text`, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let first = text.split("; ").next().unwrap_or("");
    if first.chars().count() <= max {
        first.to_string()
    } else {
        let cut: String = first.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The table and its hints, for a terminal `width` characters wide.
pub fn render(rows: &[Row], width: u16) -> String {
    let any_reason = rows.iter().any(|r| !r.reason.is_empty());
    let mut header = vec!["claim", "outcome", "evidence"];
    if any_reason {
        header.push("why inconclusive");
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(header);
    for r in rows {
        let mut row = vec![r.id.clone(), r.verdict.clone(), one_line(&r.evidence, 80)];
        if any_reason {
            row.push(r.reason.clone());
        }
        t.add_row(row);
    }
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    let (holds, fails, unsure, unmeasured) = (
        count("holds"),
        count("does not hold"),
        count("inconclusive"),
        count("not measured"),
    );
    let mut out = format!("{t}\n{holds} of {} claims hold", rows.len());
    if fails > 0 {
        out.push_str(&format!(", {fails} do(es) not hold"));
    }
    if unsure > 0 {
        out.push_str(&format!(", {unsure} inconclusive"));
    }
    if unmeasured > 0 {
        out.push_str(&format!(", {unmeasured} not measured"));
    }
    out.push('\n');
    if unsure > 0 {
        out.push_str(
            "hint: an inconclusive claim is one this run could not show either way, usually because other \
             programs kept its CPUs busy (the reason says how busy); close other programs, or rerun with \
             --reps 5 so that the majority of repetitions decides\n",
        );
    }
    if fails > 0 {
        out.push_str(
            "hint: a claim that does not hold was contradicted while the CPUs were free: that is a finding; \
             its numbers are in summary.md\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, verdict: &str, reason: &str) -> Row {
        Row {
            id: id.into(),
            verdict: verdict.into(),
            reason: reason.into(),
            evidence: "first clause; second clause".into(),
        }
    }

    #[test]
    fn the_table_counts_outcomes_and_gives_hints() {
        let rows = [
            row("C1", "holds", ""),
            row("C2", "inconclusive", "other programs took 48 % of the CPUs"),
            row("C3", "does not hold", ""),
        ];
        let t = render(&rows, 120);
        assert!(
            t.contains("1 of 3 claims hold, 1 do(es) not hold, 1 inconclusive"),
            "{t}"
        );
        assert!(
            t.contains("48 %") && t.contains("--reps 5") && t.contains("a finding"),
            "{t}"
        );
        assert!(
            t.contains("first clause") && !t.contains("second clause"),
            "{t}"
        );
        let calm = render(&[row("C1", "holds", "")], 80);
        assert!(
            !calm.contains("hint") && !calm.contains("why inconclusive"),
            "{calm}"
        );
    }

    #[test]
    fn reads_what_report_writes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("claims.csv"),
            "claim,statement,verdict,reason,evidence,basis\nC1,x,holds,,\"a, b\",z\n",
        )
        .unwrap();
        let rows = read(dir.path()).unwrap();
        assert_eq!(
            rows,
            [Row {
                id: "C1".into(),
                verdict: "holds".into(),
                reason: String::new(),
                evidence: "a, b".into(),
            }]
        );
    }
}

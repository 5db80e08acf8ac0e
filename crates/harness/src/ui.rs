//! What a person reads on stderr: a progress line while cases run (drawn only
//! when stderr is a terminal, and without a background tick thread, so `fork`
//! stays safe), notes as they come, and when the run ends — or stops on an
//! error — a table of every case (width-aware, its figures in columns of
//! their own, empty columns dropped) followed by the verdicts.

use std::time::Instant;

use std::io::IsTerminal as _;

use comfy_table::{ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use record::Record;
pub use record::fmt::{fmt_ns, fmt_si};

/// The fixed columns of the case table; the figures follow.
const COLUMNS: [&str; 10] = [
    "model", "variant", "rep", "ops", "wall", "ops/s", "p50", "p99", "others", "verdict",
];

/// Prints the error line of a failed run.
pub fn error(msg: &str) {
    eprintln!("error: {msg}");
}

/// One case as the table shows it: the fixed cells, then its figures.
struct Row {
    cells: Vec<String>,
    figures: Vec<(String, String)>,
}

/// The stderr side of a session.
pub(crate) struct Ui {
    quiet: bool,
    bar: ProgressBar,
    started: Instant,
    rows: Vec<Row>,
    verdicts: Vec<String>,
    shown: bool,
}

impl Ui {
    pub(crate) fn new(quiet: bool) -> Ui {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{prefix:.dim} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        };
        Ui {
            quiet,
            bar,
            started: Instant::now(),
            rows: Vec::new(),
            verdicts: Vec::new(),
            shown: false,
        }
    }

    fn line(&self, s: &str) {
        self.bar.suspend(|| eprintln!("{s}"));
    }

    /// The run's title line.
    pub(crate) fn title(&self, s: &str) {
        if !self.quiet {
            self.line(s);
        }
    }

    /// Shows which case runs now.
    pub(crate) fn running(&self, what: &str) {
        if !self.quiet {
            self.bar
                .set_prefix(format!("[{:>5.1}s]", self.started.elapsed().as_secs_f64()));
            self.bar.set_message(format!("running {what} …"));
        }
    }

    /// One finished case: a row of the table printed at the end.
    pub(crate) fn case(&mut self, r: &Record) {
        let (p50, p99) = r.latency.as_ref().map_or(("-".into(), "-".into()), |l| {
            (fmt_ns(l.p50_ns as f64), fmt_ns(l.p99_ns as f64))
        });
        let others = r
            .interference
            .map(|i| i.taken_fraction())
            .filter(|t| *t >= 0.05)
            .map_or("-".to_string(), |t| format!("{:.0}%", 100.0 * t));
        let verdict = r.verdict.as_ref().map_or("-".to_string(), |v| {
            format!("{} {}", v.claim, v.outcome.word())
        });
        self.rows.push(Row {
            cells: vec![
                r.model.clone(),
                r.variant.clone(),
                r.rep.to_string(),
                record::fmt::fmt_count(r.ops as f64),
                fmt_ns(r.wall_ns as f64),
                fmt_si(r.ops_per_s),
                p50,
                p99,
                others,
                verdict,
            ],
            figures: r
                .figures
                .iter()
                .map(|(k, v)| (k.clone(), record::units::show(k, *v)))
                .collect(),
        });
    }

    /// A verdict line, printed after the table (even when quiet).
    pub(crate) fn verdict(&mut self, s: &str) {
        self.verdicts.push(format!("  => {s}"));
    }

    /// A note for the reader (skipped cases, caveats): printed even when quiet.
    pub(crate) fn note(&self, s: &str) {
        self.line(&format!("  note: {s}"));
    }

    /// Ends the progress line and prints the table and the verdicts.
    pub(crate) fn done(&mut self) {
        self.bar.finish_and_clear();
        if self.shown {
            return;
        }
        self.shown = true;
        if !self.quiet && !self.rows.is_empty() {
            eprintln!("{}", self.table());
        }
        for v in &self.verdicts {
            eprintln!("{v}");
        }
    }

    /// The cases as a table: fixed columns, then one per figure; a column
    /// empty in every row is dropped; as wide as the terminal (no wrapping
    /// when stderr is not one, so logs keep one line per case).
    fn table(&self) -> String {
        let mut names: Vec<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.figures.iter().map(|f| f.0.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut head: Vec<&str> = COLUMNS.to_vec();
        head.extend(&names);
        let grid: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = r.cells.clone();
                cells.extend(names.iter().map(|n| {
                    r.figures
                        .iter()
                        .find(|f| f.0 == *n)
                        .map_or("-".to_string(), |f| f.1.clone())
                }));
                cells
            })
            .collect();
        let keep: Vec<bool> = (0..head.len())
            .map(|i| grid.iter().any(|r| !matches!(r[i].as_str(), "" | "-")))
            .collect();
        let pick = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c)
                .collect()
        };
        let mut t = Table::new();
        t.load_preset(presets::UTF8_BORDERS_ONLY)
            .set_header(pick(head.iter().map(|h| h.to_string()).collect()));
        if std::io::stderr().is_terminal() {
            t.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        for r in grid {
            t.add_row(pick(r));
        }
        t.to_string()
    }
}

impl Drop for Ui {
    /// A run that stops on an error still shows the cases it measured.
    fn drop(&mut self) {
        self.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        assert_eq!(fmt_ns(812.0), "812 ns");
        assert_eq!(fmt_ns(4_210.0), "4.21 µs");
        assert_eq!(fmt_ns(1.3e9), "1.30 s");
        assert_eq!(fmt_si(1_234_567.0), "1.23 M");
        assert_eq!(fmt_si(12.0), "12.0");
        let mut ui = Ui::new(true);
        assert!(ui.rows.is_empty());
        ui.shown = true;
    }
}

//! What a person reads on stderr: one line per case as it finishes, the
//! verdicts, notes and errors, and a progress line (drawn only when stderr is
//! a terminal, and without a background tick thread, so `fork` stays safe).

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use record::Record;
pub use record::fmt::{fmt_ns, fmt_si};

fn fmt_figure(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e4 {
        fmt_si(v)
    } else {
        format!("{v:.3}")
    }
}

/// Prints the error line of a failed run.
pub fn error(msg: &str) {
    eprintln!("error: {msg}");
}

/// The stderr side of a session.
pub(crate) struct Ui {
    quiet: bool,
    bar: ProgressBar,
    started: Instant,
    header_done: bool,
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
            header_done: false,
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

    /// One finished case.
    pub(crate) fn case(&mut self, r: &Record) {
        if self.quiet {
            return;
        }
        if !self.header_done {
            self.line(&format!(
                "  {:<26} {:<14} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}  figures",
                "model", "variant", "rep", "ops", "wall", "ops/s", "p50", "p99", "others"
            ));
            self.header_done = true;
        }
        let (p50, p99) = r.latency.as_ref().map_or(("-".into(), "-".into()), |l| {
            (fmt_ns(l.p50_ns as f64), fmt_ns(l.p99_ns as f64))
        });
        let figures: Vec<String> = r
            .figures
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_figure(*v)))
            .collect();
        let others = r
            .interference
            .map(|i| i.taken_fraction())
            .filter(|t| *t >= 0.05)
            .map_or("-".to_string(), |t| format!("{:.0}%", 100.0 * t));
        self.line(&format!(
            "  {:<26} {:<14} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}  {}",
            r.model,
            r.variant,
            r.rep,
            fmt_si(r.ops as f64),
            fmt_ns(r.wall_ns as f64),
            fmt_si(r.ops_per_s),
            p50,
            p99,
            others,
            figures.join(" ")
        ));
    }

    /// A verdict line: printed even when quiet.
    pub(crate) fn verdict(&self, s: &str) {
        self.line(&format!("  => {s}"));
    }

    /// A note for the reader (skipped cases, caveats): printed even when quiet.
    pub(crate) fn note(&self, s: &str) {
        self.line(&format!("  note: {s}"));
    }

    pub(crate) fn done(&self) {
        self.bar.finish_and_clear();
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
        assert_eq!(fmt_figure(3.0), "3");
        assert_eq!(fmt_figure(0.5), "0.500");
    }
}

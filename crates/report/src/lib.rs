//! `report`: reads conpar records and writes the comparison tables, plots
//! and the verdict on every claim.
//!
//! It is pure — records in, text out — and never runs a benchmark:
//!
//! ```text
//! load (every line checked) ─► merge (histograms added, spread kept) ─► scaling (speedup, Karp–Flatt, Amdahl)
//!                                                                   └─► claims (C1–C12, by record::claims)
//!                                  ─► summary.md, cases.csv, scaling.csv, figures.csv, claims.csv, *.svg
//! ```

pub mod claims;
pub mod csv_out;
pub mod load;
pub mod markdown;
pub mod merge;
pub mod plot;
pub mod python;
pub mod scaling;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::claims::ClaimRow;

/// An error in what the user asked for (a malformed record, a path that
/// cannot be read, an `--out` that cannot be written): `report` exits 2 for
/// these, 1 for anything else.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
use crate::load::Loaded;
use crate::merge::Case;
use crate::scaling::Series;

/// Everything the outputs are made from.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every record read, in input order.
    pub loaded: Vec<Loaded>,
    /// The merged cases, sorted by series then cores.
    pub cases: Vec<Case>,
    /// The series measured at two or more core counts.
    pub series: Vec<Series>,
    /// C1 to C12.
    pub claims: Vec<ClaimRow>,
}

impl Report {
    /// Merges, fits and decides.
    pub fn new(loaded: Vec<Loaded>) -> Report {
        let cases = merge::merge(&loaded);
        let series = scaling::series(&cases);
        let claims = claims::claims(claims::Inputs {
            loaded: &loaded,
            cases: &cases,
            series: &series,
        });
        Report {
            loaded,
            cases,
            series,
            claims,
        }
    }

    /// `summary.md`, linking `plots`.
    pub fn summary(&self, plots: &[plot::Plot]) -> String {
        markdown::summary(self, plots)
    }

    /// Every output file, name and content: summary.md, the CSV files and the plots.
    pub fn files(&self) -> anyhow::Result<Vec<(String, String)>> {
        let plots = plot::plan(self);
        let mut out = vec![
            ("summary.md".to_string(), self.summary(&plots)),
            ("cases.csv".to_string(), csv_out::cases(self)),
            ("scaling.csv".to_string(), csv_out::scaling(self)),
            ("figures.csv".to_string(), csv_out::figures(self)),
            ("claims.csv".to_string(), csv_out::claims(self)),
        ];
        for p in &plots {
            out.push((p.file.clone(), plot::render(self, p)?));
        }
        Ok(out)
    }

    /// Writes every output into `dir` (created if missing), each file
    /// atomically (a temporary file renamed over the old one). Only the
    /// report's own files are written; nothing is deleted.
    pub fn write_dir(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut written = Vec::new();
        for (name, text) in self.files()? {
            let path = dir.join(&name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| {
                format!("cannot rename {} to {}", tmp.display(), path.display())
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

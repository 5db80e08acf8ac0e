//! `report`: reads conpar records and writes the comparison tables, plots
//! and the verdict on every claim.
//!
//! It is pure — records in, text out — and never runs a benchmark:
//!
//! ```text
//! load (every line checked, streamed) ─► merge (histograms added as read, spread kept) ─► scaling (speedup, Karp–Flatt, Amdahl)
//!                                                                   └─► claims (C1–C13, by record::claims)
//!                                  ─► summary.md, cases.csv, scaling.csv, figures.csv, claims.csv, *.svg
//! ```

pub mod bencher;
pub mod claims;
pub mod compare;
pub mod csv_out;
pub mod html;
pub mod load;
pub mod markdown;
pub mod merge;
pub mod plot;
pub mod python;
pub mod scaling;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use record::{Claim, Outcome, Record};

use crate::claims::ClaimRow;
use crate::load::Loaded;
use crate::merge::{Case, Merger, Plan, Prepass, cores_of, machine_label};
use crate::scaling::Series;

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

/// A binary's own verdict, as a record carried it: all the claims table
/// keeps of a record (the record itself is not kept).
#[derive(Debug, Clone, PartialEq)]
pub struct SeenVerdict {
    /// The record's machine, by label.
    pub machine: String,
    /// Its experiment.
    pub experiment: String,
    /// Its binary.
    pub binary: String,
    /// Its core count.
    pub cores: u64,
    /// Its `orders` parameter, if any (C4's seed case).
    pub orders: Option<u64>,
    /// The claim.
    pub claim: Claim,
    /// What it said.
    pub outcome: Outcome,
    /// Why it was inconclusive.
    pub reason: Option<String>,
    /// Its sentence.
    pub text: String,
}

/// Where the records came from, in a few rows: what `summary.md` and
/// `index.html` open with.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Records read.
    pub records: usize,
    /// Files read.
    pub files: BTreeSet<String>,
    /// Binaries seen.
    pub binaries: BTreeSet<String>,
    /// Per machine (host, CPU, CPUs allowed, memory, kernel, rustc): the git
    /// revisions that measured on it, and the first and last timestamps.
    pub machines: BTreeMap<Vec<String>, (BTreeSet<String>, String, String)>,
    /// Records of a debug build.
    pub debug_records: usize,
}

impl Provenance {
    fn add(&mut self, l: &Loaded) {
        let r = &l.record;
        let m = &r.machine;
        self.records += 1;
        let file = l.origin.rsplit_once(':').map_or("", |x| x.0);
        if !self.files.contains(file) {
            self.files.insert(file.to_string());
        }
        if !self.binaries.contains(&r.binary) {
            self.binaries.insert(r.binary.clone());
        }
        if m.profile != "release" {
            self.debug_records += 1;
        }
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
            record::fmt::fmt_bytes(m.mem_total_bytes as f64),
            m.kernel.clone(),
            m.rustc.clone(),
        ];
        let e = self
            .machines
            .entry(key)
            .or_insert_with(|| (BTreeSet::new(), m.timestamp.clone(), m.timestamp.clone()));
        let dirty = if m.git_dirty == "true" {
            " (dirty)"
        } else {
            ""
        };
        let rev = format!("{}{dirty}", m.git_rev.chars().take(12).collect::<String>());
        if !e.0.contains(&rev) {
            e.0.insert(rev);
        }
        if m.timestamp < e.1 {
            e.1 = m.timestamp.clone();
        }
        if m.timestamp > e.2 {
            e.2 = m.timestamp.clone();
        }
    }
}

/// The second pass over the records: cases, provenance and verdicts.
#[derive(Debug)]
struct Collector {
    merger: Merger,
    provenance: Provenance,
    verdicts: Vec<SeenVerdict>,
}

impl Collector {
    fn new(plan: Plan) -> Collector {
        Collector {
            merger: Merger::new(plan),
            provenance: Provenance::default(),
            verdicts: Vec::new(),
        }
    }

    fn add(&mut self, l: Loaded) {
        self.provenance.add(&l);
        let r: &Record = &l.record;
        if let Some(v) = &r.verdict {
            self.verdicts.push(SeenVerdict {
                machine: machine_label(&r.machine),
                experiment: r.experiment.clone(),
                binary: r.binary.clone(),
                cores: cores_of(r),
                orders: r.param_u64("orders"),
                claim: v.claim,
                outcome: v.outcome,
                reason: v.reason.clone(),
                text: v.text.clone(),
            });
        }
        self.merger.add(r, l.histogram);
    }

    fn finish(self, machines: Vec<String>) -> Report {
        let cases = self.merger.finish();
        Report::assemble(self.provenance, machines, cases, self.verdicts)
    }
}

/// Everything the outputs are made from: the merged cases and what the
/// report kept of each record (its provenance and its verdict), never the
/// records themselves.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the records came from.
    pub provenance: Provenance,
    /// The machines, by label (one column each where there are several).
    pub machines: Vec<String>,
    /// The merged cases, sorted by series then cores.
    pub cases: Vec<Case>,
    /// The series measured at two or more core counts.
    pub series: Vec<Series>,
    /// The binaries' own verdicts.
    pub verdicts: Vec<SeenVerdict>,
    /// C1 to C13, on the first machine (the only one, usually).
    pub claims: Vec<ClaimRow>,
    /// The claims on each machine, in the order of `machines`.
    pub claims_by_machine: Vec<Vec<ClaimRow>>,
}

impl Report {
    /// Merges, fits and decides, from records in memory.
    pub fn new(loaded: Vec<Loaded>) -> Report {
        let mut pre = Prepass::default();
        loaded.iter().for_each(|l| pre.add(&l.record));
        let plan = pre.finish();
        let machines = plan.machines.clone();
        let mut c = Collector::new(plan);
        loaded.into_iter().for_each(|l| c.add(l));
        c.finish(machines)
    }

    /// Merges, fits and decides, streaming the records of `paths` twice (a
    /// first pass for the machines and the splitting parameters, a second
    /// that adds each record into its case): memory grows with the cases,
    /// not with the records.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Report, UsageError> {
        let mut pre = Prepass::default();
        load::for_each(paths, false, |l| pre.add(&l.record))?;
        let plan = pre.finish();
        let machines = plan.machines.clone();
        let mut c = Collector::new(plan);
        load::for_each(paths, true, |l| c.add(l))?;
        Ok(c.finish(machines))
    }

    fn assemble(
        provenance: Provenance,
        machines: Vec<String>,
        cases: Vec<Case>,
        verdicts: Vec<SeenVerdict>,
    ) -> Report {
        let series = scaling::series(&cases);
        let claims_by_machine: Vec<Vec<ClaimRow>> = machines
            .iter()
            .map(|m| {
                let key = if machines.len() > 1 { m.as_str() } else { "" };
                claims::claims(claims::Inputs {
                    machine: m,
                    machine_key: key,
                    verdicts: &verdicts,
                    cases: &cases,
                    series: &series,
                })
            })
            .collect();
        Report {
            provenance,
            claims: claims_by_machine.first().cloned().unwrap_or_default(),
            claims_by_machine,
            machines,
            cases,
            series,
            verdicts,
        }
    }

    /// `summary.md`, linking `plots`.
    pub fn summary(&self, plots: &[plot::Plot]) -> String {
        markdown::summary(self, plots)
    }

    /// Every output file, name and content: index.html, summary.md, the
    /// CSV files and the plots.
    pub fn files(&self) -> anyhow::Result<Vec<(String, String)>> {
        let plots = plot::plan(self);
        let drawn: Vec<(plot::Plot, String)> = plots
            .iter()
            .map(|p| plot::render(self, p).map(|svg| (p.clone(), svg)))
            .collect::<anyhow::Result<_>>()?;
        let mut out = vec![
            ("index.html".to_string(), html::page(self, &drawn)),
            ("summary.md".to_string(), self.summary(&plots)),
            ("cases.csv".to_string(), csv_out::cases(self)),
            ("scaling.csv".to_string(), csv_out::scaling(self)),
            ("figures.csv".to_string(), csv_out::figures(self)),
            ("claims.csv".to_string(), csv_out::claims(self)),
        ];
        for (p, svg) in drawn {
            out.push((p.file, svg));
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

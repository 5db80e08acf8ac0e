//! Reading records: JSON Lines files and run folders, every line checked,
//! one line at a time.
//!
//! A line that is not a record of a supported schema, or whose histogram
//! does not decode, is refused with its file and line number: a report built
//! on a silently skipped record would be wrong without saying so. Records
//! are streamed (`for_each`): nothing holds them all. Nothing is ever
//! written or deleted here.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use record::Record;

use crate::UsageError;

/// One record, its decoded histogram, and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The record as written by a binary.
    pub record: Record,
    /// The record's latency histogram, decoded (nanoseconds).
    pub histogram: Option<Histogram<u64>>,
    /// `file:line` of the record.
    pub origin: String,
}

impl Loaded {
    /// `params.cores` (the workers of `--cores N`), or the pinned CPU count.
    pub fn cores(&self) -> u64 {
        crate::merge::cores_of(&self.record)
    }
}

/// Parses one line of the file called `label`; `None` for a blank line.
fn parse_line(
    line: &str,
    label: &str,
    n: usize,
    decode: bool,
) -> Result<Option<Loaded>, UsageError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let origin = format!("{label}:{n}");
    let bad = |e: anyhow::Error| UsageError(format!("{origin}: {e:#}"));
    let record = Record::from_json_line(line).map_err(bad)?;
    let histogram = match (&record.latency, decode) {
        (Some(l), true) => Some(l.histogram().map_err(bad)?),
        _ => None,
    };
    Ok(Some(Loaded {
        record,
        histogram,
        origin,
    }))
}

/// Parses the JSON Lines `text` of the file called `label`. Blank lines are
/// allowed; anything else must be a record.
pub fn parse_jsonl(text: &str, label: &str) -> Result<Vec<Loaded>, UsageError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        out.extend(parse_line(line, label, i + 1, true)?);
    }
    Ok(out)
}

/// The record files a path stands for: the file itself, or in a folder the
/// `*.jsonl` of its `raw/` subfolder if it has one (a run folder), else its
/// own `*.jsonl`, sorted by name.
pub fn record_files(path: &Path) -> Result<Vec<PathBuf>, UsageError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let raw = path.join("raw");
    let dir = if raw.is_dir() {
        raw
    } else {
        path.to_path_buf()
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| UsageError(format!("cannot list {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(UsageError(format!(
            "{} holds no *.jsonl record file",
            dir.display()
        )));
    }
    Ok(files)
}

/// Streams every record of every path (files or run folders), in order, to
/// `f`, decoding histograms when `decode` says so; returns how many there
/// were. No record is kept.
pub fn for_each(
    paths: &[PathBuf],
    decode: bool,
    mut f: impl FnMut(Loaded),
) -> Result<usize, UsageError> {
    let mut n = 0;
    for path in paths {
        for file in record_files(path)? {
            let label = file.display().to_string();
            let reader = std::fs::File::open(&file)
                .map(std::io::BufReader::new)
                .map_err(|e| UsageError(format!("cannot read {label}: {e}")))?;
            for (i, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| UsageError(format!("cannot read {label}: {e}")))?;
                if let Some(l) = parse_line(&line, &label, i + 1, decode)? {
                    n += 1;
                    f(l);
                }
            }
        }
    }
    if n == 0 {
        return Err(UsageError(
            "no records found: the files are empty (did every run fail?)".into(),
        ));
    }
    Ok(n)
}

/// Reads every record of every path into memory (for small inputs and tests;
/// `Report::from_paths` streams instead).
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, UsageError> {
    let mut out = Vec::new();
    for_each(paths, true, |l| out.push(l))?;
    Ok(out)
}

//! Reading records: JSON Lines files and run folders, every line checked.
//!
//! A line that is not a record of the supported schema, or whose histogram
//! does not decode, is refused with its file and line number: a report built
//! on a silently skipped record would be wrong without saying so. Nothing is
//! ever written or deleted here.

use std::path::{Path, PathBuf};

use record::Record;

use crate::UsageError;
use hdrhistogram::Histogram;

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
        self.record
            .param_u64("cores")
            .unwrap_or(self.record.cpus.len() as u64)
    }
}

/// Parses the JSON Lines `text` of the file called `label`. Blank lines are
/// allowed; anything else must be a record.
pub fn parse_jsonl(text: &str, label: &str) -> Result<Vec<Loaded>, UsageError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = format!("{label}:{}", i + 1);
        let bad = |e: anyhow::Error| UsageError(format!("{origin}: {e:#}"));
        let record = Record::from_json_line(line).map_err(bad)?;
        let histogram = match &record.latency {
            Some(l) => Some(l.histogram().map_err(bad)?),
            None => None,
        };
        out.push(Loaded {
            record,
            histogram,
            origin,
        });
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

/// Reads every record of every path (files or run folders), in order.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, UsageError> {
    let mut out = Vec::new();
    for path in paths {
        for file in record_files(path)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
            out.extend(parse_jsonl(&text, &file.display().to_string())?);
        }
    }
    if out.is_empty() {
        return Err(UsageError(
            "no records found: the files are empty (did every run fail?)".into(),
        ));
    }
    Ok(out)
}

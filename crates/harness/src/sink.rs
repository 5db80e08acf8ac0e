//! Where records go: `--out FILE` (appended), else stdout when it is not a
//! terminal, else nowhere (a person at a terminal reads stderr).
//!
//! A file that does not exist yet is created when the first record is
//! written, so a run refused for bad input leaves no empty file behind; that
//! it can be created is checked at once (its folder exists and is writable).
//!
//! Each record is one line written with a single `write` on a file opened
//! with `O_APPEND`, and flushed before the next case starts, so concurrent
//! writers never interleave within a line and an interrupted run keeps every
//! record it finished.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::UsageError;
use record::Record;

/// The destination of a run's records.
#[derive(Debug)]
pub enum Sink {
    /// Appending to a file (opened at the first record if it did not exist).
    File(Option<File>, PathBuf),
    /// Standard output (not a terminal).
    Stdout,
    /// Nowhere: stdout is a terminal and no `--out` was given.
    Discard,
}

impl Sink {
    /// Opens the sink for `--out`; an unwritable path is a usage error naming the flag.
    pub fn open(out: Option<&Path>) -> Result<Sink, UsageError> {
        match out {
            Some(p) if p.exists() => OpenOptions::new()
                .append(true)
                .open(p)
                .map(|f| Sink::File(Some(f), p.to_path_buf()))
                .map_err(|e| {
                    UsageError(format!(
                        "cannot open --out {} for appending: {e}",
                        p.display()
                    ))
                }),
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                if !dir.is_dir() {
                    return Err(UsageError(format!(
                        "cannot create --out {}: the folder {} does not exist",
                        p.display(),
                        dir.display()
                    )));
                }
                nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).map_err(|e| {
                    UsageError(format!(
                        "cannot create --out {}: the folder {} is not writable ({e})",
                        p.display(),
                        dir.display()
                    ))
                })?;
                Ok(Sink::File(None, p.to_path_buf()))
            }
            None if std::io::stdout().is_terminal() => Ok(Sink::Discard),
            None => Ok(Sink::Stdout),
        }
    }

    /// Writes one record as one line.
    pub fn write(&mut self, r: &Record) -> anyhow::Result<()> {
        let mut line = r.to_json_line();
        line.push('\n');
        match self {
            Sink::File(f, p) => {
                if f.is_none() {
                    *f = Some(
                        OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&*p)
                            .map_err(|e| {
                                anyhow::anyhow!(
                                    "cannot create {} for the records: {e}",
                                    p.display()
                                )
                            })?,
                    );
                }
                let f = f.as_mut().expect("opened just above");
                f.write_all(line.as_bytes())
                    .and_then(|()| f.flush())
                    .map_err(|e| {
                        anyhow::anyhow!("cannot write a record to {}: {e}", p.display())
                    })?;
            }
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| anyhow::anyhow!("cannot write a record to stdout: {e}"))?;
            }
            Sink::Discard => return Ok(()),
        }
        crate::guard::note_record_written();
        Ok(())
    }

    /// Whether records are kept anywhere.
    pub fn keeps_records(&self) -> bool {
        !matches!(self, Sink::Discard)
    }
}

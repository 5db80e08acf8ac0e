//! Helpers for the concept crates' integration tests: read the records a
//! binary wrote and check they have the shape DESIGN.md promises. Not used by
//! the binaries themselves.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::record::Record;

/// Reads every record of a JSON Lines file; panics with file and line on a bad one.
pub fn read_records(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            Record::from_json_line(l)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Checks the fields every record must have, whatever the experiment.
pub fn assert_record_shape(r: &Record, binary: &str, experiment: &str) {
    let what = format!("{binary} {experiment} {} {}", r.model, r.variant);
    assert_eq!(r.schema, crate::SCHEMA, "{what}: schema");
    assert_eq!(r.binary, binary, "{what}: binary");
    assert_eq!(r.experiment, experiment, "{what}: experiment");
    assert!(!r.model.is_empty(), "{what}: model");
    assert!(r.params.contains_key("cores"), "{what}: params.cores");
    assert!(!r.cpus.is_empty(), "{what}: cpus");
    assert!(r.wall_ns > 0, "{what}: wall_ns");
    assert!(r.ops > 0, "{what}: ops");
    assert!(r.ops_per_s > 0.0, "{what}: ops_per_s");
    assert!(r.max_rss_bytes > 0, "{what}: max_rss_bytes");
    assert!(r.harness_overhead_ns > 0.0, "{what}: harness_overhead_ns");
    assert!(
        !r.machine.git_rev.is_empty() && !r.machine.argv.is_empty(),
        "{what}: machine"
    );
    assert!(
        r.machine.allowed_cpu_count >= r.cpus.len(),
        "{what}: machine.allowed_cpu_count"
    );
    if let Some(l) = &r.latency {
        assert!(
            l.samples > 0 && l.min_ns <= l.p50_ns && l.p50_ns <= l.p99_ns && l.p99_ns <= l.max_ns,
            "{what}: latency"
        );
        let h = l
            .histogram()
            .unwrap_or_else(|e| panic!("{what}: histogram: {e}"));
        assert_eq!(h.len(), l.samples, "{what}: histogram count");
    }
    if let Some(c) = &r.checksum {
        assert!(c.starts_with("0x") && c.len() == 18, "{what}: checksum {c}");
    }
    if let Some(v) = &r.verdict {
        assert!(
            v.claim.starts_with('C') && !v.text.is_empty(),
            "{what}: verdict"
        );
    }
}

/// Builds binary `bin` of workspace package `package` into the profile
/// directory of the running test binary and returns its path.
///
/// `cargo test -p X` builds X's binaries but not those of its dependencies,
/// and a concept binary's `echo` runs the `loadgen` binary found next to it;
/// this nested `cargo build` (a no-op when it is up to date) puts it there.
pub fn build_bin(package: &str, bin: &str) -> PathBuf {
    // Once per test process and binary: tests run on parallel threads.
    static BUILT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let path = profile_dir.join(bin);
    if built.contains(&path) {
        return path;
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {bin}: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    assert!(path.exists(), "{} was not built", path.display());
    built.push(path.clone());
    path
}

/// Runs `<bin> <experiment> <args> --out DIR/<experiment>.jsonl`, checks it
/// succeeded, and returns its records, each checked with [`assert_record_shape`]
/// (`binary` is the name records carry).
pub fn run_experiment(
    bin: &Path,
    binary: &str,
    experiment: &str,
    args: &[&str],
    dir: &Path,
) -> Vec<Record> {
    let out = dir.join(format!("{experiment}.jsonl"));
    let o = std::process::Command::new(bin)
        .arg(experiment)
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        o.status.success(),
        "{binary} {experiment} {args:?} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let records = read_records(&out);
    assert!(!records.is_empty(), "{binary} {experiment} wrote no record");
    for r in &records {
        assert_record_shape(r, binary, experiment);
    }
    records
}

/// Checks that `<bin> <args>` exits with code 2 and names `flag` on stderr, without a panic.
pub fn assert_usage_error(bin: &Path, args: &[&str], flag: &str) {
    let o = std::process::Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?} should exit 2: {stderr}");
    assert!(
        stderr.contains(flag),
        "{args:?} should name {flag}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
}

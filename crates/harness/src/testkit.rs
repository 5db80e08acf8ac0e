//! Helpers for the concept crates' integration tests: run a binary's
//! experiment for milliseconds, read the records it wrote and check they have
//! the shape DESIGN.md promises, and check that bad input exits 2 naming the
//! flag; [`build_bin`] builds another package's binary that the one under
//! test runs (`loadgen`). Not used by the binaries themselves.
//!
//! ```text
//! const BIN: Bin = Bin::new("thread", env!("CARGO_BIN_EXE_thread"));
//! let rs = BIN.run("cpu", &["--tasks", "16"], dir.path());   // --cores 1, quick, shapes checked
//! assert_eq!(models(&rs).len(), 5);
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use workload::{Action, Dist, KitchenPlan, TaskPlan};

use crate::EXIT_USAGE;
use record::Record;

/// Flags that keep every sampled case to a few milliseconds.
pub const QUICK: &[&str] = &["--duration-secs", "0.02", "--warmup-secs", "0", "--quiet"];

/// Flags that keep a case over TCP short, yet long enough for the
/// connections to be set up and warmed before the measured window.
pub const QUICK_NETWORK: &[&str] = &[
    "--duration-secs",
    "0.05",
    "--warmup-secs",
    "0.01",
    "--quiet",
];

/// A binary under test.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    /// Its name, as its records say (`thread`).
    pub name: &'static str,
    /// Its executable: `env!("CARGO_BIN_EXE_<name>")` in an integration test.
    pub path: &'static str,
    /// The flags [`Bin::run_on`] adds to keep a case short: [`QUICK`] unless
    /// [`Bin::quick`] said otherwise.
    pub quick: &'static [&'static str],
}

impl Bin {
    /// The binary `name` at `path`, its cases kept short with [`QUICK`].
    pub const fn new(name: &'static str, path: &'static str) -> Bin {
        Bin {
            name,
            path,
            quick: QUICK,
        }
    }

    /// The same binary, its cases kept short with `flags` instead
    /// ([`QUICK_NETWORK`] for the experiments over TCP).
    pub const fn quick(self, flags: &'static [&'static str]) -> Bin {
        Bin {
            quick: flags,
            ..self
        }
    }

    /// Its executable.
    pub fn path(&self) -> &Path {
        Path::new(self.path)
    }

    /// A command that runs the binary.
    pub fn command(&self) -> Command {
        Command::new(self.path)
    }

    /// Runs `experiment` on `--cores cores` with the [quick flags](Bin::quick)
    /// and `extra`, writing to a file in `dir`; checks it succeeded and wrote
    /// at least one record, every one of the promised shape, and returns them.
    pub fn run_on(&self, cores: &str, experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
        let out = dir.join(format!("{experiment}-{cores}.jsonl"));
        let done = self
            .command()
            .arg(experiment)
            .args(["--cores", cores])
            .args(self.quick)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.path));
        assert!(
            done.status.success(),
            "`{} {experiment} --cores {cores} {}` failed ({}): {}",
            self.name,
            extra.join(" "),
            done.status,
            String::from_utf8_lossy(&done.stderr)
        );
        let records = read_records(&out);
        assert!(!records.is_empty(), "{experiment} wrote no record");
        for r in &records {
            assert_record_shape(r, self.name, experiment);
        }
        records
    }

    /// [`Bin::run_on`] one core; checks every record was pinned to one CPU.
    pub fn run(&self, experiment: &str, extra: &[&str], dir: &Path) -> Vec<Record> {
        let records = self.run_on("1", experiment, extra, dir);
        for r in &records {
            assert_eq!(r.cpus.len(), 1, "--cores 1 pins one CPU");
        }
        records
    }

    /// Runs the binary with each case's arguments and checks it exits 2 with
    /// a message on stderr that names the case's flag, and no panic.
    pub fn assert_usage_errors<'a, A: AsRef<[&'a str]>>(&self, cases: &[(A, &str)]) {
        for (args, flag) in cases {
            let args = args.as_ref();
            let done: Output = self
                .command()
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.path));
            let stderr = String::from_utf8_lossy(&done.stderr);
            assert_eq!(
                done.status.code(),
                Some(i32::from(EXIT_USAGE)),
                "`{} {}` must exit {EXIT_USAGE}: {stderr}",
                self.name,
                args.join(" ")
            );
            assert!(
                stderr.contains(flag) && !stderr.contains("panicked"),
                "`{} {}` must name {flag} and not panic: {stderr}",
                self.name,
                args.join(" ")
            );
        }
    }
}

/// Checks every record did the `cpu` (or `gil`) work of `--tasks tasks
/// --work-units units --seed seed` on the distribution its variant names:
/// the workload's checksum, one op per task.
pub fn assert_cpu_work(records: &[Record], tasks: usize, units: u64, seed: u64) {
    for r in records {
        let dist = Dist::ALL
            .into_iter()
            .find(|d| d.name() == r.variant)
            .unwrap_or_else(|| {
                panic!(
                    "{} {}: the variant names no distribution",
                    r.model, r.variant
                )
            });
        let want = TaskPlan::new(dist, tasks, units, seed)
            .expected_checksum()
            .hex();
        assert_eq!(
            r.checksum.as_deref(),
            Some(want.as_str()),
            "{} {}",
            r.model,
            r.variant
        );
        assert_eq!(
            r.ops, tasks as u64,
            "{} {}: one op per task",
            r.model, r.variant
        );
    }
}

/// Checks every record cooked the `orders` orders of `--units-per-ms
/// units_per_ms --seed seed`: the plan's checksum, one op per order, and a
/// makespan no shorter than the longest order's waiting.
pub fn assert_kitchen_work(records: &[Record], orders: usize, units_per_ms: f64, seed: u64) {
    let plan = KitchenPlan::new(orders, units_per_ms, seed);
    let want = plan.expected_checksum().hex();
    let waiting_ms = |i| -> u64 {
        plan.actions(i)
            .iter()
            .map(|a| match a {
                Action::Wait { ms } => u64::from(*ms),
                Action::Prep { .. } => 0,
            })
            .sum()
    };
    let longest_wait_ms = (0..orders).map(waiting_ms).max().unwrap_or(0);
    for r in records {
        assert_eq!(r.checksum.as_deref(), Some(want.as_str()), "{}", r.model);
        assert_eq!(r.ops, orders as u64, "{}: one op per order", r.model);
        assert!(
            r.wall_ns >= longest_wait_ms * 1_000_000,
            "{}: no model beats the longest order's {longest_wait_ms} ms of waiting",
            r.model
        );
    }
}

/// The distinct models of `records`.
pub fn models(records: &[Record]) -> BTreeSet<&str> {
    records.iter().map(|r| r.model.as_str()).collect()
}

/// The claims the verdicts of `records` decide, in record order.
pub fn verdicts(records: &[Record]) -> Vec<&'static str> {
    records
        .iter()
        .filter_map(|r| r.verdict.as_ref().map(|v| v.claim.id()))
        .collect()
}

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
        assert!(!v.text.is_empty(), "{what}: verdict");
    }
}

/// Builds binary `bin` of workspace package `package` into the profile
/// directory of the running test binary and returns its path: for a binary
/// that the one under test runs.
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

//! Tests of `report` on synthetic records with known histograms: snapshots of
//! the tables and CSV files, the Amdahl fit, histogram merging, the claims
//! rules, and the errors for bad input (file and line, exit 2).
//!
//! Snapshots live in `tests/snapshots/`; after an intended change of output,
//! regenerate them with `UPDATE_SNAPSHOTS=1 cargo test -p conpar-report` and
//! review the diff.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use record::machine::Machine;
use record::{Claim, CtxSwitches, Interference, Latency, Outcome, Record, SCHEMA, Verdict, hist};
use report::Report;
use report::claims::Status;
use report::load::{Loaded, parse_jsonl};
use report::scaling::{amdahl_fit, amdahl_speedup, karp_flatt};

fn machine() -> Machine {
    Machine {
        cpu_model: "Test CPU".into(),
        online_cpus: "0-15".into(),
        allowed_cpus: "0-15".into(),
        allowed_cpu_count: 16,
        mem_total_bytes: 64 << 30,
        kernel: "Linux 6.0".into(),
        hostname: "testhost".into(),
        virtualization: String::new(),
        rustc: "rustc 1.88.0".into(),
        crates: BTreeMap::new(),
        git_rev: "0123456789abcdef0123456789abcdef01234567".into(),
        git_dirty: "false".into(),
        argv: vec!["test".into()],
        timestamp: "2026-01-01T00:00:00Z".into(),
        profile: "release".into(),
    }
}

/// A synthetic record; `samples` (nanoseconds) become its histogram.
struct R {
    binary: &'static str,
    experiment: &'static str,
    model: &'static str,
    variant: &'static str,
    cores: u64,
    wall_ns: u64,
    ops: u64,
    samples: Vec<u64>,
    figures: Vec<(&'static str, f64)>,
    params: Vec<(&'static str, serde_json::Value)>,
    verdict: Option<Verdict>,
    busy: Option<f64>,
}

impl R {
    fn new(binary: &'static str, experiment: &'static str, model: &'static str) -> R {
        R {
            binary,
            experiment,
            model,
            variant: "",
            cores: 1,
            wall_ns: 1_000_000_000,
            ops: 1000,
            samples: Vec::new(),
            figures: Vec::new(),
            params: Vec::new(),
            verdict: None,
            busy: None,
        }
    }
    fn variant(mut self, v: &'static str) -> R {
        self.variant = v;
        self
    }
    fn cores(mut self, c: u64) -> R {
        self.cores = c;
        self
    }
    fn wall(mut self, ns: u64, ops: u64) -> R {
        self.wall_ns = ns;
        self.ops = ops;
        self
    }
    fn samples(mut self, s: Vec<u64>) -> R {
        self.samples = s;
        self
    }
    fn figure(mut self, k: &'static str, v: f64) -> R {
        self.figures.push((k, v));
        self
    }
    fn param(mut self, k: &'static str, v: impl Into<serde_json::Value>) -> R {
        self.params.push((k, v.into()));
        self
    }
    fn verdict(mut self, claim: &str, holds: bool, text: &str) -> R {
        let claim: Claim = claim.parse().unwrap();
        self.verdict = Some(Verdict::new(claim, holds, text));
        self
    }
    /// Other programs took this share of the case's CPUs.
    fn busy(mut self, taken: f64) -> R {
        self.busy = Some(taken);
        self
    }
    /// A verdict of any outcome, with its reason.
    fn outcome(mut self, claim: &str, outcome: Outcome, text: &str, reason: Option<&str>) -> R {
        let claim: Claim = claim.parse().unwrap();
        let mut v = Verdict::new(claim, outcome == Outcome::Holds, text);
        v.outcome = outcome;
        v.reason = reason.map(str::to_string);
        self.verdict = Some(v);
        self
    }
    fn record(&self) -> Record {
        let mut params: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        params.insert("cores".into(), self.cores.into());
        params.insert("seed".into(), 42.into());
        for (k, v) in &self.params {
            params.insert(k.to_string(), v.clone());
        }
        let latency = (!self.samples.is_empty()).then(|| {
            let mut h = hist::new();
            self.samples.iter().for_each(|&s| hist::record(&mut h, s));
            Latency::from_histogram(&h).unwrap()
        });
        Record {
            schema: SCHEMA,
            binary: self.binary.into(),
            experiment: self.experiment.into(),
            model: self.model.into(),
            variant: self.variant.into(),
            rep: 0,
            params,
            cpus: (0..self.cores as usize).collect(),
            wall_ns: self.wall_ns,
            cpu_user_ns: self.wall_ns,
            cpu_sys_ns: 0,
            max_rss_bytes: 4 << 20,
            ctx_switches: CtxSwitches::default(),
            interference: self.busy.map(|taken| Interference {
                others_cpu_fraction: taken,
                steal_fraction: 0.0,
                cpu_pressure_fraction: None,
                run_delay_ns: None,
                window_ns: self.wall_ns,
            }),
            ops: self.ops,
            ops_per_s: self.ops as f64 / (self.wall_ns as f64 / 1e9),
            checksum: Some("0x00000000000000aa".into()),
            figures: self
                .figures
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            latency,
            verdict: self.verdict.clone(),
            harness_overhead_ns: 25.0,
            machine: machine(),
        }
    }
}

fn jsonl(rs: &[R]) -> String {
    rs.iter()
        .map(|r| r.record().to_json_line() + "\n")
        .collect()
}

fn load(rs: &[R]) -> Vec<Loaded> {
    parse_jsonl(&jsonl(rs), "synthetic.jsonl").unwrap()
}

/// Amdahl's wall time for `p` cores: a second of work with serial fraction `s`.
fn amdahl_wall(s: f64, p: u64) -> u64 {
    (1e9 * (s + (1.0 - s) / p as f64)).round() as u64
}

/// A small sweep: cpu on 1, 2, 4 cores (two repetitions, two models), with
/// latency-sampled pingpong, memory, kitchen and race records and verdicts.
fn sweep() -> Vec<R> {
    let mut rs = Vec::new();
    for cores in [1, 2, 4] {
        for rep in 0..2u64 {
            let jitter = rep * 1_000_000;
            rs.push(
                R::new("thread", "cpu", "sequential")
                    .variant("balanced")
                    .cores(cores)
                    .param("workers", 1)
                    .param("tasks", 1024)
                    .wall(1_000_000_000 + jitter, 1024),
            );
            // rayon follows Amdahl with s = 0.05.
            let wall = amdahl_wall(0.05, cores) + jitter;
            let mut r = R::new("thread", "cpu", "rayon")
                .variant("balanced")
                .cores(cores)
                .param("workers", cores)
                .param("tasks", 1024)
                .wall(wall, 1024)
                .figure("speedup", 1e9 / wall as f64)
                .figure("efficiency", 1e9 / wall as f64 / cores as f64);
            r = match cores {
                1 => r.verdict("C2", true, "no speedup on one core"),
                _ => r.verdict("C3", rep == 0, "speedup on more cores"),
            };
            rs.push(r);
        }
    }
    for (variant, base) in [("same-cpu", 5_000u64), ("cross-cpu", 40_000)] {
        rs.push(
            R::new("thread", "pingpong", "pipe")
                .variant(variant)
                .cores(2)
                .param("placement", variant)
                .samples((0..100).map(|i| base + i * 10).collect())
                .wall(1_000_000_000, 100),
        );
    }
    rs.push(
        R::new("thread", "memory", "std-thread")
            .figure("bytes_per_unit", 9830.0)
            .param("tasks", 10_000)
            .wall(50_000_000, 10_000),
    );
    for (orders, holds) in [(30, false), (300, true)] {
        rs.push(
            R::new("thread", "kitchen", "thread-per-order")
                .cores(3)
                .param("orders", orders)
                .samples(vec![40_000_000, 52_000_000])
                .wall(60_000_000, orders)
                .verdict("C4", holds, &format!("{orders} orders")),
        );
    }
    rs.push(
        R::new("thread", "race", "load-store")
            .cores(2)
            .figure("lost_updates", 500.0)
            .verdict("C9", true, "load-store lost 500"),
    );
    rs
}

/// Compares `text` with `tests/snapshots/<name>`, or rewrites it with UPDATE_SNAPSHOTS=1.
fn snapshot(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; create it with UPDATE_SNAPSHOTS=1", path.display()));
    if want != text {
        let first = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{name} differs from its snapshot at line {}:\n  want: {:?}\n  got:  {:?}\n\
             (run UPDATE_SNAPSHOTS=1 cargo test -p conpar-report and review the diff if the change is intended)",
            first + 1,
            want.lines().nth(first),
            text.lines().nth(first)
        );
    }
}

#[test]
fn tables_and_csv_match_their_snapshots() {
    let r = Report::new(load(&sweep()));
    let plots = report::plot::plan(&r);
    snapshot("summary.md", &r.summary(&plots));
    snapshot("cases.csv", &report::csv_out::cases(&r));
    snapshot("scaling.csv", &report::csv_out::scaling(&r));
    snapshot("figures.csv", &report::csv_out::figures(&r));
    snapshot("claims.csv", &report::csv_out::claims(&r));
}

/// Python records beside Rust ones: cpu and gil speedups at 2 cores, spawn,
/// pingpong and memory, each with its kind of unit; and one case of an
/// interpreter without the GIL (`python-nogil`).
fn python_beside_rust() -> Vec<R> {
    let py = |exp, model, unit: &str| {
        R::new("python", exp, model)
            .param("unit", unit)
            .param("gil", true)
            .param("interpreter", "/usr/bin/python3.11")
    };
    let mut rs = Vec::new();
    for (bin, model, unit, x) in [
        ("thread", "rayon", None, 1.98),
        ("process", "pool", None, 2.01),
        ("coroutine", "tokio-multi-thread", None, 1.95),
        ("python", "threading", Some("thread"), 0.97),
        ("python", "multiprocessing-pool", Some("process"), 1.88),
        ("python", "asyncio", Some("coroutine"), 1.0),
    ] {
        let mut r = match unit {
            Some(u) => py("cpu", model, u),
            None => R::new(bin, "cpu", model),
        };
        r = r
            .variant("balanced")
            .cores(2)
            .wall(500_000_000, 64)
            .figure("speedup", x);
        rs.push(r);
    }
    rs.push(
        R::new("python-nogil", "gil", "threading")
            .variant("balanced")
            .cores(2)
            .param("unit", "thread")
            .param("gil", false)
            .wall(500_000_000, 64)
            .figure("speedup", 1.9),
    );
    rs.push(
        R::new("thread", "gil", "gil-threads")
            .variant("balanced")
            .cores(2)
            .figure("speedup", 1.0),
    );
    rs.push(
        R::new("thread", "gil", "no-gil-threads")
            .variant("balanced")
            .cores(2)
            .figure("speedup", 1.97),
    );
    rs.push(
        py("gil", "threading", "thread")
            .variant("balanced")
            .cores(2)
            .figure("speedup", 0.99),
    );
    rs.push(
        R::new("thread", "gil", "sequential")
            .variant("balanced")
            .cores(2)
            .figure("speedup", 1.0),
    );
    for (r, p50) in [
        (R::new("process", "spawn", "fork-exit"), 160_000),
        (R::new("thread", "spawn", "std-spawn"), 17_000),
        (
            R::new("coroutine", "spawn", "tokio-current-thread").param("unit", "coroutine"),
            390,
        ),
        (py("spawn", "multiprocessing-fork", "process"), 2_100_000),
        (py("spawn", "threading", "thread"), 97_000),
        (py("spawn", "asyncio", "coroutine"), 6_200),
    ] {
        rs.push(r.samples(vec![p50; 20]).wall(1_000_000, 20));
    }
    for (r, p50) in [
        (R::new("thread", "pingpong", "pipe"), 3_900),
        (R::new("coroutine", "pingpong", "tokio-current-thread"), 490),
        (py("pingpong", "queue-threads", "thread"), 18_400),
        (py("pingpong", "asyncio-queue", "coroutine"), 7_700),
    ] {
        rs.push(
            r.variant("same-cpu")
                .param("placement", "same-cpu")
                .samples(vec![p50; 20])
                .wall(1_000_000, 20),
        );
    }
    for (r, bytes) in [
        (R::new("process", "memory", "fork-idle"), 36_864.0),
        (R::new("thread", "memory", "std-thread"), 9_830.0),
        (py("memory", "multiprocessing", "process"), 3_500_000.0),
        (py("memory", "threading", "thread"), 13_000.0),
        (py("memory", "asyncio", "coroutine"), 1_200.0),
    ] {
        rs.push(r.figure("bytes_per_unit", bytes).wall(1_000_000, 10));
    }
    rs
}

#[test]
fn python_sits_beside_rust_per_kind_of_unit() {
    let r = Report::new(load(&python_beside_rust()));
    let section = report::python::section(&r);
    snapshot("python-beside-rust.md", &section);
    assert!(r.summary(&[]).contains("## Python beside Rust"));
    // gil's speedup bars: one per model but sequential, each named, its
    // value at its end; no quadrants bars without quadrants records.
    let plots = report::plot::plan(&r);
    assert!(!plots.iter().any(|p| p.file == "bars-quadrants.svg"));
    let gil = plots
        .iter()
        .find(|p| p.file == "bars-gil.svg")
        .expect("a bars-gil plot");
    let svg = report::plot::render(&r, gil).unwrap();
    for text in [
        "python threading balanced",
        "0.99×",
        "thread no-gil-threads balanced",
        "1.97×",
    ] {
        assert!(svg.contains(&format!(">\n{text}\n<")), "{text} in {svg}");
    }
    assert!(!svg.contains("sequential balanced"), "{svg}");
    let rust_only = Report::new(load(&sweep()));
    assert_eq!(
        report::python::section(&rust_only),
        "",
        "no Python, no section"
    );
}

/// Records whose claims come out each way: a quiet failure that stands, the
/// same numbers on busy CPUs, repetitions that disagree, and computed
/// comparisons weighed against the interference of their cases.
fn outcomes() -> Vec<R> {
    use Outcome::{DoesNotHold, Holds, Inconclusive};
    let busy = "other programs took 48 % of the CPUs while `sequential` ran";
    let mut rs = vec![
        // C1: two of three repetitions could not tell on busy CPUs.
        R::new("thread", "kitchen", "concurrent-only").outcome(
            "C1",
            Inconclusive,
            "3 orders",
            Some(busy),
        ),
        R::new("thread", "kitchen", "concurrent-only").outcome(
            "C1",
            Inconclusive,
            "3 orders",
            Some(busy),
        ),
        R::new("thread", "kitchen", "concurrent-only").outcome("C1", Holds, "3 orders", None),
        // C2: a genuine failure on a quiet machine, twice in three.
        R::new("thread", "cpu", "pool").outcome("C2", DoesNotHold, "1.40×", None),
        R::new("thread", "cpu", "pool").outcome("C2", DoesNotHold, "1.38×", None),
        R::new("thread", "cpu", "pool").outcome("C2", Holds, "1.01×", None),
        // C9: held every time.
        R::new("thread", "race", "load-store")
            .cores(2)
            .outcome("C9", Holds, "lost 500", None),
        R::new("thread", "race", "load-store")
            .cores(2)
            .outcome("C9", Holds, "lost 480", None),
        R::new("thread", "race", "load-store")
            .cores(2)
            .outcome("C9", Holds, "lost 510", None),
        // C11: the repetitions disagree.
        R::new("thread", "gil", "gil-threads")
            .cores(2)
            .outcome("C11", Holds, "flat", None),
        R::new("thread", "gil", "gil-threads")
            .cores(2)
            .outcome("C11", DoesNotHold, "scaled", None),
    ];
    // C13: io_uring refused, so its quadrant was skipped in every repetition.
    let refused = "the async-nonblocking quadrant did not run: io_uring is unavailable here: io_uring_setup \
                   returned EPERM (seccomp)";
    for _ in 0..3 {
        rs.push(
            R::new("nonblocking-socket", "quadrants", "async-blocking").outcome(
                "C13",
                Inconclusive,
                "10 requests",
                Some(refused),
            ),
        );
    }
    // C3 across: rayon did not scale, while others took half of the CPUs.
    for cores in [1, 2] {
        rs.push(
            R::new("process", "cpu", "sequential")
                .variant("balanced")
                .cores(cores)
                .param("workers", 1)
                .wall(1_000_000_000, 64)
                .busy(0.5),
        );
        rs.push(
            R::new("process", "cpu", "pool")
                .variant("balanced")
                .cores(cores)
                .wall(900_000_000, 64)
                .figure("speedup", 1.1)
                .busy(0.5),
        );
    }
    // C5 across (no binary's verdict): quiet, and the slowest way is not N/2 times the fastest.
    for (b, m, wall) in [
        ("blocking-io", "sequential", 200_000_000),
        ("thread", "thread-per-request", 100_000_000),
    ] {
        rs.push(
            R::new(b, "requests", m)
                .param("delay_ms", 20.0)
                .wall(wall, 50),
        );
    }
    rs
}

#[test]
fn claims_say_each_outcome_with_its_reason() {
    let r = Report::new(load(&outcomes()));
    let status = |id| claim(&r, id).status;
    assert_eq!(status("C1"), Status::Inconclusive);
    assert!(claim(&r, "C1").reason.unwrap().contains("48 %"));
    assert_eq!(status("C2"), Status::DoesNotHold, "a quiet failure stands");
    assert_eq!(status("C9"), Status::Holds);
    assert_eq!(status("C11"), Status::Inconclusive);
    assert!(claim(&r, "C11").reason.unwrap().contains("disagree"));
    assert_eq!(status("C13"), Status::Inconclusive);
    assert!(
        claim(&r, "C13")
            .reason
            .unwrap()
            .contains("io_uring is unavailable")
    );
    assert_eq!(
        status("C3"),
        Status::Inconclusive,
        "{}",
        claim(&r, "C3").evidence
    );
    assert_eq!(
        status("C5"),
        Status::DoesNotHold,
        "{}",
        claim(&r, "C5").evidence
    );
    snapshot("claims-outcomes.csv", &report::csv_out::claims(&r));
}

#[test]
fn schema_1_records_are_still_read() {
    let mut v: serde_json::Value = serde_json::from_str(
        &R::new("thread", "race", "load-store")
            .verdict("C9", true, "x")
            .record()
            .to_json_line(),
    )
    .unwrap();
    v["schema"] = 1.into();
    v.as_object_mut().unwrap().remove("interference");
    let verdict = v["verdict"].as_object_mut().unwrap();
    verdict.remove("outcome");
    verdict.insert("holds".into(), false.into());
    let l = parse_jsonl(&v.to_string(), "old.jsonl").unwrap();
    let got = l[0].record.verdict.as_ref().unwrap();
    assert_eq!(got.outcome, Outcome::DoesNotHold);
    assert_eq!(l[0].record.interference, None);
}

#[test]
fn amdahl_fit_recovers_a_known_serial_fraction() {
    for s in [0.0, 0.02, 0.1, 0.5] {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&p| (p, amdahl_speedup(s, p)))
            .collect();
        let fit = amdahl_fit(&pts).unwrap();
        assert!((fit - s).abs() < 1e-12, "s = {s}, fit {fit}");
        for &(p, x) in &pts[1..] {
            assert!((karp_flatt(x, p).unwrap() - s).abs() < 1e-12);
        }
    }
    assert_eq!(amdahl_fit(&[(1.0, 1.0)]), None, "one core decides nothing");
    assert_eq!(karp_flatt(1.0, 1.0), None);
}

#[test]
fn parameters_that_follow_the_core_count_do_not_break_a_series() {
    // A runtime records its worker threads and where they were pinned; both
    // change with --cores, yet it is the same work on more cores.
    let mut rs: Vec<R> = [1u64, 2, 4]
        .into_iter()
        .map(|p| {
            R::new("coroutine", "cpu", "tokio-multi-thread")
                .cores(p)
                .param("worker_threads", p)
                .param("pinning", format!("CPUs 0-{}", p - 1))
                .param("tasks", 64)
                .wall(amdahl_wall(0.0, p), 64)
        })
        .collect();
    let r = Report::new(load(&rs));
    assert_eq!(r.series.len(), 1, "one series across 1, 2, 4 cores");
    // Two amounts of work at one core count do split.
    rs.push(
        R::new("coroutine", "cpu", "tokio-multi-thread")
            .cores(4)
            .param("worker_threads", 4)
            .param("pinning", "CPUs 0-3")
            .param("tasks", 128)
            .wall(amdahl_wall(0.0, 4), 128),
    );
    let r = Report::new(load(&rs));
    assert!(r.cases.iter().any(|c| c.key.work == "tasks=128"));
    assert!(r.cases.iter().all(|c| !c.key.work.contains("pinning")));
}

#[test]
fn the_fit_over_records_recovers_the_serial_fraction_of_their_wall_times() {
    let rs: Vec<R> = [1, 2, 4, 8, 16]
        .into_iter()
        .map(|p| {
            R::new("thread", "cpu", "rayon")
                .cores(p)
                .wall(amdahl_wall(0.1, p), 1024)
        })
        .collect();
    let mut all = rs;
    all.push(
        R::new("thread", "cpu", "rayon")
            .cores(16)
            .wall(amdahl_wall(0.1, 16), 1024),
    );
    let r = Report::new(load(&all));
    assert_eq!(r.series.len(), 1);
    let s = r.series[0].serial_fraction.unwrap();
    assert!((s - 0.1).abs() < 1e-6, "fitted {s}");
    assert_eq!(r.series[0].at(16).unwrap().parallelism, 16);
    assert_eq!(
        r.cases.iter().find(|c| c.cores == 16).unwrap().reps,
        2,
        "two records at 16 cores are two repetitions"
    );
}

#[test]
fn merging_two_histograms_equals_recording_all_samples_into_one() {
    let a: Vec<u64> = (1..=500).map(|i| i * 37).collect();
    let b: Vec<u64> = (1..=300).map(|i| 1_000_000 + i * i * 11).collect();
    let rs = [
        R::new("thread", "spawn", "std-spawn").samples(a.clone()),
        R::new("thread", "spawn", "std-spawn").samples(b.clone()),
    ];
    let r = Report::new(load(&rs));
    assert_eq!(r.cases.len(), 1);
    let merged = r.cases[0].histogram.as_ref().unwrap();
    let mut all = hist::new();
    a.iter().chain(&b).for_each(|&v| hist::record(&mut all, v));
    assert_eq!(merged.len(), all.len());
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            merged.value_at_quantile(q),
            all.value_at_quantile(q),
            "q {q}"
        );
    }
    let pairs = |h: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    assert_eq!(pairs(merged), pairs(&all));
    // The median of the merged samples is not the mean of the two medians.
    let mean_of_medians = (a[a.len() / 2] + b[b.len() / 2]) / 2;
    assert_ne!(merged.value_at_quantile(0.5), mean_of_medians);
}

#[test]
fn repetitions_keep_their_spread_apart() {
    let rs = [
        R::new("thread", "cpu", "pool").wall(1_000_000_000, 100),
        R::new("thread", "cpu", "pool").wall(2_000_000_000, 100),
        R::new("thread", "cpu", "pool").wall(4_000_000_000, 100),
    ];
    let r = Report::new(load(&rs));
    let c = &r.cases[0];
    assert_eq!(c.reps, 3);
    assert_eq!(c.ops_per_s_spread.min, 25.0);
    assert_eq!(c.ops_per_s_spread.median, 50.0);
    assert_eq!(c.ops_per_s_spread.max, 100.0);
    // Merged ops/s is all ops over all wall time, not a mean of rates.
    assert!((c.ops_per_s() - 300.0 / 7.0).abs() < 1e-9);
}

#[test]
fn a_parameter_that_differs_splits_the_case() {
    let r = Report::new(load(&sweep()));
    let kitchen: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.key.experiment == "kitchen")
        .map(|c| c.key.work.as_str())
        .collect();
    assert_eq!(kitchen, ["orders=30", "orders=300"]);
    let cpu_work: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.key.experiment == "cpu")
        .map(|c| c.key.work.as_str())
        .collect();
    assert!(
        cpu_work.iter().all(|w| w.is_empty()),
        "workers follows cores and never splits: {cpu_work:?}"
    );
}

fn claim(r: &Report, id: &str) -> report::claims::ClaimRow {
    r.claims.iter().find(|c| c.id() == id).unwrap().clone()
}

#[test]
fn claims_follow_the_documented_rules() {
    let r = Report::new(load(&sweep()));
    assert_eq!(r.claims.len(), 13);
    let ids: Vec<&str> = r.claims.iter().map(|c| c.id()).collect();
    assert_eq!(
        ids,
        [
            "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C13"
        ]
    );
    // C2 at 1 core: held in both repetitions.
    let c2 = claim(&r, "C2");
    assert_eq!(c2.status, Status::Holds);
    assert!(c2.basis.contains("held in 2 of 2"), "{}", c2.basis);
    // C3 is computed from the sweep; the binaries' verdicts (1 of 2 at 4 cores) are shown beside.
    let c3 = claim(&r, "C3");
    assert_eq!(c3.status, Status::Holds, "{}", c3.evidence);
    assert!(c3.evidence.contains("rayon"), "{}", c3.evidence);
    assert!(c3.basis.contains("held in 1 of 2"), "{}", c3.basis);
    // C4: the seed's case (3 cores, 300 orders) decides, not the 30-order run.
    let c4 = claim(&r, "C4");
    assert_eq!(c4.status, Status::Holds);
    assert!(c4.basis.contains("the seed's case"), "{}", c4.basis);
    // Missing experiments are "not measured", naming what must run.
    for id in ["C1", "C5", "C6", "C8", "C11", "C12", "C13"] {
        let c = claim(&r, id);
        assert_eq!(c.status, Status::NotMeasured, "{id}");
        assert!(c.basis.starts_with("needs "), "{id}: {}", c.basis);
    }
    // C7 and C10 need another binary than thread.
    assert_eq!(claim(&r, "C7").status, Status::NotMeasured);
    assert!(claim(&r, "C7").basis.contains("thread memory"));
}

#[test]
fn c3_judges_scaling_by_the_speedup_over_sequential() {
    // spawn-per-task is slow on one core, so against its own 1-core run it
    // seems to scale (3.3×); against sequential it reaches only 1.11×.
    let mut rs = Vec::new();
    for (cores, rayon_ns, spt_ns) in [
        (1, 1_000_000_000, 3_000_000_000),
        (4, 270_000_000, 900_000_000),
    ] {
        for (model, ns) in [("rayon", rayon_ns), ("spawn-per-task", spt_ns)] {
            rs.push(
                R::new("thread", "cpu", model)
                    .variant("balanced")
                    .cores(cores)
                    .wall(ns, 1024)
                    .figure("speedup", 1e9 / ns as f64),
            );
        }
    }
    let r = Report::new(load(&rs));
    let c3 = claim(&r, "C3");
    assert_eq!(c3.status, Status::Holds, "{}", c3.evidence);
    assert!(
        c3.evidence
            .starts_with("thread rayon balanced: 1.00×, 3.70× vs sequential"),
        "{}",
        c3.evidence
    );
    let spt = r
        .series
        .iter()
        .find(|s| s.key.model == "spawn-per-task")
        .unwrap();
    assert_eq!(spt.basis, Some(report::scaling::Basis::Sequential));
    let kf = spt.at(4).unwrap().karp_flatt.unwrap();
    assert!(
        (kf - karp_flatt(1e9 / 9e8, 4.0).unwrap()).abs() < 1e-12,
        "Karp–Flatt on the in-run speedup"
    );
}

#[test]
fn repetitions_decide_by_majority_at_the_largest_core_count() {
    let rs = [
        R::new("thread", "gil", "no-gil-threads")
            .cores(2)
            .verdict("C11", false, "two"),
        R::new("thread", "gil", "no-gil-threads")
            .cores(4)
            .verdict("C11", true, "four a"),
        R::new("thread", "gil", "no-gil-threads")
            .cores(4)
            .verdict("C11", false, "four b"),
        R::new("thread", "gil", "no-gil-threads")
            .cores(4)
            .verdict("C11", true, "four c"),
    ];
    let c = claim(&Report::new(load(&rs)), "C11");
    assert_eq!(c.status, Status::Holds, "one outlier does not decide");
    assert_eq!(
        c.basis,
        "gil at 4 core(s): held in 2 of 3 run(s), did not hold in 1"
    );
    assert!(c.evidence.contains("four c"), "the latest record speaks");
}

#[test]
fn cross_binary_claims_are_computed_from_the_numbers() {
    let spawn =
        |b: &'static str, m: &'static str, ns: u64| R::new(b, "spawn", m).samples(vec![ns; 50]);
    let mem = |b: &'static str, m: &'static str, bytes: f64| {
        R::new(b, "memory", m).figure("bytes_per_unit", bytes)
    };
    let pp = |b: &'static str, m: &'static str, ns: u64| {
        R::new(b, "pingpong", m)
            .variant("same-cpu")
            .param("placement", "same-cpu")
            .samples(vec![ns; 50])
    };
    let mut rs = vec![
        spawn("process", "fork-exit", 150_000),
        spawn("process", "posix-spawn", 400_000),
        spawn("thread", "std-spawn", 30_000),
        spawn("coroutine", "tokio", 400),
        mem("process", "fork", 200_000.0),
        mem("thread", "std-thread", 10_000.0),
        mem("coroutine", "tokio", 400.0),
        pp("thread", "pipe", 5_000),
        pp("coroutine", "tokio-channel", 300),
    ];
    let r = Report::new(load(&rs));
    let c7 = claim(&r, "C7");
    assert_eq!(c7.status, Status::Holds, "{}", c7.evidence);
    assert!(
        c7.evidence.contains("fork-exit"),
        "cheapest model: {}",
        c7.evidence
    );
    assert!(
        c7.evidence.contains("process/thread 5.00×"),
        "{}",
        c7.evidence
    );
    assert!(
        c7.evidence.contains("thread/coroutine 75.0×"),
        "{}",
        c7.evidence
    );
    let c10 = claim(&r, "C10");
    assert_eq!(c10.status, Status::Holds, "{}", c10.evidence);
    assert!(c10.evidence.contains("same-cpu"), "{}", c10.evidence);
    // A coroutine spawn dearer than a thread's breaks the order: C7 no longer holds in full.
    rs[3] = spawn("coroutine", "tokio", 90_000);
    let c7 = claim(&Report::new(load(&rs)), "C7");
    assert_eq!(c7.status, Status::DoesNotHold, "{}", c7.evidence);
    rs[3] = spawn("coroutine", "tokio", 400);
    // A reference thread timed by the process binary counts as a thread, not
    // as the cheapest process (its `unit` says so).
    rs.push(spawn("process", "thread-spawn", 20_000).param("unit", "thread"));
    let c7 = claim(&Report::new(load(&rs)), "C7");
    assert_eq!(c7.status, Status::Holds, "{}", c7.evidence);
    assert!(
        c7.evidence.contains("process 150 µs (fork-exit)")
            && c7.evidence.contains("thread 20.0 µs (thread-spawn)"),
        "{}",
        c7.evidence
    );
}

#[test]
fn echo_servers_are_compared_at_the_most_connections_all_served() {
    let echo = |b: &'static str, m: &'static str, conns: u64, ops: u64| {
        R::new(b, "echo", m)
            .variant(if conns == 10 { "10" } else { "1000" })
            .param("connections", conns)
            .samples(vec![50_000; 20])
            .wall(1_000_000_000, ops)
    };
    let rs = [
        echo("blocking-io", "thread-per-connection", 10, 90_000),
        echo("blocking-io", "thread-per-connection", 1000, 80_000),
        echo("nonblocking-socket", "epoll", 10, 120_000),
        echo("nonblocking-socket", "epoll", 1000, 150_000),
    ];
    let c = claim(&Report::new(load(&rs)), "C12");
    assert_eq!(c.status, Status::Holds);
    assert!(
        c.evidence.starts_with("at 1000 connections"),
        "{}",
        c.evidence
    );
    assert!(c.evidence.contains("150 k req/s"), "{}", c.evidence);
}

fn bin() -> Command {
    Command::cargo_bin("report").unwrap()
}

#[test]
fn a_malformed_record_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = jsonl(&sweep()[..2]);
    let cases = [
        (
            "garbage.jsonl",
            format!("{good}\n{{not json\n"),
            ":4: not JSON",
        ),
        (
            "schema.jsonl",
            format!("{good}{}\n", r#"{"schema":99,"binary":"thread"}"#),
            ":3: record schema 99 is not a supported schema (1 to 2)",
        ),
        (
            "nofield.jsonl",
            format!("{}\n{good}", r#"{"schema":1,"binary":"thread"}"#),
            ":1: malformed record",
        ),
        (
            "foreign.jsonl",
            "{\"hello\":1}\n".to_string(),
            ":1: not a conpar record",
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        bin()
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("{name}{want}")));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "the file is left as it was"
        );
    }
    let sampled = sweep().into_iter().find(|r| !r.samples.is_empty());
    let mut bad_hist = sampled.unwrap().record();
    bad_hist.latency.as_mut().unwrap().histogram = "bm90IGEgaGlzdG9ncmFt".into();
    let path = dir.path().join("hist.jsonl");
    std::fs::write(&path, bad_hist.to_json_line() + "\n").unwrap();
    bin()
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hist.jsonl:1: histogram is not"));
}

#[test]
fn missing_paths_and_empty_input_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .arg(dir.path().join("nope.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.jsonl"));
    bin()
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no *.jsonl"));
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    bin()
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no records"));
    bin().assert().code(2);
}

#[test]
fn a_run_folder_becomes_summary_csv_and_svg_and_raw_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("raw")).unwrap();
    let mut a = sweep();
    let b = a.split_off(12);
    let (ta, tb) = (jsonl(&a), jsonl(&b));
    std::fs::write(run.join("raw/thread-cpu.jsonl"), &ta).unwrap();
    std::fs::write(run.join("raw/thread-rest.jsonl"), &tb).unwrap();
    bin().arg(&run).arg("--out").arg(&run).assert().success();
    for f in [
        "summary.md",
        "cases.csv",
        "scaling.csv",
        "figures.csv",
        "claims.csv",
        "speedup-cpu-thread.svg",
        "latency-pingpong.svg",
        "latency-kitchen.svg",
        "memory-per-unit.svg",
    ] {
        let text = std::fs::read_to_string(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        if f.ends_with(".svg") {
            assert!(
                text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
                "{f}"
            );
        }
    }
    let svg = std::fs::read_to_string(run.join("speedup-cpu-thread.svg")).unwrap();
    assert!(svg.contains("ideal (linear)") && svg.contains("rayon balanced"));
    let summary = std::fs::read_to_string(run.join("summary.md")).unwrap();
    assert!(summary.contains("![speedup-cpu-thread](speedup-cpu-thread.svg)"));
    assert_eq!(
        std::fs::read_to_string(run.join("raw/thread-cpu.jsonl")).unwrap(),
        ta
    );
    assert_eq!(
        std::fs::read_to_string(run.join("raw/thread-rest.jsonl")).unwrap(),
        tb
    );
    // Without --out the summary goes to stdout, the same tables without plot links.
    bin()
        .arg(run.join("raw/thread-cpu.jsonl"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("## Claims").and(predicate::str::contains("| thread | rayon")),
        );
}

/// The Chromium to drive: `CONPAR_CHROMIUM`, else the first of chromium,
/// chromium-browser, google-chrome on PATH.
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("CONPAR_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

#[test]
fn index_html_shows_every_claim_and_plot_in_a_headless_browser_and_fetches_nothing() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs chromium for this test (apt-get install chromium); none was found on PATH"
        );
        eprintln!("skipped: no chromium on PATH (set CONPAR_CHROMIUM to run it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let r = Report::new(load(&sweep()));
    r.write_dir(&out).unwrap();
    let page = out.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "<link",
    ] {
        assert!(
            !html.contains(attr),
            "the page refers outside itself: {attr}"
        );
    }
    let net_log = dir.path().join("net.json");
    let done = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let dom = String::from_utf8_lossy(&done.stdout);
    for c in record::Claim::ALL {
        assert!(
            dom.contains(&format!("id=\"claim-{c}\"")),
            "{c} is not on the page"
        );
    }
    for p in report::plot::plan(&r) {
        assert!(
            dom.contains(&format!("data-plot=\"{}\"", p.file)),
            "{} is not on the page",
            p.file
        );
    }
    assert!(dom.matches("<svg").count() >= report::plot::plan(&r).len());
    // The browser's log of every request it made: the page's own (initiated
    // by its opaque file origin, "null") must all be file: URLs. Chromium's
    // own background requests ("not an origin") are not the page's.
    let fetched = page_fetches(&std::fs::read_to_string(&net_log).unwrap());
    assert!(fetched.is_empty(), "the page fetched: {fetched:?}");
}

/// The URLs a page asked for beyond `file:`, from a Chromium net log.
fn page_fetches(log: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(log).expect("the net log is JSON");
    let start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names URL_REQUEST_START_JOB");
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == Some(start))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_net_log_check_sees_what_a_page_fetches() {
    let log = r#"{"constants":{"logEventTypes":{"URL_REQUEST_START_JOB":7}},"events":[
        {"type":7,"params":{"url":"http://clients2.google.com/time","initiator":"not an origin"}},
        {"type":7,"params":{"url":"file:///tmp/index.html","initiator":"null"}},
        {"type":7,"params":{"url":"http://example.invalid/x.png","initiator":"null"}}]}"#;
    assert_eq!(page_fetches(log), ["http://example.invalid/x.png"]);
}

/// The SQL blocks of results/README.md marked `<!-- duckdb-query: NAME -->`.
fn readme_queries() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/README.md"),
    )
    .unwrap();
    readme
        .split("<!-- duckdb-query: ")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once(" -->").unwrap();
            let sql = rest
                .split("```sql")
                .nth(1)
                .unwrap()
                .split("```")
                .next()
                .unwrap();
            (name.to_string(), sql.trim().to_string())
        })
        .collect()
}

#[test]
fn the_duckdb_queries_of_results_readme_run() {
    let queries = readme_queries();
    assert_eq!(queries.len(), 2, "{queries:?}");
    let has_duckdb = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs duckdb for this test (python3 -m pip install duckdb)"
        );
        eprintln!("skipped: no duckdb module for python3");
        return;
    }
    // A run folder under results/, as the queries expect.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("results/run/raw");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::write(raw.join("thread-cpu.jsonl"), jsonl(&sweep())).unwrap();
    for (name, sql) in queries {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import duckdb, sys; print(duckdb.sql(sys.argv[1]).fetchall())",
            ])
            .arg(&sql)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        match name.as_str() {
            "cases" => assert!(text.contains("'rayon'"), "{text}"),
            "verdicts" => assert!(text.contains("('C9', 'holds', 1)"), "{text}"),
            other => panic!("unknown query {other}"),
        }
    }
}

#[test]
fn bencher_export_has_the_documented_shape() {
    let r = Report::new(load(&sweep()));
    let v = report::bencher::bmf(&r);
    let benches = v.as_object().expect("an object of benchmarks");
    assert_eq!(benches.len(), r.cases.len());
    for (name, measures) in benches {
        assert!(!name.is_empty() && name.len() <= 1024, "{name}");
        let measures = measures.as_object().expect("an object of measures");
        assert!(measures.contains_key("throughput"), "{name}");
        for (m, metric) in measures {
            assert!(["throughput", "latency"].contains(&m.as_str()), "{m}");
            let get = |k: &str| metric[k].as_f64();
            let value = get("value").expect("a numeric value");
            let (lo, hi) = (get("lower_value").unwrap(), get("upper_value").unwrap());
            assert!(lo <= value && value <= hi, "{name} {m}: {lo} {value} {hi}");
        }
    }
    assert!(benches.contains_key("cpu/thread/rayon/balanced/cores=4"));
    assert!(
        benches["pingpong/thread/pipe/same-cpu/cores=2"]
            .as_object()
            .unwrap()
            .contains_key("latency")
    );
}

#[test]
fn compare_says_faster_slower_or_within_noise_per_case_and_claim() {
    let a = sweep();
    let mut b = sweep();
    // rayon at 4 cores twice as fast; everything else as before.
    for r in b.iter_mut().filter(|r| r.model == "rayon" && r.cores == 4) {
        r.wall_ns /= 2;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&pa, jsonl(&a)).unwrap();
    std::fs::write(&pb, jsonl(&b)).unwrap();
    let out = bin().arg("--compare").arg(&pa).arg(&pb).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rayon4 = text
        .lines()
        .find(|l| l.contains("rayon balanced") && l.contains("|     4 |"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        rayon4.contains("2.00×") && rayon4.contains("faster"),
        "{rayon4}"
    );
    assert!(text.contains("within noise"), "{text}");
    assert!(
        text.contains("| C9 Shared memory brings synchronization problems"),
        "{text}"
    );
    bin().args(["--compare", "only-one"]).assert().code(2);
}

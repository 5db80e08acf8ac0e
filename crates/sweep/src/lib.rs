//! The sweep: conpar's experiments across core counts into a run folder,
//! what `scripts/sweep` runs.
//!
//! ```text
//! flags ─► table + plan ─► limits ─► run folder ─► cargo build ─► calibrate
//!  (cli)   (table, plan)   (harness)  (paths)                      (thread calibrate)
//!        ─► README header ─► every run, its own process ─► report ─► README Runs
//!           (readme, host)   (runner, stop)                           (readme)
//! ```
//!
//! Everything the user can get wrong is checked before anything is built or
//! run: the flags, `--cores-list` against the CPUs allowed, `--only` against
//! the table, `--bin-dir`, the OS limits, and the run folder. Exit codes: 0
//! every run and the report succeeded, 1 a run, the build or the report
//! failed, 2 bad usage or limits too low, 130 stopped by the user.

pub mod cli;
pub mod host;
pub mod paths;
pub mod plan;
pub mod python;
pub mod readme;
pub mod runner;
pub mod stop;
pub mod table;
pub mod verdicts;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use harness::UsageError;

pub use cli::Cli;

use crate::plan::{Calibrations, Plan};
use crate::table::ModeSettings;

/// Exit code: a run, the build or the report failed.
pub const EXIT_FAILED: u8 = harness::EXIT_FAILURE;
/// Exit code: bad usage, or OS limits too low for the sweep.
pub const EXIT_USAGE: u8 = harness::EXIT_USAGE;
/// Exit code: the user stopped the sweep (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Runs the sweep `cli` asks for; `argv` is the command line as typed, for
/// the README. Returns the exit code; an error is a usage error (exit 2) or a
/// failure before the first run (exit 1).
pub fn run(cli: Cli, argv: &[String]) -> anyhow::Result<u8> {
    let tty = std::io::stderr().is_terminal();
    let rows = table::parse(table::EXPERIMENTS).map_err(anyhow::Error::msg)?;
    let mode = ModeSettings::of(cli.quick);
    let cpus = host::allowed_cpus();
    let list = cli.cores_list.as_ref().map(|l| l.0.as_slice());
    let counts =
        plan::core_counts(&mode, list, cpus).map_err(|e| usage(format!("--cores-list: {e}")))?;
    let reps = cli.reps.unwrap_or(mode.reps);
    // Python is looked for only when a python row is chosen (a pyenv shim
    // costs a quarter of a second to start).
    let wants_python = rows.iter().any(|r| {
        r.per_interpreter()
            && r.runs_in(&mode)
            && cli.only.as_ref().is_none_or(|re| re.is_match(&r.name()))
    });
    let pythons = if wants_python {
        python::interpreters()
    } else {
        Vec::new()
    };
    let mut plan = plan::expand(&rows, mode, counts, reps, cpus, cli.only.as_ref(), &pythons)
        .map_err(usage)?;
    if let Some(dir) = &cli.bin_dir {
        check_bin_dir(dir, &plan)?;
    }
    if cli.plan {
        plan.notes
            .iter()
            .for_each(|n| eprintln!("sweep: note: {n}"));
        plan.lines().iter().for_each(|l| println!("{l}"));
        return Ok(0);
    }

    preflight(&mode)?;
    let root = paths::repo_root();
    let bin_dir = match (&cli.bin_dir, &root) {
        (Some(dir), _) => dir.clone(),
        (None, Some(root)) => {
            paths::release_dir(root, std::env::var_os("CARGO_TARGET_DIR").as_deref())
        }
        (None, None) => {
            return Err(usage(
                "cannot find the conpar checkout to build (see crates/sweep/src/paths.rs); \
                 pass --bin-dir DIR with the release binaries",
            ));
        }
    };
    let out = run_folder(cli.out.as_deref(), root.as_deref())?;
    stop::install()?;
    if let (None, Some(root)) = (&cli.bin_dir, &root)
        && let Err(e) = build(root, &bin_dir, &plan, tty)
    {
        // Leave no empty run folder behind a failed build.
        for dir in [out.join("raw"), out.join("logs"), out.clone()] {
            let _ = std::fs::remove_dir(dir);
        }
        if stop::requested() {
            eprintln!("sweep: interrupted during the build");
            return Ok(EXIT_INTERRUPTED);
        }
        return Err(e);
    }

    let used: Vec<&String> = pythons
        .iter()
        .filter(|p| plan.runs.iter().any(|r| r.python == Some(p.as_str())))
        .collect();
    let mut cal = Calibrations {
        rust: calibrate(&bin_dir, &mut plan, tty),
        python: Vec::new(),
    };
    for p in used {
        let u = calibrate_python(&bin_dir, p, &mut plan, tty);
        cal.python.push((p.clone(), u));
    }
    let others = host::others_now();
    if !host::busy(others).is_empty() {
        eprintln!(
            "sweep: warning: other programs took {:.0} % of the {cpus} CPU(s) just now: the numbers will be noisy, and a \
             verdict whose cases were slowed reads inconclusive (each case measures what others took); close them or rerun later",
            others * 100.0
        );
    }
    let header = header(&plan, &out, root.as_deref(), argv, cpus, others, &cal);
    std::fs::write(out.join("README.md"), readme::header(&header))
        .with_context(|| format!("cannot write {}", out.join("README.md").display()))?;

    let outcome = runner::run_all(&plan, &bin_dir, &out, &cal, tty);
    let report_ok = report(&bin_dir, &out);
    let footer = readme::Footer {
        finished: host::now_utc(),
        total: plan.runs.len(),
        load: host::load_average(),
        notes: &plan.notes,
        provenance: readme::provenance(&out.join("raw")),
        report_ok,
    };
    append(&out.join("README.md"), &readme::runs(&outcome, &footer))?;

    if tty {
        eprintln!(
            "sweep: {} record(s) from {} run(s) in {}, {} failed; wrote {}",
            count_records(&out.join("raw")),
            outcome.done.len(),
            host::fmt_secs(outcome.secs),
            outcome.failed.len(),
            out.display()
        );
        plan.notes.iter().for_each(|n| eprintln!("  note: {n}"));
    }
    if report_ok {
        match verdicts::read(&out) {
            Ok(rows) => eprint!("\n{}", verdicts::render(&rows, host::terminal_width())),
            Err(e) => eprintln!("sweep: cannot read the verdicts report wrote: {e:#}"),
        }
    }
    if outcome.interrupted {
        eprintln!(
            "sweep: interrupted; the records written so far are in {}",
            out.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if outcome.failed.is_empty() && report_ok {
        0
    } else {
        EXIT_FAILED
    })
}

/// A `--bin-dir` must hold every binary the plan runs, and `report`.
fn check_bin_dir(dir: &Path, plan: &Plan<'_>) -> anyhow::Result<()> {
    let missing = paths::missing_binaries(dir, &plan.binaries());
    if missing.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "--bin-dir: {} lacks the executable(s) {} that this sweep runs; build them with \
         `cargo build --release` and copy target/release/ there, or narrow the sweep with --only",
        dir.display(),
        missing.join(", ")
    )))
}

/// The OS limits the mode's largest runs need.
fn preflight(mode: &ModeSettings) -> anyhow::Result<()> {
    harness::limits::check_sweep(mode.threads, mode.open_files, mode.memory_mib << 20).map_err(
        |e| {
            if mode.is_quick() {
                usage(e.0)
            } else {
                usage(format!("{}; or use --quick", e.0))
            }
        },
    )
}

/// Chooses and creates the run folder with its `raw/` and `logs/`: `--out`
/// if given (refused if it exists), else a fresh `results/<date>-<os>-<host>`.
fn run_folder(out: Option<&Path>, root: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match out {
        Some(out) if out.exists() => {
            return Err(usage(format!(
                "--out: {} already exists: a run folder is never overwritten; name another one",
                out.display()
            )));
        }
        Some(out) => out.to_path_buf(),
        None => {
            let (_, os) = host::kernel();
            let name = paths::default_name(&host::now_utc()[..10], &os, &host::hostname());
            let results = root.map_or_else(|| PathBuf::from("results"), |r| r.join("results"));
            let base = results.join(name);
            let dir = paths::fresh(&base, Path::exists);
            if dir != base {
                eprintln!(
                    "sweep: {} exists already, so this run goes to {}",
                    base.display(),
                    dir.display()
                );
            }
            dir
        }
    };
    let flag = if out.is_some() { "--out: " } else { "" };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| usage(format!("{flag}cannot create {}: {e}", parent.display())))?;
    }
    std::fs::create_dir(&dir)
        .map_err(|e| usage(format!("{flag}cannot create {}: {e}", dir.display())))?;
    for sub in ["raw", "logs"] {
        std::fs::create_dir(dir.join(sub))
            .with_context(|| format!("cannot create {}/{sub}", dir.display()))?;
    }
    Ok(dir.canonicalize().unwrap_or(dir))
}

/// `cargo build --release --locked` in the checkout (quiet unless stderr is
/// a terminal), then checks the plan's binaries are in `bin_dir`.
fn build(root: &Path, bin_dir: &Path, plan: &Plan<'_>, tty: bool) -> anyhow::Result<()> {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--locked"])
        .current_dir(root)
        .stdin(Stdio::null());
    if tty {
        eprintln!("sweep: building in release (cargo build --release --locked)");
    } else {
        cmd.arg("--quiet");
    }
    let mut child = stop::spawn(&mut cmd)
        .context("cannot run cargo; install Rust (rustup.rs), or pass --bin-dir")?;
    let status = stop::wait(&mut child)?;
    anyhow::ensure!(status.success(), "the release build failed ({status})");
    let missing = paths::missing_binaries(bin_dir, &plan.binaries());
    anyhow::ensure!(
        missing.is_empty(),
        "the release build left no {} in {} (a cargo config's build.target-dir is not read: \
         set CARGO_TARGET_DIR or pass --bin-dir)",
        missing.join(", "),
        bin_dir.display()
    );
    Ok(())
}

/// What `exe calibrate ARGS` prints: a positive number of units per
/// millisecond, or `None`.
fn calibration_of(exe: &Path, args: &[&str]) -> Option<String> {
    if !paths::is_executable(exe) {
        return None;
    }
    let mut child = stop::spawn(
        Command::new(exe)
            .arg("calibrate")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut()?, &mut text).ok()?;
    let ok = stop::wait(&mut child).ok()?.success();
    let text = text.trim().to_string();
    (ok && text.parse::<f64>().is_ok_and(|u| u > 0.0)).then_some(text)
}

/// A Python interpreter's own units per millisecond (`python calibrate
/// --python P`), passed to its runs; `None`, with a note, where that fails.
fn calibrate_python(
    bin_dir: &Path,
    python: &str,
    plan: &mut Plan<'_>,
    tty: bool,
) -> Option<String> {
    let measured = calibration_of(&bin_dir.join(table::PYTHON), &["--python", python]);
    match &measured {
        Some(u) if tty => eprintln!("sweep: calibrated {u} units per millisecond for {python}"),
        Some(_) => {}
        None => plan.note(format!(
            "no calibration for {python}: each of its runs calibrates itself, so its work may differ slightly between runs"
        )),
    }
    measured
}

/// Kernel units per millisecond, measured once by `thread calibrate` and
/// passed to every run; `None`, with a note, where that is not possible.
fn calibrate(bin_dir: &Path, plan: &mut Plan<'_>, tty: bool) -> Option<String> {
    let measured = calibration_of(&bin_dir.join(table::CALIBRATOR), &[]);
    match &measured {
        Some(u) if tty => eprintln!("sweep: calibrated {u} kernel units per millisecond"),
        Some(_) => {}
        None => plan.note(format!(
            "no calibration ({} calibrate unavailable): each run calibrates itself, so work may differ slightly between runs",
            table::CALIBRATOR
        )),
    }
    measured
}

fn header(
    plan: &Plan<'_>,
    out: &Path,
    root: Option<&Path>,
    argv: &[String],
    cpus: u32,
    others: f64,
    cal: &Calibrations,
) -> readme::Header {
    let (model, hypervisor) = host::cpu_model();
    let online = host::online_cpus().map_or_else(|| "?".to_string(), |n| n.to_string());
    let machine = format!(
        "{}{}; {cpus} CPU(s) allowed of {online} online; {} GiB memory; {}; host {}",
        model.as_deref().unwrap_or("unknown CPU"),
        if hypervisor {
            ", under a hypervisor"
        } else {
            ""
        },
        host::memory_gib(),
        host::kernel().0,
        host::hostname()
    );
    readme::Header {
        name: out
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        command: runner::shell_words(argv),
        started: host::now_utc(),
        git: host::git(root),
        toolchain: host::toolchain(root),
        machine,
        load: host::load_average(),
        others,
        mode: plan.mode,
        core_counts: plan.core_counts.clone(),
        reps: plan.reps,
        units_per_ms: cal.rust.clone(),
        pythons: cal.python.clone(),
        rel: paths::relative_to_root(out, root),
    }
}

/// Runs `report OUT --out OUT`, its output to `logs/report.log`; whether it
/// wrote the summary.
fn report(bin_dir: &Path, out: &Path) -> bool {
    if count_records(&out.join("raw")) == 0 {
        eprintln!("sweep: no records were written, so report did not run");
        return false;
    }
    let log_path = out.join("logs").join("report.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path);
    let ok = log
        .and_then(|log| {
            let mut child = stop::spawn(
                Command::new(bin_dir.join(table::REPORT))
                    .arg(out)
                    .arg("--out")
                    .arg(out)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log),
            )?;
            stop::wait(&mut child)
        })
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("sweep: report failed; see {}", log_path.display());
    }
    ok
}

/// Lines in the `*.jsonl` files of `raw`.
fn count_records(raw: &Path) -> usize {
    std::fs::read_dir(raw)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|t| t.lines().count())
        .sum()
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

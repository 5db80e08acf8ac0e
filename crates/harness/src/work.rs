//! The CPU work of `cpu` and `gil`, resolved, labelled and checked the same
//! way in every binary.
//!
//! [`Work`] turns `--work-units` (or `--work-ms` through the calibration) into
//! kernel units and starts each case with the same parameters; [`Expected`]
//! holds every model to the work's checksum; [`Speedups`] measures every model
//! against the `sequential` model of the same repetition. The work itself is
//! `workload`'s [`TaskPlan`].

use std::time::Duration;

use workload::{Checksum, Dist, TaskPlan};

use crate::cli::CpuArgs;
use crate::sample::Timer;
use crate::session::{Case, Outcome, Session};
use record::claims::SEQUENTIAL;

/// The work of a `cpu` or `gil` run: its total units, and the calibration
/// they came from when `--work-ms` was used (kept in the records).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Total kernel units, split into `--tasks` tasks.
    pub units: u64,
    /// Kernel units per millisecond, when known (given or measured).
    pub units_per_ms: Option<f64>,
}

impl Work {
    /// Total units of `--work-units`, or `--work-ms` through the calibration
    /// (`--units-per-ms`, or measured now).
    pub fn of(s: &Session, args: &CpuArgs) -> Work {
        match args.work_units {
            Some(units) => Work {
                units,
                units_per_ms: args.calibration.units_per_ms,
            },
            None => Work::from_ms(args.work_ms, s.units_per_ms(&args.calibration)),
        }
    }

    /// `ms` milliseconds of one core at `units_per_ms` (at least one unit).
    pub fn from_ms(ms: f64, units_per_ms: f64) -> Work {
        Work {
            units: ((ms * units_per_ms).round() as u64).max(1),
            units_per_ms: Some(units_per_ms),
        }
    }

    /// The plan of `dist`: `--tasks` tasks adding up to the work's units.
    pub fn plan(&self, args: &CpuArgs, dist: Dist, seed: u64) -> TaskPlan {
        TaskPlan::new(dist, args.tasks as usize, self.units, seed)
    }

    /// Starts the case of `model` on `dist` with the work's parameters
    /// (`tasks`, `work_units`, `dist`, `units_per_ms`) and `workers`: 1 for
    /// `sequential`, else the session's workers (a model that starts some
    /// other number sets `workers` again).
    pub fn case(&self, s: &Session, args: &CpuArgs, (model, dist, rep): (&str, Dist, u32)) -> Case {
        let workers = if model == SEQUENTIAL { 1 } else { s.workers() };
        let mut case = s
            .case(model, dist.name(), rep)
            .param("tasks", args.tasks)
            .param("work_units", self.units)
            .param("dist", dist.name())
            .param("workers", workers);
        if let Some(u) = self.units_per_ms {
            case.set_param("units_per_ms", u);
        }
        case
    }
}

/// Runs every task on the calling thread: the `sequential` model, the baseline.
pub fn sequential(plan: &TaskPlan) -> (Checksum, Duration) {
    let t = Timer::start();
    let c = plan.expected_checksum();
    (c, t.elapsed())
}

/// Speedup and efficiency of a parallel wall time against a sequential one.
/// Efficiency divides by the CPUs actually available (fewer than workers when oversubscribed).
pub fn speedup(sequential_ns: u64, parallel_ns: u64, parallelism: usize) -> (f64, f64) {
    let s = sequential_ns as f64 / parallel_ns.max(1) as f64;
    (s, s / parallelism.max(1) as f64)
}

/// The checksum every model of one plan must produce.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    want: Option<Checksum>,
}

impl Expected {
    /// The reference for `plan`: the checksum of the `sequential` model when
    /// it is among `models` (it runs first, and is the reference computation
    /// itself), otherwise an untimed sequential run of `plan`, now.
    pub fn new(plan: &TaskPlan, models: &[&str]) -> Expected {
        Expected {
            want: (!models.contains(&SEQUENTIAL)).then(|| plan.expected_checksum()),
        }
    }

    /// Fails the run if `model` produced another checksum than the work's.
    pub fn check(&mut self, model: &str, dist: Dist, sum: Checksum) -> anyhow::Result<()> {
        let want = *self.want.get_or_insert(sum);
        check_checksum(model, dist, sum, want)
    }
}

/// What every `cpu` model's case reports once it ran `plan` split among
/// `workers`: the checksum checked against the work's, one op per task, the
/// wall time, the speedup and efficiency against this repetition's
/// `sequential` model, and for `static-split` the best efficiency its blocks
/// allow. The caller adds its verdict (its baseline's name differs).
#[allow(
    clippy::too_many_arguments,
    reason = "the case's numbers, each used once"
)]
pub fn cpu_outcome<'a>(
    expected: &mut Expected,
    speedups: &mut Speedups<'a>,
    plan: &TaskPlan,
    workers: usize,
    model: &'a str,
    dist: Dist,
    sum: Checksum,
    wall: Duration,
) -> anyhow::Result<Outcome> {
    expected.check(model, dist, sum)?;
    let out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
    let mut out = speedups.add(model, wall, out);
    if model == "static-split" {
        out = out.figure("static_split_bound", plan.static_split_bound(workers));
    }
    Ok(out)
}

/// Fails the run if `model` produced checksum `sum` where the work's is `want`.
pub fn check_checksum(
    model: &str,
    dist: Dist,
    sum: Checksum,
    want: Checksum,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        sum == want,
        "{model} ({}) produced checksum {} but the work's checksum is {}: the model skipped or repeated work",
        dist.name(),
        sum.hex(),
        want.hex()
    );
    Ok(())
}

/// Speedups of one repetition's models against its `sequential` model.
#[derive(Debug, Clone)]
pub struct Speedups<'a> {
    parallelism: usize,
    sequential_ns: Option<u64>,
    measured: Vec<(&'a str, f64)>,
}

impl<'a> Speedups<'a> {
    /// Speedups on `parallelism` CPUs (the divisor of efficiency).
    pub fn new(parallelism: usize) -> Speedups<'a> {
        Speedups {
            parallelism,
            sequential_ns: None,
            measured: Vec::new(),
        }
    }

    /// Takes `model`'s wall time: `sequential`'s becomes the baseline; any
    /// other model's speedup and efficiency against it, when there is one, go
    /// into `out` as the figures `speedup` and `efficiency`.
    pub fn add(&mut self, model: &'a str, wall: Duration, out: Outcome) -> Outcome {
        let wall_ns = wall.as_nanos() as u64;
        if model == SEQUENTIAL {
            self.sequential_ns = Some(wall_ns);
            return out;
        }
        let Some(base) = self.sequential_ns else {
            return out;
        };
        let (x, eff) = speedup(base, wall_ns, self.parallelism);
        self.measured.push((model, x));
        out.figure("speedup", x).figure("efficiency", eff)
    }

    /// The speedup of `model`, if it was measured against a baseline.
    pub fn of(&self, model: &str) -> Option<f64> {
        self.measured.iter().find(|m| m.0 == model).map(|m| m.1)
    }

    /// Every `(model, speedup)` measured so far, in the order they ran.
    pub fn measured(&self) -> &[(&'a str, f64)] {
        &self.measured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_ms_becomes_units_through_the_calibration() {
        let w = Work::from_ms(1000.0, 2.5);
        assert_eq!(w.units, 2500);
        assert_eq!(w.units_per_ms, Some(2.5));
        assert_eq!(Work::from_ms(0.001, 0.5).units, 1, "at least one unit");
    }

    #[test]
    fn speedup_divides_by_the_cpus_available() {
        assert_eq!(speedup(400, 100, 4), (4.0, 1.0));
        assert_eq!(speedup(400, 0, 0), (400.0, 400.0));
    }

    #[test]
    fn expected_takes_sequential_as_the_reference_or_computes_it() {
        let plan = TaskPlan::new(Dist::Skewed, 7, 70, 3);
        let want = plan.expected_checksum();
        let mut e = Expected::new(&plan, &["pool"]);
        assert!(e.check("pool", Dist::Skewed, want).is_ok());
        let err = e
            .check("pool", Dist::Skewed, Checksum::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pool (skewed)") && err.contains(&want.hex()),
            "{err}"
        );
        let mut e = Expected::new(&plan, &[SEQUENTIAL, "pool"]);
        let (seq, _) = sequential(&plan);
        assert!(e.check(SEQUENTIAL, Dist::Skewed, seq).is_ok());
        assert!(e.check("pool", Dist::Skewed, Checksum::default()).is_err());
    }

    #[test]
    fn speedups_are_against_sequential() {
        let mut s = Speedups::new(2);
        let out = s.add("pool", Duration::from_millis(50), Outcome::new(1));
        assert!(out.figures.is_empty(), "no baseline yet");
        let out = s.add(SEQUENTIAL, Duration::from_millis(100), Outcome::new(1));
        assert!(out.figures.is_empty());
        let out = s.add("rayon", Duration::from_millis(50), Outcome::new(1));
        assert_eq!(out.figures["speedup"], 2.0);
        assert_eq!(out.figures["efficiency"], 1.0);
        assert_eq!(s.of("rayon"), Some(2.0));
        assert_eq!(s.of("pool"), None);
        assert_eq!(s.measured(), [("rayon", 2.0)]);
    }
}

//! A run of one experiment in one binary: the [`Session`] pins the process,
//! guards it, and turns measured [`Case`]s into records.
//!
//! ```text
//! let mut s = Session::start("thread", "cpu", &args.common)?;   // pins --cores first
//! for model in s.select_models(MODELS)? {
//!     let case = s.case(model, "balanced", rep);                 // snapshot rusage, reset peak RSS
//!     let outcome = /* the model runs and times itself */;
//!     let record = case.finish(&s, outcome)?;                    // deltas, histogram, machine
//!     s.emit(record)?;                                           // stderr line + JSON line
//! }
//! s.finish()
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;
use workload::Checksum;

use crate::cli::{CalibrationArgs, Common, PlacementChoice};
use crate::cores::CoreSet;
use crate::machine::Machine;
use crate::model::Model;
use crate::placement::Placement;
use crate::rusage::{self, Usage};
use crate::sample::{self, Sampled, Schedule};
use crate::sink::Sink;
use crate::ui::Ui;
use crate::{UsageError, calibrate, guard};
use record::claims::noise::{self, Load};
use record::{CtxSwitches, Interference, Latency, Record, SCHEMA, Verdict};

use crate::interference::Reading;

/// The run of one experiment.
pub struct Session {
    binary: &'static str,
    experiment: &'static str,
    /// The shared flags as given.
    pub common: Common,
    /// The resolved `--cores`.
    pub cores: CoreSet,
    machine: Machine,
    sink: Sink,
    overhead_ns: f64,
    ui: Ui,
    verdicts: Vec<Verdict>,
    emitted: u64,
    /// `(rep, model, variant, interference)` of every case emitted, for the
    /// verdicts that compare them.
    loads: Vec<(u32, String, String, Interference)>,
    /// Process groups (led by a child) whose CPU time is this run's own.
    own: Vec<i32>,
}

impl Session {
    /// Opens `--out`, pins the process to `--cores` (before any thread
    /// exists), installs the deadline and the child guard, and measures the
    /// harness overhead.
    pub fn start(
        binary: &'static str,
        experiment: &'static str,
        common: &Common,
    ) -> anyhow::Result<Session> {
        let machine = crate::machine::detect();
        // Everything a flag can get wrong is refused before `--out` exists.
        common.cpus.choose()?;
        check_schedule(common)?;
        let sink = Sink::open(common.out.as_deref())?;
        let cores = common.cpus.pin()?;
        guard::install(
            &format!("{binary} {experiment}"),
            Duration::from_secs_f64(common.timeout_secs),
        )?;
        sample::init_clock();
        let overhead_ns = sample::overhead_ns();
        let ui = Ui::new(common.quiet);
        let s = Session {
            binary,
            experiment,
            common: common.clone(),
            cores,
            machine,
            sink,
            overhead_ns,
            ui,
            verdicts: Vec::new(),
            emitted: 0,
            loads: Vec::new(),
            own: Vec::new(),
        };
        s.ui.title(&format!(
            "{binary} {experiment}: {} worker(s) on CPU(s) {}{} · seed {} · harness overhead {:.0} ns/sample",
            s.cores.workers,
            s.cores.cpu_list(),
            if s.cores.oversubscribed() { " (oversubscribed)" } else { "" },
            common.seed,
            overhead_ns
        ));
        if s.machine.profile != "release" {
            s.note("this is a debug build: its numbers say nothing about real costs; build with --release");
        }
        if !s.sink.keeps_records() && !common.quiet {
            s.note("records are not kept: stdout is a terminal; pass --out FILE or pipe stdout to keep them");
        }
        Ok(s)
    }

    /// The binary's name.
    pub fn binary(&self) -> &'static str {
        self.binary
    }

    /// Counts the CPU time of every process of group `pgid` (led by a child
    /// of this process), with the children each reaps, as this run's own in
    /// every case's interference, which would otherwise take it for other
    /// programs' (a model run by another program: a Python interpreter and
    /// every worker, forkserver and child it starts).
    pub fn count_as_own(&mut self, pgid: i32) {
        if !self.own.contains(&pgid) {
            self.own.push(pgid);
        }
    }

    /// Number of workers every pool and runtime must use (N of `--cores N`).
    pub fn workers(&self) -> usize {
        self.cores.workers
    }

    /// The sampling schedule of `--warmup-secs` and `--duration-secs`.
    pub fn schedule(&self) -> Schedule {
        Schedule::from_common(&self.common)
    }

    /// The models `--model` selects from `all`, in the order of `all`;
    /// an unknown name is a usage error listing the valid ones.
    pub fn select_models<M: Model>(&self, all: &[M]) -> Result<Vec<M>, UsageError> {
        select(
            all,
            &self.common.models,
            &format!("`{} {}`", self.binary, self.experiment),
        )
    }

    /// The placements `choice` asks for on the pinned CPUs; each that cannot
    /// run here (cross-cpu on one CPU) is skipped with a note that says why,
    /// and a choice of which none can run is a usage error naming `--placement`.
    pub fn placements(&self, choice: PlacementChoice) -> Result<Vec<Placement>, UsageError> {
        let (placements, skipped) = Placement::resolve(choice, &self.cores);
        if placements.is_empty() {
            return Err(UsageError(format!(
                "--placement cross-cpu needs two CPUs: {}",
                skipped.join("; ")
            )));
        }
        skipped.iter().for_each(|n| self.note(n));
        Ok(placements)
    }

    /// Kernel units per millisecond: `--units-per-ms` if given, else measured
    /// now on the pinned CPUs.
    pub fn units_per_ms(&self, args: &CalibrationArgs) -> f64 {
        match args.units_per_ms {
            Some(u) => u,
            None => {
                self.ui.running("calibration of the CPU kernel");
                let u = calibrate::units_per_ms();
                if !self.common.quiet {
                    self.note(&format!(
                        "calibrated {u:.1} units/ms on this core; pass --units-per-ms {u:.1} to repeat exactly this work"
                    ));
                }
                u
            }
        }
    }

    /// Starts a case: resets the peak-memory mark and snapshots rusage.
    /// Create it right before the measured part, after setup.
    pub fn case(&self, model: &str, variant: &str, rep: u32) -> Case {
        let label = if variant.is_empty() {
            model.to_string()
        } else {
            format!("{model} ({variant})")
        };
        self.ui
            .running(&format!("{label}, rep {}/{}", rep + 1, self.common.reps));
        rusage::reset_peak_rss();
        let mut params = BTreeMap::new();
        params.insert("cores".to_string(), Value::from(self.cores.workers));
        params.insert("seed".to_string(), Value::from(self.common.seed));
        Case {
            model: model.to_string(),
            variant: variant.to_string(),
            rep,
            params,
            reading: Reading::counting(&self.cores.cpus, &self.own),
            started: Instant::now(),
            self0: Usage::this_process(),
            children0: Usage::children(),
        }
    }

    /// Prints the case on stderr and writes its record; a verdict, if any, is
    /// first weighed against the interference of the cases it compared (see
    /// `record::claims::noise`), then printed too.
    pub fn emit(&mut self, mut r: Record) -> anyhow::Result<()> {
        if let Some(i) = r.interference {
            self.loads
                .push((r.rep, r.model.clone(), r.variant.clone(), i));
        }
        if let Some(v) = r.verdict.as_mut() {
            let loads: Vec<Load<'_>> = v
                .compared
                .iter()
                .filter_map(|c| {
                    self.load_of(c, r.rep, &r.variant).map(|interference| Load {
                        model: c.as_str(),
                        interference,
                    })
                })
                .collect();
            let mut weighed = v.clone();
            noise::weigh(&mut weighed, &loads);
            *v = weighed;
        }
        self.ui.case(&r);
        if let Some(v) = &r.verdict {
            self.ui.verdict(&v.line());
            self.verdicts.push(v.clone());
        }
        self.sink.write(&r)?;
        self.emitted += 1;
        Ok(())
    }

    /// The interference of the case `label` (`model` or `model (variant)`)
    /// of repetition `rep`: its own variant first, then `variant`, then any.
    fn load_of(&self, label: &str, rep: u32, variant: &str) -> Option<Interference> {
        let of_rep = || self.loads.iter().rev().filter(|l| l.0 == rep);
        let full = |l: &&(u32, String, String, Interference)| {
            !l.2.is_empty() && label == format!("{} ({})", l.1, l.2)
        };
        of_rep()
            .find(full)
            .or_else(|| of_rep().find(|l| l.1 == label && l.2 == variant))
            .or_else(|| of_rep().find(|l| l.1 == label))
            .map(|l| l.3)
    }

    /// Prints a verdict that no single record carries (rare; prefer attaching it to the deciding case).
    pub fn verdict_note(&mut self, v: &Verdict) {
        self.ui.verdict(&v.line());
    }

    /// Prints a note for the reader on stderr.
    pub fn note(&self, s: &str) {
        self.ui.note(s);
    }

    /// Ends the session; fails if no case ran.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.ui.done();
        anyhow::ensure!(
            self.emitted > 0,
            "`{} {}` measured no case",
            self.binary,
            self.experiment
        );
        if let Sink::File(_, p) = &self.sink
            && !self.common.quiet
        {
            eprintln!("  wrote {} record(s) to {}", self.emitted, p.display());
        }
        Ok(())
    }

    /// Verdicts emitted so far.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }
}

/// Refuses a sampling schedule the deadline cannot hold: every case that
/// takes samples runs `--warmup-secs` plus `--duration-secs`.
fn check_schedule(common: &Common) -> Result<(), UsageError> {
    let case = common.warmup_secs + common.duration_secs;
    if case >= common.timeout_secs {
        return Err(UsageError(format!(
            "--duration-secs {} plus --warmup-secs {} is {case} s, which does not fit in --timeout-secs {}: \
             the run would die at its deadline; raise --timeout-secs or shorten the others",
            common.duration_secs, common.warmup_secs, common.timeout_secs
        )));
    }
    Ok(())
}

/// The models of `all` whose names are in `asked` (all of them when `asked`
/// is empty), in the order of `all`; an unknown name is a usage error naming
/// `--model` and listing the models of `what`.
pub fn select<M: Model>(all: &[M], asked: &[String], what: &str) -> Result<Vec<M>, UsageError> {
    if asked.is_empty() {
        return Ok(all.to_vec());
    }
    for m in asked {
        if !all.iter().any(|a| a.name() == m) {
            let names: Vec<&str> = all.iter().map(|a| a.name()).collect();
            return Err(UsageError(format!(
                "--model {m} is not a model of {what}; choose from: {}",
                names.join(", ")
            )));
        }
    }
    Ok(all
        .iter()
        .copied()
        .filter(|a| asked.iter().any(|m| m == a.name()))
        .collect())
}

/// A case being measured.
#[derive(Debug)]
pub struct Case {
    model: String,
    variant: String,
    rep: u32,
    params: BTreeMap<String, Value>,
    reading: Reading,
    started: Instant,
    self0: Usage,
    children0: Usage,
}

impl Case {
    /// Adds a parameter to the record.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Case {
        self.params.insert(key.to_string(), value.into());
        self
    }

    /// Adds a parameter to the record, in place.
    pub fn set_param(&mut self, key: &str, value: impl Into<Value>) {
        self.params.insert(key.to_string(), value.into());
    }

    /// Time since the case started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ends the case: resource deltas, latency summary, machine and provenance.
    pub fn finish(self, s: &Session, out: Outcome) -> anyhow::Result<Record> {
        let interference = self
            .reading
            .until(&Reading::counting(&s.cores.cpus, &s.own));
        let elapsed = self.started.elapsed();
        let own = Usage::this_process().since(&self.self0);
        let kids = Usage::children().since(&self.children0);
        let peak = rusage::peak_rss_bytes().unwrap_or(own.max_rss_bytes);
        let wall = out.wall.unwrap_or(elapsed);
        let wall_ns = wall.as_nanos().max(1) as u64;
        let latency = match &out.histogram {
            Some(h) if !h.is_empty() => Some(Latency::from_histogram(h)?),
            _ => None,
        };
        let child_peak = if kids.user_ns + kids.sys_ns > 0 || kids.voluntary > 0 {
            kids.max_rss_bytes
        } else {
            0
        };
        Ok(Record {
            schema: SCHEMA,
            binary: s.binary.to_string(),
            experiment: s.experiment.to_string(),
            model: self.model,
            variant: self.variant,
            rep: self.rep,
            params: self.params,
            cpus: s.cores.cpus.clone(),
            wall_ns,
            cpu_user_ns: own.user_ns + kids.user_ns,
            cpu_sys_ns: own.sys_ns + kids.sys_ns,
            max_rss_bytes: peak.max(child_peak),
            ctx_switches: CtxSwitches {
                voluntary: own.voluntary + kids.voluntary,
                involuntary: own.involuntary + kids.involuntary,
            },
            interference: Some(interference),
            ops: out.ops,
            ops_per_s: out.ops as f64 / (wall_ns as f64 / 1e9),
            checksum: out.checksum,
            figures: out.figures,
            latency,
            verdict: out.verdict,
            harness_overhead_ns: s.overhead_ns,
            machine: s.machine.clone(),
        })
    }
}

/// What a model reports about one case.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Operations done (the experiment defines them).
    pub ops: u64,
    /// Wall time of the measured operation; default: the case's elapsed time.
    pub wall: Option<Duration>,
    /// Checksum of the work, as written in records.
    pub checksum: Option<String>,
    /// Samples, nanoseconds.
    pub histogram: Option<Histogram<u64>>,
    /// Experiment-specific figures, units in names.
    pub figures: BTreeMap<String, f64>,
    /// The claim this case decides.
    pub verdict: Option<Verdict>,
}

impl Outcome {
    /// An outcome of `ops` operations.
    pub fn new(ops: u64) -> Outcome {
        Outcome {
            ops,
            ..Outcome::default()
        }
    }

    /// The outcome of a sampling loop: one op per sample, the measuring
    /// phase's wall time, and the samples' histogram.
    pub fn sampled(done: Sampled, h: Histogram<u64>) -> Outcome {
        Outcome::new(done.samples).wall(done.wall).histogram(h)
    }

    /// [`Outcome::sampled`] for samples that are round trips between two
    /// units, with the figure `handover_p50_ns`: half the median round trip,
    /// one hand-over.
    pub fn round_trips(done: Sampled, h: Histogram<u64>) -> Outcome {
        let half = h.value_at_quantile(0.5) as f64 / 2.0;
        Outcome::sampled(done, h).figure("handover_p50_ns", half)
    }

    /// Sets the measured wall time.
    pub fn wall(mut self, d: Duration) -> Outcome {
        self.wall = Some(d);
        self
    }

    /// Sets the checksum.
    pub fn checksum(mut self, c: Checksum) -> Outcome {
        self.checksum = Some(c.hex());
        self
    }

    /// Sets the histogram.
    pub fn histogram(mut self, h: Histogram<u64>) -> Outcome {
        self.histogram = Some(h);
        self
    }

    /// Adds a figure (units in the name).
    pub fn figure(mut self, key: &str, value: f64) -> Outcome {
        self.figures.insert(key.to_string(), value);
        self
    }

    /// Sets the verdict, if there is one (`None` leaves the outcome as it is).
    pub fn verdict(mut self, v: impl Into<Option<Verdict>>) -> Outcome {
        if let Some(v) = v.into() {
            self.verdict = Some(v);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist;

    #[test]
    fn round_trips_are_two_hand_overs() {
        let mut h = hist::new();
        [100, 200, 300]
            .into_iter()
            .for_each(|ns| hist::record(&mut h, ns));
        let done = Sampled {
            samples: 3,
            wall: Duration::from_micros(1),
        };
        let out = Outcome::round_trips(done, h);
        assert_eq!((out.ops, out.wall), (3, Some(done.wall)));
        assert_eq!(out.histogram.as_ref().map(Histogram::len), Some(3));
        assert_eq!(out.figures["handover_p50_ns"], 100.0);
    }
}

//! The flags every binary shares, defined once and flattened into each
//! binary's subcommands, so that `--cores 4` or `--tasks 100` mean the same
//! everywhere (the drifted, copied usage text of other benchmark suites is
//! what this prevents).
//!
//! [`Common`] goes into every experiment; the `*Args` structs go into every
//! binary that implements that experiment.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cores::CoreSet;

/// `--cores` and `--oversubscribe`: which CPUs a run may use and how many
/// workers it starts; in every experiment (through [`Common`]) and in `serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct CoresArgs {
    /// Pin the process to the first N CPUs it may run on, before any thread
    /// exists, and size every pool, runtime and worker count to N
    /// [default: every CPU this process may run on]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cores: Option<u32>,

    /// Let --cores exceed the CPUs this process may run on: pin to all of
    /// them and still run N workers
    #[arg(long)]
    pub oversubscribe: bool,
}

impl CoresArgs {
    /// The CPUs and workers these flags choose, without pinning anything:
    /// a usage error naming `--cores` if they cannot be had.
    pub fn choose(&self) -> anyhow::Result<CoreSet> {
        let allowed = crate::cores::allowed_cpus()?;
        Ok(CoreSet::choose(&allowed, self.cores, self.oversubscribe)?)
    }

    /// Pins the process to the chosen CPUs: the one way every binary pins
    /// (call it while the process is single-threaded).
    pub fn pin(&self) -> anyhow::Result<CoreSet> {
        CoreSet::pin(self.cores, self.oversubscribe)
    }
}

/// Flags shared by every experiment of every binary.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Shared options")]
pub struct Common {
    #[command(flatten)]
    pub cpus: CoresArgs,

    /// Run only these models (comma-separated or repeated; see each
    /// experiment's help for the list) [default: all]
    #[arg(long = "model", value_name = "MODEL", value_delimiter = ',')]
    pub models: Vec<String>,

    /// Measure every case this many times, one record per repetition
    #[arg(long, allow_negative_numbers = true, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub reps: u32,

    /// Seconds of sampling per case, for experiments that take many samples
    /// (at most a day)
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 1.0, value_parser = positive_secs)]
    pub duration_secs: f64,

    /// Seconds of untimed warm-up before sampling
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 0.2, value_parser = non_negative_secs)]
    pub warmup_secs: f64,

    /// Seed of every random choice (task sizes, order of dishes)
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "SEED",
        default_value_t = 42
    )]
    pub seed: u64,

    /// Stop the whole run with an error after this many seconds, killing any
    /// child process; records already written are kept
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 600.0, value_parser = positive_secs)]
    pub timeout_secs: f64,

    /// Append the records (JSON Lines) to FILE [default: stdout when it is
    /// not a terminal; nowhere otherwise]
    #[arg(long, allow_negative_numbers = true, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print nothing on stderr but errors and verdicts
    #[arg(long, short)]
    pub quiet: bool,
}

/// The longest duration any flag takes, seconds (a day): long enough for
/// any run, short enough for every clock and `Duration` to hold.
pub const MAX_SECS: f64 = 86_400.0;

/// Parses a strictly positive number of seconds, at most [`MAX_SECS`].
pub fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_SECS => Ok(v),
        Ok(v) if v > MAX_SECS => Err(format!(
            "'{s}' seconds is too long: at most {MAX_SECS} (a day)"
        )),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// Parses a number of seconds that may be zero, at most [`MAX_SECS`].
pub fn non_negative_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=MAX_SECS).contains(&v) => Ok(v),
        Ok(v) if v > MAX_SECS => Err(format!(
            "'{s}' seconds is too long: at most {MAX_SECS} (a day)"
        )),
        _ => Err(format!("'{s}' is not a number of seconds (0 or more)")),
    }
}

/// Parses a strictly positive number of milliseconds, at most a day.
pub fn positive_ms(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_SECS * 1e3 => Ok(v),
        Ok(v) if v > MAX_SECS * 1e3 => Err(format!(
            "'{s}' milliseconds is too long: at most {} (a day)",
            MAX_SECS * 1e3
        )),
        _ => Err(format!("'{s}' is not a positive number of milliseconds")),
    }
}

/// Parses a strictly positive finite number.
pub fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// Parses a byte size: a whole number with an optional binary suffix
/// (`512`, `4KiB`, `1MiB`, `2GiB`; `K`, `M`, `G` and `KB`… mean the same).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 4096, 64KiB or 1MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "'{s}' has an unknown unit (use B, KiB, MiB or GiB)"
            ));
        }
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("'{s}' must be between 1 byte and 16 EiB")),
        Some(b) => Ok(b),
    }
}

pub use record::fmt::fmt_size as format_bytes;

/// Which task-size distributions to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistChoice {
    /// Every task the same size.
    Balanced,
    /// Heavy-tailed sizes (Pareto, seeded): static splits lose, work stealing does not.
    Skewed,
    /// Both, one after the other.
    Both,
}

impl DistChoice {
    /// The distributions this choice selects.
    pub fn dists(self) -> Vec<workload::Dist> {
        match self {
            DistChoice::Balanced => vec![workload::Dist::Balanced],
            DistChoice::Skewed => vec![workload::Dist::Skewed],
            DistChoice::Both => workload::Dist::ALL.to_vec(),
        }
    }
}

/// How a duration of CPU work becomes kernel units on this machine.
#[derive(Debug, Clone, Args)]
pub struct CalibrationArgs {
    /// Kernel units per millisecond of one core; pass the same value to every
    /// run that must do identical work (sweeps do) [default: measured at start]
    #[arg(long, allow_negative_numbers = true, value_name = "UNITS", value_parser = positive_f64)]
    pub units_per_ms: Option<f64>,
}

/// Flags of the `cpu` and `gil` experiments: a fixed amount of CPU work split into tasks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct CpuArgs {
    /// Number of tasks the work is split into
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub tasks: u64,

    /// Total work, in milliseconds of one core (turned into units with the calibration)
    #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 1000.0, value_parser = positive_ms)]
    pub work_ms: f64,

    /// Total work in kernel units; overrides --work-ms and the calibration
    #[arg(long, allow_negative_numbers = true, value_name = "UNITS", value_parser = clap::value_parser!(u64).range(1..))]
    pub work_units: Option<u64>,

    /// Task-size distribution
    #[arg(long, value_enum, value_name = "DIST", default_value_t = DistChoice::Both)]
    pub dist: DistChoice,

    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// Flags of the `kitchen` experiment.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct KitchenArgs {
    /// Number of orders, drawn from the menu (ramen, fried rice, spicy pork)
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub orders: u64,

    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// Where the two ends of a two-party experiment run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlacementChoice {
    /// Both ends on the first CPU of the set.
    SameCpu,
    /// The ends on the first two CPUs of the set (needs --cores 2 or more).
    CrossCpu,
    /// Both placements, one after the other (cross-cpu only where 2 CPUs exist).
    Both,
}

/// Flags of two-party experiments (`pingpong`, `share`): where the two ends run.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct PlacementArgs {
    /// Where the two ends run
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = PlacementChoice::Both)]
    pub placement: PlacementChoice,
}

/// Flags of the `memory` experiment.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct MemoryArgs {
    /// Most units alive at once; resident memory is read at several counts up
    /// to N and the slope fitted [default: depends on the binary]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub tasks: Option<u64>,

    /// Number of counts at which memory is read (evenly spaced up to --tasks)
    #[arg(long, allow_negative_numbers = true, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=100))]
    pub steps: u64,
}

/// Flags of the `race` experiment.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct RaceArgs {
    /// Units incrementing the counter [default: --cores]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub tasks: Option<u64>,

    /// Increments per unit
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub increments: u64,
}

/// Flags of the `share` experiment.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct ShareArgs {
    #[command(flatten)]
    pub placement: PlacementArgs,

    /// Sizes moved from one unit to the other (comma-separated, e.g. 1KiB,1MiB,64MiB)
    #[arg(long, allow_negative_numbers = true, value_name = "SIZES", value_delimiter = ',', value_parser = parse_bytes,
          default_value = "1KiB,64KiB,1MiB,16MiB,256MiB")]
    pub sizes: Vec<u64>,
}

/// Where the load generator of `echo` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadgenChoice {
    /// A `loadgen` child process (found next to this binary): server and
    /// client figures stay apart, and each gets its own open-files limit.
    Process,
    /// Threads of this process: no second binary needed, but the client's
    /// memory and descriptors count against the server's process.
    InProcess,
}

impl LoadgenChoice {
    /// The name in records.
    pub fn name(self) -> &'static str {
        match self {
            LoadgenChoice::Process => "process",
            LoadgenChoice::InProcess => "in-process",
        }
    }
}

/// Flags of the `echo` experiment: one request/response over loopback TCP
/// under C connections, against every server model.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct EchoArgs {
    /// Connections held open at once (comma-separated list; one case per count)
    #[arg(long, allow_negative_numbers = true, value_name = "C", value_delimiter = ',', default_value = "1,10,100,1000,10000",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub connections: Vec<u64>,

    /// Size of every request (and of its echo), at least 24 bytes
    #[arg(long, allow_negative_numbers = true, value_name = "SIZE", default_value = "64", value_parser = parse_bytes)]
    pub message_bytes: u64,

    /// Open loop: send at this many requests per second in total, latency
    /// measured from each request's intended send time (as wrk2 does)
    /// [default: closed loop, each connection sends when its reply is in]
    #[arg(long, allow_negative_numbers = true, value_name = "REQ_PER_S", value_parser = positive_f64)]
    pub rate: Option<f64>,

    /// Where the load generator runs
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = LoadgenChoice::Process)]
    pub loadgen: LoadgenChoice,

    /// Threads of the load generator [default: one per CPU it gets]
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub client_threads: Option<u32>,
}

/// Flags of the `requests` experiment: N requests to a server that answers
/// each after a delay.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct RequestsArgs {
    /// Number of requests, each on its own connection
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub requests: u64,

    /// Milliseconds the delay server waits before answering each request
    #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 20.0, value_parser = positive_ms)]
    pub delay_ms: f64,

    /// Size of every request (and of its answer), at least 24 bytes
    #[arg(long, allow_negative_numbers = true, value_name = "SIZE", default_value = "64", value_parser = parse_bytes)]
    pub message_bytes: u64,
}

/// Flags of the `stall` experiment: a heartbeat beside a task that blocks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct StallArgs {
    /// Milliseconds of each call of the blocker (then as long an async sleep)
    #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub block_ms: u64,
}

/// Flags of `serve`: run one server model on its own until interrupted.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The server model to run (see the binary's `echo` help for the list)
    #[arg(long, allow_negative_numbers = true, value_name = "MODEL")]
    pub model: String,

    /// Port on 127.0.0.1 (0 picks a free one; the address is printed on stdout)
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "PORT",
        default_value_t = 0
    )]
    pub port: u16,

    #[command(flatten)]
    pub cpus: CoresArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        cpu: CpuArgs,
    }

    #[test]
    fn defaults_parse() {
        let c = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(c.common.cpus.cores, None);
        assert_eq!(c.common.reps, 1);
        assert_eq!(c.cpu.tasks, 1024);
        assert_eq!(c.cpu.dist, DistChoice::Both);
    }

    #[test]
    fn zero_cores_and_tasks_are_refused_naming_the_flag() {
        for args in [
            ["x", "--cores", "0"],
            ["x", "--tasks", "0"],
            ["x", "--duration-secs", "0"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(args[1]), "{err}");
        }
        let err = Cli::try_parse_from(["x", "--dist", "lumpy"]).unwrap_err();
        assert!(err.to_string().contains("--dist"), "{err}");
    }

    #[test]
    fn durations_a_duration_cannot_hold_are_refused() {
        for (flag, v) in [
            ("--timeout-secs", "1e20"),
            ("--duration-secs", "1e300"),
            ("--warmup-secs", "inf"),
            ("--duration-secs", "NaN"),
        ] {
            let err = Cli::try_parse_from(["x", flag, v]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(flag), "{err}");
        }
        assert!(positive_ms("1e300").is_err() && positive_ms("20").is_ok());
    }

    #[test]
    fn models_split_on_commas() {
        let c = Cli::try_parse_from(["x", "--model", "a,b", "--model", "c"]).unwrap();
        assert_eq!(c.common.models, ["a", "b", "c"]);
    }

    #[test]
    fn byte_sizes_round_trip() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64KiB"), Ok(65536));
        assert_eq!(parse_bytes("1M"), Ok(1 << 20));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
        for b in [1u64, 1000, 1024, 3 << 20, 1 << 30] {
            assert_eq!(parse_bytes(&format_bytes(b)), Ok(b));
        }
    }
}

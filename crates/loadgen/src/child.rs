//! The load generator as a child process: the `loadgen` binary, found next to
//! the running binary, started with the spec as flags, registered with the
//! child guard, read line by line (milestones, then the result, as JSON).
//! Each milestone is acknowledged on the child's stdin (`--ack`), so the
//! child keeps its connections open until the server's side has read its
//! figures for the window.
//!
//! A separate process is what 10,000 connections need where the open-files
//! hard limit is 20,000 per process (each connection costs a descriptor at
//! both ends), and it keeps the server's CPU time and memory apart from the
//! client's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use harness::cli::{non_negative_secs, parse_bytes, positive_f64, positive_secs};
use harness::cores::{format_cpu_list, parse_cpu_list};
use harness::{UsageError, guard};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::Value;

use crate::client::{DRAIN_CAP, Event, LoadResult, LoadSpec};

/// Name of the load generator binary.
pub const BINARY: &str = "loadgen";

/// The flags of `loadgen echo`: a [`LoadSpec`] on the command line.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The echo server's address
    #[arg(long, allow_negative_numbers = true, value_name = "IP:PORT")]
    pub addr: SocketAddr,

    /// Connections held open at once
    #[arg(long, allow_negative_numbers = true, value_name = "C", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections: u64,

    /// Size of every request, at least 24 bytes
    #[arg(long, allow_negative_numbers = true, value_name = "SIZE", default_value = "64", value_parser = parse_bytes)]
    pub message_bytes: u64,

    /// Seconds of warm-up before the window
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 0.2, value_parser = non_negative_secs)]
    pub warmup_secs: f64,

    /// Seconds of the measured window
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 1.0, value_parser = positive_secs)]
    pub duration_secs: f64,

    /// After the window, seconds without any answer that end the wait for
    /// requests still in flight
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", default_value_t = 0.25, value_parser = non_negative_secs)]
    pub drain_secs: f64,

    /// Open loop at this many requests per second in total [default: closed loop]
    #[arg(long, allow_negative_numbers = true, value_name = "REQ_PER_S", value_parser = positive_f64)]
    pub rate: Option<f64>,

    /// Client threads
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: u64,

    /// CPUs to run on, as a kernel list (`2-3,6`) [default: where this process may run]
    #[arg(long, allow_negative_numbers = true, value_name = "LIST", value_parser = cpu_list)]
    pub cpus: Option<CpuList>,

    /// Seconds allowed to open every connection [default: 10 + 1 ms per connection]
    #[arg(long, allow_negative_numbers = true, value_name = "SECS", value_parser = positive_secs)]
    pub connect_timeout_secs: Option<f64>,

    /// After printing each milestone, wait for a line on stdin before going
    /// on (so a parent reading the server's figures at the window's end sees
    /// every connection still open)
    #[arg(long, hide = true)]
    pub ack: bool,
}

/// A list of CPUs given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

fn cpu_list(s: &str) -> Result<CpuList, String> {
    match parse_cpu_list(s) {
        Some(v) if !v.is_empty() => Ok(CpuList(v)),
        _ => Err(format!("'{s}' is not a CPU list like 0-3,8")),
    }
}

impl ClientArgs {
    /// The spec these flags describe.
    pub fn spec(&self) -> LoadSpec {
        let connections = self.connections as usize;
        LoadSpec {
            addr: self.addr,
            connections,
            message_bytes: usize::try_from(self.message_bytes).unwrap_or(usize::MAX),
            warmup: Duration::from_secs_f64(self.warmup_secs),
            duration: Duration::from_secs_f64(self.duration_secs),
            drain: Duration::from_secs_f64(self.drain_secs),
            rate_per_s: self.rate,
            threads: self.threads as usize,
            cpus: self.cpus.clone().map(|c| c.0).unwrap_or_default(),
            connect_timeout: self.connect_timeout_secs.map_or_else(
                || crate::client::default_connect_timeout(connections),
                Duration::from_secs_f64,
            ),
        }
    }

    /// The command line (after `loadgen echo`) that describes `spec`.
    pub fn argv(spec: &LoadSpec) -> Vec<String> {
        let mut v = vec![
            "--addr".to_string(),
            spec.addr.to_string(),
            "--connections".into(),
            spec.connections.to_string(),
            "--message-bytes".into(),
            spec.message_bytes.to_string(),
            "--warmup-secs".into(),
            spec.warmup.as_secs_f64().to_string(),
            "--duration-secs".into(),
            spec.duration.as_secs_f64().to_string(),
            "--drain-secs".into(),
            spec.drain.as_secs_f64().to_string(),
            "--threads".into(),
            spec.threads.to_string(),
            "--connect-timeout-secs".into(),
            spec.connect_timeout.as_secs_f64().to_string(),
        ];
        if let Some(r) = spec.rate_per_s {
            v.extend(["--rate".into(), r.to_string()]);
        }
        if !spec.cpus.is_empty() {
            v.extend(["--cpus".into(), format_cpu_list(&spec.cpus)]);
        }
        v
    }
}

/// The `loadgen` binary next to the running one, or a usage error saying how
/// to build it.
pub fn loadgen_path() -> Result<PathBuf, UsageError> {
    let exe = std::env::current_exe()
        .map_err(|e| UsageError(format!("cannot find the running binary's path: {e}")))?;
    loadgen_next_to(&exe)
}

/// The `loadgen` binary in the directory of `exe`.
pub fn loadgen_next_to(exe: &Path) -> Result<PathBuf, UsageError> {
    let dir = exe.parent().unwrap_or(Path::new("."));
    let path = dir.join(BINARY);
    if path.is_file() {
        return Ok(path);
    }
    let release = if dir.file_name().is_some_and(|n| n == "release") {
        " --release"
    } else {
        ""
    };
    Err(UsageError(format!(
        "the load generator is missing: {} does not exist; build it with \
         `cargo build{release} -p conpar-loadgen` (or build the whole workspace), \
         or run the client in this process with --loadgen in-process",
        path.display()
    )))
}

/// A finished `loadgen` child not yet reaped: reaping adds its CPU time and
/// memory to this process's `RUSAGE_CHILDREN`, so the caller reaps it after
/// its case is recorded, keeping the server's figures its own. Dropping it
/// kills and reaps the child.
pub struct Reaper {
    child: Option<Child>,
}

impl Reaper {
    /// Waits for the child and forgets it in the guard.
    pub fn reap(mut self) -> anyhow::Result<()> {
        self.finish(false)
    }

    fn finish(&mut self, kill: bool) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if kill {
            let _ = child.kill();
        }
        let status = child.wait();
        guard::unregister_child(child.id() as i32);
        let status = status.context("cannot reap the load generator")?;
        anyhow::ensure!(
            kill || status.success(),
            "the load generator exited with {status}"
        );
        Ok(())
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.finish(true);
    }
}

/// Runs `spec` in a `loadgen` child (the binary at `path`), calling
/// `on_event` as milestones arrive. Kills the child if it does not finish
/// within its schedule, the longest drain and 30 s more.
pub fn run(
    path: &Path,
    spec: &LoadSpec,
    on_event: &mut dyn FnMut(Event),
) -> anyhow::Result<(LoadResult, Reaper)> {
    spec.validate()?;
    let mut cmd = Command::new(path);
    cmd.arg("echo")
        .args(ClientArgs::argv(spec))
        .arg("--ack")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    guard::setup_on_spawn(&mut cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", path.display()))?;
    guard::register_child(child.id() as i32)?;
    let mut acks = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let pid = child.id() as i32;
    let mut reaper = Reaper { child: Some(child) };
    let limit =
        spec.connect_timeout + spec.warmup + spec.duration + DRAIN_CAP + Duration::from_secs(30);
    let deadline = Instant::now() + limit;
    let mut lines = BufReader::new(stdout);
    let mut result = None;
    let mut line = String::new();
    let mut stopped_since: Option<Instant> = None;
    loop {
        if lines.buffer().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                reaper.finish(true)?;
                anyhow::bail!(
                    "the load generator did not finish within {:.0} s; killed it",
                    limit.as_secs_f64()
                );
            }
            let ms = left.min(WATCH_EVERY).as_millis() as i32;
            let mut fds = [PollFd::new(lines.get_ref().as_fd(), PollFlags::POLLIN)];
            let ready = match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("cannot wait for the load generator"),
            };
            if ready == 0 {
                // A stopped child (SIGSTOP, a debugger) would hold the case
                // until the deadline: give it up once it stays stopped.
                if is_stopped(pid) {
                    let since = *stopped_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= STOPPED_LIMIT {
                        reaper.finish(true)?;
                        anyhow::bail!(
                            "the load generator (pid {pid}) was stopped (SIGSTOP or a debugger) for {:.0} s; \
                             killed it",
                            STOPPED_LIMIT.as_secs_f64()
                        );
                    }
                } else {
                    stopped_since = None;
                }
                continue;
            }
        }
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            break;
        }
        let v: Value = serde_json::from_str(line.trim()).with_context(|| {
            format!("the load generator printed a line that is not JSON: {line}")
        })?;
        if let Some(r) = v.get("result") {
            result = Some(LoadResult::from_json(r.clone())?);
        } else if let Some(e) = v.get("event") {
            on_event(serde_json::from_value(e.clone()).context("unknown load generator event")?);
            // A child that died is found at the next read.
            let _ = acks.write_all(b"\n").and_then(|()| acks.flush());
        }
    }
    // Its errors are read after its stdout closed (it writes a line or two
    // before exiting), so no thread of this process is spent on them.
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    match result {
        Some(r) => Ok((r, reaper)),
        None => {
            let status = reaper.child.take().map(|mut c| {
                let st = c.wait();
                guard::unregister_child(c.id() as i32);
                st
            });
            let why = errors.trim().trim_start_matches("error: ");
            let how = match status {
                Some(Ok(st)) => guard::describe_exit(st),
                Some(Err(e)) => format!("could not be reaped ({e})"),
                None => "is gone".to_string(),
            };
            if why.is_empty() {
                anyhow::bail!("the load generator {how} before its result, saying nothing")
            }
            anyhow::bail!("the load generator {how}: {why}")
        }
    }
}

/// How often a wait for the load generator checks that it is not stopped.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// How long the load generator may stay stopped before the case gives it up.
const STOPPED_LIMIT: Duration = Duration::from_secs(2);

/// Whether process `pid` is stopped (state `T` or `t` in `/proc/<pid>/stat`).
fn is_stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The state follows the command name, which is in parentheses.
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace()
                .next()
                .map(|st| st == "T" || st == "t")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ClientArgs,
    }

    #[test]
    fn a_spec_survives_the_command_line() {
        let mut spec = LoadSpec::closed("127.0.0.1:4000".parse().unwrap(), 100);
        spec.rate_per_s = Some(2500.0);
        spec.cpus = vec![2, 3, 5];
        spec.threads = 3;
        spec.message_bytes = 4096;
        spec.warmup = Duration::from_millis(50);
        let mut argv = vec!["loadgen".to_string()];
        argv.extend(ClientArgs::argv(&spec));
        let back = Cli::try_parse_from(argv).unwrap().args.spec();
        assert_eq!(back, spec);
    }

    #[test]
    fn exits_are_described() {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(
            guard::describe_exit(std::process::ExitStatus::from_raw(9)),
            "was killed by SIGKILL"
        );
        assert_eq!(
            guard::describe_exit(std::process::ExitStatus::from_raw(3 << 8)),
            "exited with code 3"
        );
        assert!(!is_stopped(std::process::id() as i32));
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("release");
        std::fs::create_dir(&release).unwrap();
        let e = loadgen_next_to(&release.join("blocking-io"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cargo build --release -p conpar-loadgen"), "{e}");
        assert!(e.contains("--loadgen in-process"), "{e}");
        std::fs::write(release.join(BINARY), b"").unwrap();
        assert_eq!(
            loadgen_next_to(&release.join("x")).unwrap(),
            release.join(BINARY)
        );
    }
}

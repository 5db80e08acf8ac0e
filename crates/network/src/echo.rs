//! The `echo` experiment, the same in every binary that has server models
//! (`blocking-io`, `nonblocking-socket`, `coroutine`): for each connection
//! count and model, start the server on a free port, run the load generator
//! against it, stop the server, and write one record (claim C12).
//!
//! One sample is one request/response over loopback TCP, its latency
//! measured by the client (see [`crate::client`]). The record carries, beside
//! throughput and the latency histogram, what the two sides cost over the
//! window: the server's CPU time, resident memory and threads, read in the
//! server's process at the client's milestones, and the client's own CPU
//! time, so a saturated client is visible. By default the client is a
//! `loadgen` child process on the CPUs the server does not use (where the
//! machine has any); the record says where it ran.

use std::net::SocketAddr;
use std::time::Duration;

use harness::claims::c12::{self, Row};
use harness::cli::{EchoArgs, LoadgenChoice};
use harness::cores::{CoreSet, format_cpu_list, set_affinity};
use harness::rusage::{self, Usage};
use harness::{Common, Outcome, Session, UsageError, limits};
use loadgen::child;
use loadgen::client::{self, Event, LoadResult, LoadSpec};
use loadgen::net;
use nix::unistd::Pid;

use crate::server::{LoopStats, ServerCtx, ServerModel};

/// Above this client busy fraction a case gets a note: the client may have
/// been the limit.
pub const CLIENT_BUSY_WARNING: f64 = 0.9;

/// A binary's server models, as the `echo` experiment needs them.
#[derive(Debug, Clone, Copy)]
pub struct EchoServers {
    /// The binary's name.
    pub binary: &'static str,
    /// Its server models, in the order they run.
    pub models: &'static [ServerModel],
    /// The model whose numbers decide C12 for this binary, and what it shows.
    pub decider: (&'static str, &'static str),
}

/// Threads of this process whose name starts with one of `prefixes`.
pub fn threads_named(prefixes: &[&str]) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|name| {
            prefixes
                .iter()
                .any(|p| name.starts_with(&p[..p.len().min(15)]))
        })
        .count()
}

/// Where the load generator runs, relative to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPlacement {
    /// CPUs of the client threads.
    pub cpus: Vec<usize>,
    /// True when none of them is the server's.
    pub apart: bool,
    /// Client threads.
    pub threads: usize,
}

impl ClientPlacement {
    /// The allowed CPUs the server was not pinned to, if any; else the
    /// server's own (shared). One client thread per CPU unless `threads` says.
    pub fn choose(cores: &CoreSet, threads: Option<u32>) -> ClientPlacement {
        let rest: Vec<usize> = cores
            .allowed
            .iter()
            .copied()
            .filter(|c| !cores.cpus.contains(c))
            .collect();
        let (cpus, apart) = if rest.is_empty() {
            (cores.cpus.clone(), false)
        } else {
            (rest, true)
        };
        let default = if apart {
            cpus.len()
        } else {
            cpus.len().div_ceil(2)
        };
        ClientPlacement {
            threads: threads.map_or(default, |t| t as usize).max(1),
            cpus,
            apart,
        }
    }

    /// `apart` or `shared`, for records.
    pub fn name(&self) -> &'static str {
        if self.apart { "apart" } else { "shared" }
    }
}

/// Checks `--message-bytes` and `--connections`, and raises the open-files
/// limit for the largest count, before anything starts.
pub fn preflight(args: &EchoArgs) -> Result<(), UsageError> {
    client::check_message_bytes(args.message_bytes)?;
    let max_c = args.connections.iter().copied().max().unwrap_or(1);
    let per_connection = match args.loadgen {
        LoadgenChoice::Process => 1,
        LoadgenChoice::InProcess => 2,
    };
    limits::ensure_open_files(max_c * per_connection + 64).map_err(|e| {
        if args.loadgen == LoadgenChoice::InProcess {
            UsageError(format!(
                "--connections {max_c} with --loadgen in-process needs two descriptors per connection in one process: {}; \
                 use --loadgen process (the default)",
                e.0
            ))
        } else {
            UsageError(format!("--connections {max_c}: {}", e.0))
        }
    })?;
    limits::check_memory(
        max_c * args.message_bytes * 4,
        &format!(
            "--connections {max_c} of --message-bytes {}",
            args.message_bytes
        ),
    )
}

/// Server-side readings at the client's milestones.
#[derive(Debug)]
struct Readings {
    thread_prefixes: &'static [&'static str],
    start: Option<Usage>,
    end: Option<Usage>,
    rss_end: Option<u64>,
    threads_end: Option<usize>,
}

impl Readings {
    fn new(thread_prefixes: &'static [&'static str]) -> Readings {
        Readings {
            thread_prefixes,
            start: None,
            end: None,
            rss_end: None,
            threads_end: None,
        }
    }

    fn take(&mut self, e: Event) {
        match e {
            Event::Connected => {}
            Event::Measuring => self.start = Some(Usage::this_process()),
            Event::WindowEnd => {
                self.end = Some(Usage::this_process());
                self.rss_end = rusage::current_rss_bytes();
                self.threads_end = Some(threads_named(self.thread_prefixes));
            }
        }
    }

    /// CPU time of this process over the window.
    fn cpu_ns(&self) -> u64 {
        match (self.start, self.end) {
            (Some(a), Some(b)) => {
                let d = b.since(&a);
                d.user_ns + d.sys_ns
            }
            _ => 0,
        }
    }
}

/// `<binary> echo`.
pub fn run(servers: &EchoServers, common: &Common, args: &EchoArgs) -> anyhow::Result<()> {
    preflight(args)?;
    let loadgen = match args.loadgen {
        LoadgenChoice::Process => Some(child::loadgen_path()?),
        LoadgenChoice::InProcess => None,
    };
    let mut s = Session::start(servers.binary, "echo", common)?;
    let all: Vec<&'static ServerModel> = servers.models.iter().collect();
    let models = available(&s, s.select_models(&all)?);
    let workers = s.workers();
    let max_c = args.connections.iter().copied().max().unwrap_or(1) as usize;
    for m in &models {
        let threads = m.threads_for(max_c, workers);
        if threads > 256 {
            limits::check_threads(threads as u64, 2 << 20)?;
        }
        if let Some(st) = m.status {
            s.note(&format!("{}: {}", m.name, st.note));
        }
    }
    let place = ClientPlacement::choose(&s.cores, args.client_threads);
    if !place.apart {
        s.note(&format!(
            "the load generator shares the server's CPU(s) {}: pass --cores below {} so that it gets CPUs of its own",
            s.cores.cpu_list(),
            s.cores.allowed.len()
        ));
    }
    let backlog = net::listen_backlog();
    for rep in 0..common.reps {
        for &connections in &args.connections {
            let c = connections as usize;
            let mut rows: Vec<Row> = Vec::new();
            let runnable: Vec<&ServerModel> = models
                .iter()
                .copied()
                .filter(|m| match m.serves_at_once(workers) {
                    Some(k) if c > k && (c - k) as u64 > backlog => {
                        s.note(&format!(
                            "{} at {c} connections skipped: it serves {k} at a time, and the other {} would not fit \
                             the listen backlog (net.core.somaxconn = {backlog})",
                            m.name,
                            c - k
                        ));
                        false
                    }
                    _ => true,
                })
                .collect();
            for (i, &row) in runnable.iter().enumerate() {
                let model = row.name;
                let ctx = ServerCtx {
                    port: 0,
                    workers,
                    cpus: s.cores.cpus.clone(),
                };
                // What earlier cases freed must not count as this server's.
                rusage::trim_heap();
                let server = (row.start)(&ctx)?;
                let spec = spec_for(server.addr(), c, args, common, &place);
                let rss_idle = rusage::current_rss_bytes().unwrap_or(0);
                let variant = match args.rate {
                    Some(_) => format!("{c}-conn/open"),
                    None => format!("{c}-conn"),
                };
                let case = s
                    .case(model, &variant, rep)
                    .param("connections", connections)
                    .param("message_bytes", args.message_bytes)
                    .param("load", spec.load_name())
                    .param("loadgen", args.loadgen.name())
                    .param("client_cpus", format_cpu_list(&place.cpus))
                    .param("client_placement", place.name())
                    .param("client_threads", spec.threads.min(c))
                    .param("server_cpus", s.cores.cpu_list())
                    .param("listen_backlog", backlog);
                let case = match args.rate {
                    Some(r) => case.param("rate_per_s", r),
                    None => case,
                };
                let case = match row.status {
                    Some(st) => case.param("status", st.status),
                    None => case,
                };
                let case = server.annotate(case);
                let mut readings = Readings::new(row.thread_prefixes);
                // This thread reads the server's counters at the client's
                // milestones: on the client's CPUs it is not queued behind
                // thousands of busy server threads, so the readings are on time.
                // (The server's threads exist already, or are started by its own.)
                if place.apart {
                    set_affinity(Pid::from_raw(0), &place.cpus)?;
                }
                let ran = match &loadgen {
                    Some(path) => child::run(path, &spec, &mut |e| readings.take(e))
                        .map(|(r, reaper)| (r, Some(reaper))),
                    None => client::run(&spec, &mut |e| readings.take(e)).map(|r| (r, None)),
                };
                set_affinity(Pid::from_raw(0), &s.cores.cpus)?;
                let (result, reaper) = ran?;
                let stats = server.stop()?;
                anyhow::ensure!(
                    stats.bytes_echoed >= result.bytes_verified,
                    "{model} counted {} echoed bytes but the client verified {}",
                    stats.bytes_echoed,
                    result.bytes_verified
                );
                let mut server_cpu_ns = readings.cpu_ns();
                if reaper.is_none() {
                    // In process, the client's threads are part of this process.
                    server_cpu_ns =
                        server_cpu_ns.saturating_sub(result.cpu_user_ns + result.cpu_sys_ns);
                }
                let window_ns = result.window.as_nanos().max(1) as f64;
                let rss_end = readings.rss_end.unwrap_or(rss_idle);
                let row = Row {
                    model: model.to_string(),
                    connections,
                    served: result.connections_served,
                    unanswered: result.unanswered,
                    requests_per_s: result.requests_per_s(),
                    p99_ns: result.histogram.value_at_quantile(0.99),
                    threads: readings.threads_end.unwrap_or(0),
                    rss_per_connection_bytes: rss_end.saturating_sub(rss_idle) as f64 / c as f64,
                };
                if result.connections_served < connections {
                    s.note(&format!(
                        "{model} at {c} connections: {} of them got an answer within the window ({} request(s) \
                         left unanswered); recorded as measured",
                        result.connections_served, result.unanswered
                    ));
                }
                let busy = result.cpu_utilization();
                if busy > CLIENT_BUSY_WARNING {
                    s.note(&format!(
                        "{model} at {c} connections: the load generator was busy {:.0}% of the window and may have \
                         been the limit; give it more CPUs (a smaller --cores) or --client-threads",
                        busy * 100.0
                    ));
                }
                let mut out = outcome(&result, server_cpu_ns, window_ns, busy)
                    .figure("server_rss_bytes", rss_end as f64)
                    .figure("rss_per_connection_bytes", row.rss_per_connection_bytes)
                    .figure("server_threads", row.threads as f64)
                    .figure("server_bytes_echoed", stats.bytes_echoed as f64)
                    .figure("server_connections", stats.connections as f64);
                let mut case = case;
                if let Some(l) = stats.loops {
                    case.set_param("server_wait_call", l.wait_call);
                    out = batching(out, &l, stats.bytes_echoed, args.message_bytes);
                }
                rows.push(row);
                if i + 1 == runnable.len()
                    && let Some(v) = c12::verdict(&rows, servers.decider)
                {
                    out = out.verdict(v);
                }
                let record = case.finish(&s, out)?;
                s.emit(record)?;
                if let Some(r) = reaper {
                    r.reap()?;
                }
            }
        }
    }
    s.finish()
}

/// The selected models that can run on this machine; each that cannot is
/// skipped with a note naming the cause and the fix (it writes no record).
pub fn available(s: &Session, models: Vec<&'static ServerModel>) -> Vec<&'static ServerModel> {
    models
        .into_iter()
        .filter(|m| match m.available() {
            Ok(()) => true,
            Err(u) => {
                s.note(&format!("{} skipped: {u}", m.name));
                false
            }
        })
        .collect()
}

/// The figures of an event loop's batching: waits, events (or completions)
/// per wait, and system calls per request the server echoed (the server's
/// counts cover its whole run, warm-up and drain included, and so does its
/// count of echoed requests).
fn batching(out: Outcome, l: &LoopStats, bytes_echoed: u64, message_bytes: u64) -> Outcome {
    let requests = bytes_echoed as f64 / message_bytes.max(1) as f64;
    out.figure("server_waits", l.waits as f64)
        .figure("server_events_per_wait", l.events_per_wait())
        .figure("server_syscalls", l.syscalls as f64)
        .figure(
            "server_syscalls_per_request",
            l.syscalls as f64 / requests.max(1.0),
        )
}

fn spec_for(
    addr: SocketAddr,
    connections: usize,
    args: &EchoArgs,
    common: &Common,
    place: &ClientPlacement,
) -> LoadSpec {
    LoadSpec {
        addr,
        connections,
        message_bytes: args.message_bytes as usize,
        warmup: Duration::from_secs_f64(common.warmup_secs),
        duration: Duration::from_secs_f64(common.duration_secs),
        drain: client::DEFAULT_DRAIN,
        rate_per_s: args.rate,
        threads: place.threads.min(connections),
        cpus: place.cpus.clone(),
        connect_timeout: client::default_connect_timeout(connections),
    }
}

fn outcome(r: &LoadResult, server_cpu_ns: u64, window_ns: f64, client_busy: f64) -> Outcome {
    let client_cpu_ns = r.cpu_user_ns + r.cpu_sys_ns;
    Outcome::new(r.requests)
        .wall(r.window)
        .histogram(r.histogram.clone())
        .checksum(r.checksum)
        .figure("connections_served", r.connections_served as f64)
        .figure("unanswered_requests", r.unanswered as f64)
        .figure("bytes_verified", r.bytes_verified as f64)
        .figure(
            "echo_bytes_per_s",
            r.requests as f64 * r.message_bytes as f64 / window_ns * 1e9,
        )
        .figure("server_cpu_ns", server_cpu_ns as f64)
        .figure("server_cpus_busy", server_cpu_ns as f64 / window_ns)
        .figure("client_cpu_ns", client_cpu_ns as f64)
        .figure("client_busy_fraction", client_busy)
        .figure("connect_ms", r.connect.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_counted_by_name() {
        let _t = std::thread::Builder::new()
            .name("a-very-long-thread-name".into())
            .spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(threads_named(&["a-very-long-thread-name-indeed"]), 1);
        assert_eq!(threads_named(&["no-such-thread"]), 0);
    }

    #[test]
    fn the_client_goes_apart_where_cpus_are_left() {
        let server = CoreSet::choose(&[0, 1, 2, 3], Some(1), false).unwrap();
        let p = ClientPlacement::choose(&server, None);
        assert_eq!(
            (p.cpus.as_slice(), p.apart, p.threads),
            (&[1, 2, 3][..], true, 3)
        );
        let all = CoreSet::choose(&[0, 1], None, false).unwrap();
        let p = ClientPlacement::choose(&all, Some(4));
        assert_eq!(
            (p.cpus.as_slice(), p.apart, p.threads),
            (&[0, 1][..], false, 4)
        );
        assert_eq!(p.name(), "shared");
    }
}

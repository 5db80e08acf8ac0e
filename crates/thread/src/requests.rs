//! `requests` with OS threads: N requests to the delay server, one thread
//! per request, each blocking on its own connection (C5). The threads wait
//! at the same time, so N requests take about d, not N·d — at the price of a
//! thread per request.
//!
//! Model: `thread-per-request` (each thread counts itself when it starts).

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use harness::Common;
use harness::cli::RequestsArgs;
use loadgen::requests::{Expect, Fetched, RequestModels, Target, fetch_blocking};

/// The models of this experiment.
pub const MODELS: &[(&str, Expect)] = &[("thread-per-request", Expect::Overlaps)];

/// The `requests` experiment's view of these models.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "thread",
    models: MODELS,
    fetch,
    threads_for: |_, requests| requests,
    status: |_| None,
};

/// Every request of `target` on a thread of its own, all joined at the end.
pub fn thread_per_request(target: &Target) -> anyhow::Result<Fetched> {
    let started = AtomicU64::new(0);
    let start = Instant::now();
    let results = thread::scope(|s| {
        let handles: Vec<_> = (0..target.requests)
            .map(|i| {
                let started = &started;
                thread::Builder::new()
                    .spawn_scoped(s, move || {
                        started.fetch_add(1, Ordering::Relaxed);
                        fetch_blocking(target.addr, i as u32, target.message_bytes)
                    })
                    .map_err(|e| anyhow::anyhow!("cannot start the thread of request {i}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a request thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let wall = start.elapsed();
    Ok(Fetched::new(started.load(Ordering::Relaxed), wall, results))
}

fn fetch(model: &str, target: &Target, _workers: usize) -> anyhow::Result<Fetched> {
    match model {
        "thread-per-request" => thread_per_request(target),
        other => anyhow::bail!("unknown requests model {other}"),
    }
}

/// `thread requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    loadgen::requests::run(&REQUESTS, common, args)
}

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
use network::requests::{Expect, Fetched, RequestModel, RequestModels, Target, fetch_blocking};

/// The `requests` experiment's view of this binary's one model.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "thread",
    models: &[RequestModel {
        name: "thread-per-request",
        expect: Expect::Overlaps,
        fetch: |target, _| thread_per_request(target),
        threads_for: |requests| requests,
        status: None,
    }],
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

/// `thread requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    network::requests::run(&REQUESTS, common, args)
}

//! `requests` with blocking sockets: one request after another, each
//! waiting for its answer before the next starts — synchronous, so N
//! requests to a server that answers after d take about N·d (C5).

use std::time::Instant;

use harness::Common;
use harness::cli::RequestsArgs;
use loadgen::requests::{Expect, Fetched, RequestModels, Target, fetch_blocking};

/// The models of this experiment.
pub const MODELS: &[(&str, Expect)] = &[("sequential", Expect::Waits)];

/// The `requests` experiment's view of these models.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "blocking-io",
    models: MODELS,
    fetch,
    threads_for: |_, _| 1,
    status: |_| None,
};

/// Every request of `target`, one after another on this thread.
pub fn sequential(target: &Target) -> anyhow::Result<Fetched> {
    let start = Instant::now();
    let answers = (0..target.requests)
        .map(|i| fetch_blocking(target.addr, i as u32, target.message_bytes))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Fetched::new(1, start.elapsed(), answers))
}

fn fetch(model: &str, target: &Target, _workers: usize) -> anyhow::Result<Fetched> {
    match model {
        "sequential" => sequential(target),
        other => anyhow::bail!("unknown requests model {other}"),
    }
}

/// `blocking-io requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    loadgen::requests::run(&REQUESTS, common, args)
}

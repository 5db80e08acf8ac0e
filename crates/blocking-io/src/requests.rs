//! `requests` with blocking sockets: one request after another, each
//! waiting for its answer before the next starts — synchronous, so N
//! requests to a server that answers after d take about N·d (C5).

use std::time::Instant;

use harness::Common;
use harness::cli::RequestsArgs;
use network::requests::{Expect, Fetched, RequestModel, RequestModels, Target, fetch_blocking};

/// The `requests` experiment's view of this binary's one model.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "blocking-io",
    models: &[RequestModel {
        name: "sequential",
        expect: Expect::Waits,
        fetch: |target, _| sequential(target),
        threads_for: |_| 1,
        status: None,
    }],
};

/// Every request of `target`, one after another on this thread.
pub fn sequential(target: &Target) -> anyhow::Result<Fetched> {
    let start = Instant::now();
    let answers = (0..target.requests)
        .map(|i| fetch_blocking(target.addr, i as u32, target.message_bytes))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Fetched::new(1, start.elapsed(), answers))
}

/// `blocking-io requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    network::requests::run(&REQUESTS, common, args)
}

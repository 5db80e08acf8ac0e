//! `requests` with async tasks: N requests to the delay server, each a task
//! that connects, sends, and awaits its answer (C5). While a task awaits, its
//! thread runs the others, so the waits overlap.
//!
//! Models (each measured from inside a task on its runtime):
//! - `tokio-sequential`: one task awaits the requests one after another —
//!   async, yet synchronous in order, so it takes about N·d like blocking code.
//! - `tokio-concurrent`: a task per request on a tokio multi-thread runtime
//!   of `--cores` workers, all awaited together: about d.
//! - `smol-concurrent`: the same on an `async-executor` run on `--cores` threads.
//! - `async-std-concurrent`: the same on async-std (discontinued; cargo feature `async-std`).
//!
//! Each task counts itself when first polled, proving it ran as a task. The
//! runtimes are built by [`rt::run`], sized to `--cores`, their threads left
//! on all the `--cores` CPUs (waiting is the work here, not computing); the
//! requests are written once, over [`Rt`]'s TCP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use harness::Common;
use harness::Timer;
use harness::cli::RequestsArgs;
use network::requests::{Expect, Fetched, RequestModel, RequestModels, Target};
use workload::Message;

use crate::rt::{self, Job, Kind, Rt, Spec, TcpConn as _};

/// The models of this experiment, with what C5 expects of each.
pub const MODELS: &[RequestModel] = &[
    RequestModel {
        name: "tokio-sequential",
        expect: Expect::Waits,
        fetch: |t, workers| fetch(Kind::TokioCurrentThread, false, t, workers),
        threads_for: |_| 0,
        status: None,
    },
    RequestModel {
        name: "tokio-concurrent",
        expect: Expect::Overlaps,
        fetch: |t, workers| fetch(Kind::TokioMultiThread, true, t, workers),
        threads_for: |_| 0,
        status: None,
    },
    RequestModel {
        name: "smol-concurrent",
        expect: Expect::Overlaps,
        fetch: |t, workers| fetch(Kind::Smol, true, t, workers),
        threads_for: |_| 0,
        status: None,
    },
    #[cfg(feature = "async-std")]
    RequestModel {
        name: "async-std-concurrent",
        expect: Expect::Overlaps,
        fetch: |t, workers| fetch(Kind::AsyncStd, true, t, workers),
        threads_for: |_| 0,
        status: Some(rt::ASYNC_STD_STATUS),
    },
];

/// The `requests` experiment's view of these models.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "coroutine",
    models: MODELS,
};

/// One request on runtime `R`: connect, send request `id`, read and verify
/// the answer. Returns its digest and its latency in nanoseconds.
pub async fn fetch_async<R: Rt>(
    addr: SocketAddr,
    id: u32,
    bytes: usize,
) -> anyhow::Result<(u64, u64)> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let t = Timer::start();
    let msg = Message::new(id, bytes);
    let mut s = R::connect(addr)
        .await
        .with_context(|| format!("request {id}: cannot connect to {addr}"))?;
    s.set_nodelay(true)?;
    s.write_all(msg.bytes()).await?;
    let mut answer = vec![0u8; bytes];
    s.read_exact(&mut answer)
        .await
        .with_context(|| format!("request {id}: no full answer"))?;
    msg.check(0, &answer)?;
    Ok((msg.digest(), t.ns()))
}

/// All requests of a case, run as a task on the runtime by [`rt::run`]:
/// awaited one after another in that task, or a task each, awaited together.
struct Requests {
    target: Target,
    /// A task per request (each counts itself when first polled).
    concurrent: bool,
}

impl Job for Requests {
    type Output = Fetched;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Fetched> {
        let Requests {
            target: t,
            concurrent,
        } = self;
        let start = Timer::start();
        let mut results = Vec::with_capacity(t.requests as usize);
        if !concurrent {
            for i in 0..t.requests {
                results.push(fetch_async::<R>(t.addr, i as u32, t.message_bytes).await);
            }
            return answered(1, start.ns(), results);
        }
        let started = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..t.requests)
            .map(|i| {
                let (started, addr, bytes) = (Arc::clone(&started), t.addr, t.message_bytes);
                rt.spawn(async move {
                    started.fetch_add(1, Ordering::Relaxed);
                    fetch_async::<R>(addr, i as u32, bytes).await
                })
            })
            .collect();
        for task in tasks {
            results.push(task.await.and_then(|r| r));
        }
        answered(started.load(Ordering::Relaxed), start.ns(), results)
    }
}

/// What the requests did, or the first that failed.
fn answered(
    started: u64,
    wall_ns: u64,
    results: Vec<anyhow::Result<(u64, u64)>>,
) -> anyhow::Result<Fetched> {
    let answers = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Fetched::new(
        started,
        Duration::from_nanos(wall_ns),
        answers,
    ))
}

/// Runs every request of `target` on a runtime of `kind` with `workers`
/// executor threads (tokio's current_thread: one, by design), a task per
/// request if `concurrent`.
fn fetch(kind: Kind, concurrent: bool, target: &Target, workers: usize) -> anyhow::Result<Fetched> {
    let job = Requests {
        target: target.clone(),
        concurrent,
    };
    rt::run(&Spec::new(kind, workers), job)
}

/// `coroutine requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    rt::prepare_before_pinning(&common.cpus)?;
    network::requests::run(&REQUESTS, common, args)
}

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
//! Each task counts itself when first polled, proving it ran as a task.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use harness::Common;
use harness::cli::RequestsArgs;
use harness::{Timer, UsageError};
use loadgen::requests::{Expect, Fetched, RequestModels, Target};
use workload::Message;

use crate::echo::{size_async_std, smol_executor, tokio_runtime};

/// The models of this experiment, with what C5 expects of each.
#[cfg(feature = "async-std")]
pub const MODELS: &[(&str, Expect)] = &[
    ("tokio-sequential", Expect::Waits),
    ("tokio-concurrent", Expect::Overlaps),
    ("smol-concurrent", Expect::Overlaps),
    ("async-std-concurrent", Expect::Overlaps),
];
/// The models of this experiment, with what C5 expects of each.
#[cfg(not(feature = "async-std"))]
pub const MODELS: &[(&str, Expect)] = &[
    ("tokio-sequential", Expect::Waits),
    ("tokio-concurrent", Expect::Overlaps),
    ("smol-concurrent", Expect::Overlaps),
];

/// The `requests` experiment's view of these models.
pub const REQUESTS: RequestModels = RequestModels {
    binary: "coroutine",
    models: MODELS,
    fetch,
    threads_for: |_, _| 0,
    status: |m| (m == "async-std-concurrent").then_some(crate::echo::ASYNC_STD_STATUS),
};

/// One request on tokio: returns its digest and latency.
pub async fn fetch_tokio(addr: SocketAddr, id: u32, bytes: usize) -> anyhow::Result<(u64, u64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = Timer::start();
    let msg = Message::new(id, bytes);
    let mut s = tokio::net::TcpStream::connect(addr)
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

/// One request on a `futures-io` stream that `connect` opens (smol, async-std).
pub async fn fetch_futures<S>(
    connect: impl Future<Output = std::io::Result<S>>,
    nodelay: impl FnOnce(&S) -> std::io::Result<()>,
    addr: SocketAddr,
    id: u32,
    bytes: usize,
) -> anyhow::Result<(u64, u64)>
where
    S: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin,
{
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let t = Timer::start();
    let msg = Message::new(id, bytes);
    let mut s = connect
        .await
        .with_context(|| format!("request {id}: cannot connect to {addr}"))?;
    nodelay(&s)?;
    s.write_all(msg.bytes()).await?;
    let mut answer = vec![0u8; bytes];
    s.read_exact(&mut answer)
        .await
        .with_context(|| format!("request {id}: no full answer"))?;
    msg.check(0, &answer)?;
    Ok((msg.digest(), t.ns()))
}

/// Starts a task per request with `spawn` (which counts the task when it is
/// first polled) and awaits them all; runs inside a task of the runtime.
async fn concurrently<H>(
    target: &Target,
    started: &AtomicU64,
    spawn: impl Fn(u32) -> H,
) -> anyhow::Result<Fetched>
where
    H: Future<Output = anyhow::Result<(u64, u64)>>,
{
    let start = Timer::start();
    let tasks: Vec<H> = (0..target.requests).map(|i| spawn(i as u32)).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await);
    }
    collect(results, started.load(Ordering::Relaxed), start.ns())
}

fn collect(
    results: Vec<anyhow::Result<(u64, u64)>>,
    started: u64,
    wall_ns: u64,
) -> anyhow::Result<Fetched> {
    let mut f = Fetched {
        started,
        wall: std::time::Duration::from_nanos(wall_ns),
        ..Fetched::default()
    };
    for r in results {
        let (digest, ns) = r?;
        f.checksum.add(digest);
        f.latencies_ns.push(ns);
    }
    Ok(f)
}

/// All requests awaited one after another in one task (current-thread tokio).
pub fn tokio_sequential(target: &Target) -> anyhow::Result<Fetched> {
    let rt = tokio_runtime(0)?;
    let t = target.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Timer::start();
            let mut results = Vec::with_capacity(t.requests as usize);
            for i in 0..t.requests {
                results.push(fetch_tokio(t.addr, i as u32, t.message_bytes).await);
            }
            collect(results, 1, start.ns())
        })
        .await?
    })
}

/// A task per request on tokio with `workers` workers, awaited together.
pub fn tokio_concurrent(target: &Target, workers: usize) -> anyhow::Result<Fetched> {
    let rt = tokio_runtime(workers.max(1))?;
    let t = target.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let started = Arc::new(AtomicU64::new(0));
            concurrently(&t, &started, |i| {
                let (started, t) = (Arc::clone(&started), t.clone());
                let task = tokio::spawn(async move {
                    started.fetch_add(1, Ordering::Relaxed);
                    fetch_tokio(t.addr, i, t.message_bytes).await
                });
                async move { task.await? }
            })
            .await
        })
        .await?
    })
}

/// A task per request on an `async-executor` run on `workers` threads.
pub fn smol_concurrent(target: &Target, workers: usize) -> anyhow::Result<Fetched> {
    let (stop_tx, stop) = smol::channel::bounded::<()>(1);
    let (ex, threads) = smol_executor(workers, &stop)?;
    let t = target.clone();
    let inner = Arc::clone(&ex);
    let main = ex.spawn(async move {
        let started = Arc::new(AtomicU64::new(0));
        concurrently(&t, &started, |i| {
            let (started, addr, bytes) = (Arc::clone(&started), t.addr, t.message_bytes);
            inner.spawn(async move {
                started.fetch_add(1, Ordering::Relaxed);
                let connect = smol::net::TcpStream::connect(addr);
                fetch_futures(connect, |s| s.set_nodelay(true), addr, i, bytes).await
            })
        })
        .await
    });
    let r = smol::block_on(main);
    drop(stop_tx);
    for th in threads {
        th.join()
            .map_err(|_| anyhow::anyhow!("a smol executor thread panicked"))?;
    }
    r
}

/// A task per request on async-std's global executor.
#[cfg(feature = "async-std")]
pub fn async_std_concurrent(target: &Target) -> anyhow::Result<Fetched> {
    let t = target.clone();
    async_std::task::block_on(async_std::task::spawn(async move {
        let started = Arc::new(AtomicU64::new(0));
        concurrently(&t, &started, |i| {
            let (started, addr, bytes) = (Arc::clone(&started), t.addr, t.message_bytes);
            async_std::task::spawn(async move {
                started.fetch_add(1, Ordering::Relaxed);
                let connect = async_std::net::TcpStream::connect(addr);
                fetch_futures(connect, |s| s.set_nodelay(true), addr, i, bytes).await
            })
        })
        .await
    }))
}

fn fetch(model: &str, target: &Target, workers: usize) -> anyhow::Result<Fetched> {
    match model {
        "tokio-sequential" => tokio_sequential(target),
        "tokio-concurrent" => tokio_concurrent(target, workers),
        "smol-concurrent" => smol_concurrent(target, workers),
        #[cfg(feature = "async-std")]
        "async-std-concurrent" => async_std_concurrent(target),
        other => Err(UsageError(format!("unknown requests model {other}")).into()),
    }
}

/// `coroutine requests`.
pub fn run(common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    size_async_std(common.cores)?;
    loadgen::requests::run(&REQUESTS, common, args)
}

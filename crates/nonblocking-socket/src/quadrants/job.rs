//! The job of `quadrants`, done four ways: N requests to the delay server,
//! each on its own connection and answered d after it arrives, every byte of
//! every answer checked, while the caller is offered CPU work ([`Work`]) to
//! do whenever it is free.
//!
//! Connecting and sending are the same in all four (a loopback `connect` and
//! a small `write` return at once); what differs is how the caller waits for
//! the answers:
//!
//! | | blocking call | non-blocking call |
//! | --- | --- | --- |
//! | **sync** (one request at a time) | [`sync_blocking`]: `read` sleeps until the answer | [`sync_nonblocking`]: `read` returns `EWOULDBLOCK`; the caller computes a chunk, then tries again |
//! | **async** (all in flight) | [`async_blocking`]: `epoll_wait` sleeps until some socket is ready | [`async_nonblocking`]: every read submitted to io_uring at once; the caller computes and reaps completions as they come |
//!
//! Each way counts its own system calls (one per call it makes; a ring's
//! setup and teardown as [`RING_SYSCALLS`], an epoll instance's as two).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use anyhow::Context as _;
use harness::Timer;
use harness::rusage::{self, Usage};
use io_uring::{IoUring, opcode, types::Fd};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use workload::{Checksum, Message};

use crate::uring;

/// System calls of an io_uring's life, counted once per job:
/// `io_uring_setup` and two `mmap`s, then two `munmap`s and a `close`.
pub const RING_SYSCALLS: u64 = 6;

/// CPU work offered to the caller: chunks of kernel units, each small enough
/// (see `CHUNK_MS` in the experiment) that an answer waits at most one chunk.
#[derive(Debug)]
pub struct Work {
    chunk_units: u64,
    seed: u64,
    /// Units completed.
    pub units: u64,
    acc: u64,
}

impl Work {
    /// Work in chunks of `chunk_units` units.
    pub fn new(chunk_units: u64, seed: u64) -> Work {
        Work {
            chunk_units: chunk_units.max(1),
            seed,
            units: 0,
            acc: 0,
        }
    }

    /// Does one chunk.
    pub fn chunk(&mut self) {
        self.acc ^= workload::work(self.seed ^ self.units, self.chunk_units);
        self.units += self.chunk_units;
        std::hint::black_box(self.acc);
    }
}

/// What to request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The delay server.
    pub addr: SocketAddr,
    /// N.
    pub requests: u64,
    /// Bytes of each request and answer.
    pub message_bytes: usize,
}

/// What one way did.
#[derive(Debug, Clone, Default)]
pub struct Done {
    /// From the first connect to the last answer.
    pub wall: Duration,
    /// Each request's latency, connect to answer, nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Digests of the verified answers.
    pub checksum: Checksum,
    /// Units of CPU work done during the job.
    pub units: u64,
    /// System calls the caller made (counted by the way itself).
    pub syscalls: u64,
    /// Times the caller found nothing to reap and went on working
    /// (`EWOULDBLOCK`, or an empty completion queue).
    pub empty_checks: u64,
    /// The caller thread's CPU time over the job, nanoseconds.
    pub cpu_ns: u64,
    /// Times the caller thread went to sleep (its voluntary context switches).
    pub wakeups: u64,
}

/// One request: its connection, its message and how much of the answer came.
struct Req {
    msg: Message,
    stream: TcpStream,
    got: usize,
    t: Timer,
}

impl Req {
    /// Connects and sends request `id`: `socket`, `connect`,
    /// `setsockopt(TCP_NODELAY)` and the `write`s, counted in `calls`.
    fn open(to: &Target, id: u32, calls: &mut u64) -> anyhow::Result<Req> {
        let t = Timer::start();
        let msg = Message::new(id, to.message_bytes);
        let stream = TcpStream::connect(to.addr)
            .with_context(|| format!("request {id}: cannot connect to {}", to.addr))?;
        stream.set_nodelay(true)?;
        *calls += 3;
        let mut off = 0;
        while off < msg.len() {
            *calls += 1;
            off += (&stream)
                .write(&msg.bytes()[off..])
                .with_context(|| format!("request {id}: cannot send"))?;
        }
        Ok(Req {
            msg,
            stream,
            got: 0,
            t,
        })
    }

    /// Checks `data` as the next bytes of the answer; true when it is whole.
    fn absorb(&mut self, data: &[u8]) -> anyhow::Result<bool> {
        anyhow::ensure!(
            !data.is_empty(),
            "request {}: the server closed the connection after {} of {} bytes",
            self.msg.conn(),
            self.got,
            self.msg.len()
        );
        self.msg.check(self.got, data)?;
        self.got += data.len();
        Ok(self.got == self.msg.len())
    }

    /// The answer is whole: its digest and latency go into `done`, and the
    /// connection is closed (one `close`).
    fn finish(self, done: &mut Done) {
        done.checksum.add(self.msg.digest());
        done.latencies_ns.push(self.t.ns());
        done.syscalls += 1;
    }
}

/// Runs a way, timing it and reading the caller thread's CPU time and sleeps.
fn timed(way: impl FnOnce(&mut Done) -> anyhow::Result<()>) -> anyhow::Result<Done> {
    let mut done = Done::default();
    let u0 = Usage::this_thread();
    let cpu0 = rusage::thread_cpu_ns();
    let t = Timer::start();
    way(&mut done)?;
    done.wall = Duration::from_nanos(t.ns());
    done.cpu_ns = rusage::thread_cpu_ns().saturating_sub(cpu0);
    done.wakeups = Usage::this_thread().since(&u0).voluntary;
    Ok(done)
}

/// Sync + blocking: one request at a time, `read` sleeps until the answer.
/// The work offered is never taken: the caller is never free.
pub fn sync_blocking(to: &Target, _work: &mut Work) -> anyhow::Result<Done> {
    let mut buf = vec![0u8; to.message_bytes.min(64 << 10)];
    timed(|done| {
        for id in 0..to.requests as u32 {
            let mut r = Req::open(to, id, &mut done.syscalls)?;
            loop {
                done.syscalls += 1;
                let n = (&r.stream).read(&mut buf).context("read failed")?;
                if r.absorb(&buf[..n])? {
                    break;
                }
            }
            r.finish(done);
        }
        Ok(())
    })
}

/// Sync + non-blocking: one request at a time; `read` returns `EWOULDBLOCK`
/// until the answer is there, and between tries the caller computes a chunk.
pub fn sync_nonblocking(to: &Target, work: &mut Work) -> anyhow::Result<Done> {
    let mut buf = vec![0u8; to.message_bytes.min(64 << 10)];
    let units0 = work.units;
    let mut d = timed(|done| {
        for id in 0..to.requests as u32 {
            let mut r = Req::open(to, id, &mut done.syscalls)?;
            r.stream.set_nonblocking(true)?;
            done.syscalls += 1;
            loop {
                done.syscalls += 1;
                match (&r.stream).read(&mut buf) {
                    Ok(n) => {
                        if r.absorb(&buf[..n])? {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        done.empty_checks += 1;
                        work.chunk();
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e).context("read failed"),
                }
            }
            r.finish(done);
        }
        Ok(())
    })?;
    d.units = work.units - units0;
    Ok(d)
}

/// Async + blocking notification: every request in flight, then
/// `epoll_wait` sleeps until some socket is ready; each ready one is read
/// until `EWOULDBLOCK`. The caller is free only while it has answers to
/// read, so the work offered is never taken.
pub fn async_blocking(to: &Target, _work: &mut Work) -> anyhow::Result<Done> {
    let mut buf = vec![0u8; to.message_bytes.min(64 << 10)];
    timed(|done| {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        done.syscalls += 2; // epoll_create1 now, its close at the end
        let mut reqs: Vec<Option<Req>> = Vec::new();
        for id in 0..to.requests as u32 {
            let r = Req::open(to, id, &mut done.syscalls)?;
            r.stream.set_nonblocking(true)?;
            epoll.add(
                r.stream.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, u64::from(id)),
            )?;
            done.syscalls += 2;
            reqs.push(Some(r));
        }
        let mut left = reqs.len();
        let mut events = vec![EpollEvent::empty(); 64];
        while left > 0 {
            done.syscalls += 1;
            let n = match epoll.wait(&mut events, EpollTimeout::NONE) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).context("epoll_wait failed"),
            };
            for ev in &events[..n] {
                let slot = &mut reqs[ev.data() as usize];
                let Some(r) = slot.as_mut() else { continue };
                let whole = loop {
                    done.syscalls += 1;
                    match (&r.stream).read(&mut buf) {
                        Ok(n) => {
                            if r.absorb(&buf[..n])? {
                                break true;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e).context("read failed"),
                    }
                };
                if whole {
                    // Closing the socket also takes it out of the epoll set.
                    slot.take().expect("just read").finish(done);
                    left -= 1;
                }
            }
        }
        Ok(())
    })
}

/// The io_uring side of [`async_nonblocking`]: the ring and the buffers its
/// reads write into, which must outlive every read in flight.
struct Reads {
    ring: IoUring,
    bufs: Vec<Box<[u8]>>,
    in_flight: usize,
}

impl Reads {
    /// Queues a read of request `id`'s answer into its buffer, from `offset`.
    fn queue(&mut self, r: &Req, id: usize, calls: &mut u64) -> anyhow::Result<()> {
        let buf = &mut self.bufs[id];
        let want = (r.msg.len() - r.got).min(buf.len());
        let e = opcode::Recv::new(Fd(r.stream.as_raw_fd()), buf.as_mut_ptr(), want as u32)
            .build()
            .user_data(id as u64);
        loop {
            // SAFETY: the read writes into `bufs[id]`, boxed (it does not
            // move) and kept until the read completes: `Reads` is dropped
            // only after `in_flight` reads have completed, and if it is
            // dropped earlier (an error), `Drop` leaks the buffers. The
            // socket is closed only after its last read completed.
            if unsafe { self.ring.submission().push(&e) }.is_ok() {
                self.in_flight += 1;
                return Ok(());
            }
            *calls += 1;
            self.ring.submit().context("io_uring_enter failed")?;
        }
    }
}

impl Drop for Reads {
    fn drop(&mut self) {
        if self.in_flight > 0 {
            // Reads the kernel may still complete: never free their buffers.
            std::mem::forget(std::mem::take(&mut self.bufs));
        }
    }
}

/// Async + non-blocking completion: every request in flight and every read
/// submitted to io_uring in one `io_uring_enter`; then the caller computes
/// chunks of work and, between them, reaps completions from the shared
/// completion queue without a system call. The ring is a plain one (no
/// `DEFER_TASKRUN`), so the kernel completes reads while the caller computes.
pub fn async_nonblocking(to: &Target, work: &mut Work) -> anyhow::Result<Done> {
    let n = to.requests as usize;
    let sq = (n as u32).next_power_of_two().clamp(8, 4096);
    let cq = (n as u32).next_power_of_two().max(2 * sq);
    let units0 = work.units;
    let mut d = timed(|done| {
        let ring = uring::new_ring(|| IoUring::builder().setup_cqsize(cq).build(sq))?;
        done.syscalls += RING_SYSCALLS;
        let bufs = (0..n)
            .map(|_| vec![0u8; to.message_bytes.min(64 << 10)].into_boxed_slice())
            .collect();
        let mut reads = Reads {
            ring,
            bufs,
            in_flight: 0,
        };
        let mut reqs: Vec<Option<Req>> = Vec::with_capacity(n);
        for id in 0..n {
            let r = Req::open(to, id as u32, &mut done.syscalls)?;
            reads.queue(&r, id, &mut done.syscalls)?;
            reqs.push(Some(r));
        }
        done.syscalls += 1;
        reads.ring.submit().context("io_uring_enter failed")?;
        let mut left = n;
        let mut reaped = Vec::new();
        while left > 0 {
            reaped.extend(reads.ring.completion().map(|c| (c.user_data(), c.result())));
            if reaped.is_empty() {
                done.empty_checks += 1;
                work.chunk();
                continue;
            }
            let mut resubmit = false;
            for (id, res) in reaped.drain(..) {
                reads.in_flight -= 1;
                let id = id as usize;
                anyhow::ensure!(
                    res >= 0,
                    "request {id}: the read failed: {}",
                    io::Error::from_raw_os_error(-res)
                );
                let r = reqs[id].as_mut().expect("a read completes once");
                if r.absorb(&reads.bufs[id][..res as usize])? {
                    reqs[id].take().expect("checked").finish(done);
                    left -= 1;
                } else {
                    reads.queue(r, id, &mut done.syscalls)?;
                    resubmit = true;
                }
            }
            if resubmit {
                done.syscalls += 1;
                reads.ring.submit().context("io_uring_enter failed")?;
            }
        }
        Ok(())
    })?;
    d.units = work.units - units0;
    Ok(d)
}

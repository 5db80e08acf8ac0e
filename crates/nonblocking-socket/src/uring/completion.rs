//! The completion loop of the io_uring echo servers (see [`super::echo`]
//! for what it does and why): one ring, its buffer pool, its listener and
//! its connections, on one thread.
//!
//! Every operation the loop submits is counted in `in_flight` until its
//! last completion (a multishot one's is the completion without `MORE`);
//! a connection is closed only when none of its operations is in flight,
//! and the pool is unmapped only when none at all is: the rules that make
//! the submissions below sound.

use std::collections::VecDeque;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::Arc;

use anyhow::Context as _;
use io_uring::{IoUring, cqueue, opcode, squeue, types::Fd};
use network::server::{Counters, EchoTally, LoopStats};
use nix::libc;
use nix::sys::eventfd::EventFd;

use super::bufring::BufRing;
use super::echo::{BUFFER_BYTES, CQ_ENTRIES, IO_URING_ENTER, POOL_BUFFERS, Path, SQ_ENTRIES};
use super::{Host, has_multishot_receive, new_ring};

/// The buffer group the pool is registered as.
const BGID: u16 = 0;

// What a completion is for: the kind in the top byte of `user_data`, the
// connection's slot below it.
const ACCEPT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
const STOP: u64 = 4;
const CANCEL: u64 = 5;

fn ud(kind: u64, slot: usize) -> u64 {
    (kind << 56) | slot as u64
}

/// Bytes received and not yet echoed.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    /// The pool buffer, or `None` for the connection's own (fallback).
    bid: Option<u16>,
    start: u32,
    end: u32,
}

struct Conn {
    stream: TcpStream,
    /// What waits to be echoed, in order; the front one is being sent.
    queue: VecDeque<Chunk>,
    sending: bool,
    receiving: bool,
    /// The peer is gone: close once nothing is in flight.
    closing: bool,
    cancelled: bool,
    /// The fallback's buffer: boxed, so it stays put while the slab moves.
    own: Option<Box<[u8]>>,
    tally: EchoTally,
}

/// One completion loop on one thread.
pub(super) struct Loop {
    ring: IoUring,
    pool: Option<BufRing>,
    /// Pool buffers the kernel handed out and this side holds.
    lent: usize,
    path: Path,
    listener: TcpListener,
    stop: Arc<EventFd>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Connections whose multishot receive ran out of buffers.
    starved: Vec<usize>,
    /// Operations submitted whose last completion has not come.
    in_flight: usize,
    stopping: bool,
    counters: Arc<Counters>,
    stats: LoopStats,
    cqes: Vec<(u64, i32, u32)>,
}

impl Loop {
    /// Creates the ring (on the thread that will use it: `SINGLE_ISSUER`)
    /// and its buffer pool, taking the fallback where the kernel lacks them.
    pub(super) fn new(
        listener: TcpListener,
        stop: Arc<EventFd>,
        path: Option<Path>,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Loop> {
        let ring = new_ring(|| {
            let build = |defer: bool| {
                let mut b = IoUring::builder();
                b.setup_cqsize(CQ_ENTRIES);
                if defer {
                    b.setup_single_issuer().setup_defer_taskrun();
                }
                b.build(SQ_ENTRIES)
            };
            // DEFER_TASKRUN came with 6.1; older kernels refuse it with EINVAL.
            build(true).or_else(|_| build(false))
        })?;
        let path = path.unwrap_or(if has_multishot_receive(&Host::read()) {
            Path::Multishot
        } else {
            Path::Fallback
        });
        let (pool, path) = match path {
            Path::Fallback => (None, Path::Fallback),
            Path::Multishot => {
                match BufRing::register(&ring.submitter(), BGID, POOL_BUFFERS, BUFFER_BYTES) {
                    Ok(p) => (Some(p), Path::Multishot),
                    // No buffer rings (before 5.19): the fallback.
                    Err(_) => (None, Path::Fallback),
                }
            }
        };
        Ok(Loop {
            ring,
            pool,
            lent: 0,
            path,
            listener,
            stop,
            conns: Vec::new(),
            free: Vec::new(),
            starved: Vec::new(),
            in_flight: 0,
            stopping: false,
            counters,
            stats: LoopStats {
                wait_call: IO_URING_ENTER,
                ..LoopStats::default()
            },
            cqes: Vec::new(),
        })
    }

    /// Queues `e`, submitting first if the queue is full.
    fn push(&mut self, e: squeue::Entry) -> anyhow::Result<()> {
        loop {
            // SAFETY: every entry pushed here reads or writes only memory
            // that outlives its operation: the listener and sockets are
            // closed only after their last completion, a send reads a pool
            // buffer not given back until the send completes (or the
            // connection's own boxed buffer, dropped with the connection
            // after its last completion), and the pool lives until every
            // operation has completed (see `run`).
            if unsafe { self.ring.submission().push(&e) }.is_ok() {
                self.in_flight += 1;
                return Ok(());
            }
            self.stats.syscalls += 1;
            self.ring
                .submit()
                .context("io_uring_enter (submit) failed")?;
        }
    }

    fn arm_accept(&mut self) -> anyhow::Result<()> {
        let fd = Fd(self.listener.as_raw_fd());
        let e = match self.path {
            Path::Multishot => opcode::AcceptMulti::new(fd)
                .flags(libc::SOCK_CLOEXEC)
                .build(),
            Path::Fallback => opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut())
                .flags(libc::SOCK_CLOEXEC)
                .build(),
        };
        self.push(e.user_data(ud(ACCEPT, 0)))
    }

    fn arm_recv(&mut self, slot: usize) -> anyhow::Result<()> {
        let Some(c) = self.conns[slot].as_mut() else {
            return Ok(());
        };
        let fd = Fd(c.stream.as_raw_fd());
        let e = match (&self.pool, &mut c.own) {
            (Some(pool), _) => opcode::RecvMulti::new(fd, pool.bgid()).build(),
            (None, own) => {
                let buf = own.get_or_insert_with(|| vec![0u8; BUFFER_BYTES as usize].into());
                opcode::Recv::new(fd, buf.as_mut_ptr(), buf.len() as u32).build()
            }
        };
        c.receiving = true;
        self.push(e.user_data(ud(RECV, slot)))
    }

    /// Sends the front chunk of `slot`'s queue, if none is in flight.
    fn send_next(&mut self, slot: usize) -> anyhow::Result<()> {
        let Some(c) = self.conns[slot].as_mut() else {
            return Ok(());
        };
        let Some(&ch) = c.queue.front() else {
            return Ok(());
        };
        if c.sending || c.closing {
            return Ok(());
        }
        let ptr = match (ch.bid, &self.pool, &c.own) {
            (Some(bid), Some(pool), _) => pool.ptr(bid, ch.start),
            (None, _, Some(own)) => own[ch.start as usize..].as_ptr(),
            _ => unreachable!("a chunk is in the pool or in the connection's own buffer"),
        };
        let e = opcode::Send::new(Fd(c.stream.as_raw_fd()), ptr, ch.end - ch.start)
            // The kernel retries a short send itself; no SIGPIPE for a gone peer.
            .flags(libc::MSG_WAITALL | libc::MSG_NOSIGNAL)
            .build()
            .user_data(ud(SEND, slot));
        c.sending = true;
        self.push(e)
    }

    /// Serves until stopped; returns once every operation has completed.
    pub(super) fn run(mut self) -> anyhow::Result<()> {
        self.arm_accept()?;
        let stop = opcode::PollAdd::new(Fd(self.stop.as_raw_fd()), libc::POLLIN as u32).build();
        self.push(stop.user_data(ud(STOP, 0)))?;
        let result = self.serve();
        if result.is_err() && !self.stopping {
            // Leave nothing running in the kernel on the way out.
            let _ = self.cancel_all();
            while self.in_flight > 0 && self.enter_and_reap().is_ok() {}
        }
        if self.in_flight > 0 {
            // Only after an error: an operation the kernel may still finish
            // could write into the pool, so the pool is never unmapped.
            std::mem::forget(self.pool.take());
        } else if let Some(pool) = &self.pool {
            let _ = self.ring.submitter().unregister_buf_ring(pool.bgid());
        }
        self.conns.drain(..).flatten().for_each(drop);
        self.counters.loop_ended(self.stats);
        result
    }

    fn serve(&mut self) -> anyhow::Result<()> {
        while !(self.stopping && self.in_flight == 0) {
            self.enter_and_reap()?;
        }
        Ok(())
    }

    /// One `io_uring_enter` (submit what is queued, wait for a completion),
    /// then every completion handled.
    fn enter_and_reap(&mut self) -> anyhow::Result<()> {
        if let Some(p) = self.pool.as_mut() {
            p.publish();
        }
        self.stats.syscalls += 1;
        self.stats.waits += 1;
        match self.ring.submit_and_wait(1) {
            Ok(_) => {}
            // A signal, or completions still to reap before more fit.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e).context("io_uring_enter failed"),
        }
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        self.stats.events += cqes.len() as u64;
        for &(data, res, flags) in &cqes {
            if !cqueue::more(flags) {
                self.in_flight -= 1;
            }
            let slot = (data & 0x00FF_FFFF_FFFF_FFFF) as usize;
            match data >> 56 {
                ACCEPT => self.accepted(res, flags)?,
                RECV => self.received(slot, res, flags)?,
                SEND => self.sent(slot, res)?,
                STOP => self.cancel_all()?,
                _ => {} // CANCEL: found it or it had finished; either way its target reports.
            }
        }
        cqes.clear();
        self.cqes = cqes;
        self.rearm_starved()
    }

    fn accepted(&mut self, res: i32, flags: u32) -> anyhow::Result<()> {
        if res >= 0 {
            // SAFETY: a successful accept completion carries a new
            // descriptor that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(res as RawFd) };
            self.stats.syscalls += 1;
            stream.set_nodelay(true)?;
            let conn = Conn {
                stream,
                queue: VecDeque::new(),
                sending: false,
                receiving: false,
                closing: false,
                cancelled: false,
                own: None,
                tally: EchoTally::new(&self.counters),
            };
            let slot = match self.free.pop() {
                Some(s) => {
                    self.conns[s] = Some(conn);
                    s
                }
                None => {
                    self.conns.push(Some(conn));
                    self.conns.len() - 1
                }
            };
            if self.stopping {
                self.close_if_idle(slot);
            } else {
                self.arm_recv(slot)?;
            }
        } else if matches!(-res, libc::EMFILE | libc::ENFILE) {
            // As the epoll loops do: out of descriptors stops the loop.
            anyhow::bail!("accept failed: {}", std::io::Error::from_raw_os_error(-res));
        }
        if !cqueue::more(flags) && !self.stopping {
            self.arm_accept()?;
        }
        Ok(())
    }

    fn received(&mut self, slot: usize, res: i32, flags: u32) -> anyhow::Result<()> {
        let more = cqueue::more(flags);
        let bid = cqueue::buffer_select(flags);
        let stopping = self.stopping;
        let Some(c) = self.conns[slot].as_mut() else {
            return Ok(());
        };
        c.receiving = more;
        if res > 0 {
            if bid.is_some() {
                self.lent += 1;
            }
            c.queue.push_back(Chunk {
                bid,
                start: 0,
                end: res as u32,
            });
        } else if res == -libc::ENOBUFS && !stopping && !c.closing {
            // The pool ran dry: armed again as buffers come back.
            self.starved.push(slot);
            return Ok(());
        } else {
            // 0: the peer closed; an error: reset, or cancelled on stop.
            c.closing = true;
        }
        if c.closing || stopping {
            c.closing = true;
            self.close_if_idle(slot);
            return Ok(());
        }
        if !more && self.path == Path::Multishot {
            self.arm_recv(slot)?;
        }
        self.send_next(slot)
    }

    fn sent(&mut self, slot: usize, res: i32) -> anyhow::Result<()> {
        let stopping = self.stopping;
        let Some(c) = self.conns[slot].as_mut() else {
            return Ok(());
        };
        c.sending = false;
        if res > 0 {
            c.tally.bytes += res as u64;
            let front = c.queue.front_mut().expect("a send is of the front chunk");
            front.start += res as u32;
            if front.start >= front.end {
                let done = c.queue.pop_front().expect("checked");
                if let (Some(bid), Some(pool)) = (done.bid, self.pool.as_mut()) {
                    pool.give_back(bid);
                    self.lent -= 1;
                }
            }
        } else {
            // Broken pipe, reset, or cancelled: the client is gone.
            c.closing = true;
        }
        if c.closing || stopping {
            c.closing = true;
            self.close_if_idle(slot);
            return Ok(());
        }
        if !c.queue.is_empty() {
            return self.send_next(slot);
        }
        if self.path == Path::Fallback {
            return self.arm_recv(slot);
        }
        Ok(())
    }

    /// Re-arms the receives that ran dry, as many as buffers came back for.
    fn rearm_starved(&mut self) -> anyhow::Result<()> {
        let free = self
            .pool
            .as_ref()
            .map_or(0, |p| usize::from(p.count()) - self.lent);
        let n = free.min(self.starved.len());
        let rearm: Vec<usize> = self.starved.drain(self.starved.len() - n..).collect();
        for slot in rearm {
            let live = self.conns[slot]
                .as_ref()
                .is_some_and(|c| !c.closing && !c.receiving);
            if live {
                self.arm_recv(slot)?;
            }
        }
        Ok(())
    }

    /// Closes a connection once nothing of it is in flight; cancels its
    /// receive first if the connection ends while one is armed.
    fn close_if_idle(&mut self, slot: usize) {
        let Some(c) = self.conns[slot].as_mut() else {
            return;
        };
        if c.receiving || c.sending {
            if !c.cancelled {
                c.cancelled = true;
                let target = if c.receiving { RECV } else { SEND };
                let e = opcode::AsyncCancel::new(ud(target, slot))
                    .build()
                    .user_data(ud(CANCEL, slot));
                // An error here fails the next enter, which reports it.
                let _ = self.push(e);
            }
            return;
        }
        let c = self.conns[slot].take().expect("checked");
        if let Some(pool) = self.pool.as_mut() {
            for bid in c.queue.iter().filter_map(|ch| ch.bid) {
                pool.give_back(bid);
                self.lent -= 1;
            }
        }
        drop(c);
        self.stats.syscalls += 1;
        self.free.push(slot);
    }

    /// Stops: cancels the accept and every connection's operations.
    fn cancel_all(&mut self) -> anyhow::Result<()> {
        let _ = self.stop.read();
        self.stopping = true;
        let cancel = opcode::AsyncCancel::new(ud(ACCEPT, 0))
            .build()
            .user_data(ud(CANCEL, 0));
        self.push(cancel)?;
        for slot in 0..self.conns.len() {
            if let Some(c) = self.conns[slot].as_mut() {
                c.closing = true;
                c.cancelled = false;
                let both = c.receiving && c.sending;
                self.close_if_idle(slot);
                if both {
                    // Its receive was cancelled above; its send too.
                    let e = opcode::AsyncCancel::new(ud(SEND, slot))
                        .build()
                        .user_data(ud(CANCEL, slot));
                    self.push(e)?;
                }
            }
        }
        Ok(())
    }
}

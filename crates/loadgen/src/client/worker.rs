//! One client thread: its share of the connections on an epoll loop of its
//! own, sending on schedule (closed or open loop), checking every echoed
//! byte, and timing every request into its histogram.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use harness::hist;
use harness::rusage::Usage;
use hdrhistogram::Histogram;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use workload::Checksum;
use workload::message::Message;

use crate::net;

use super::{DRAIN_CAP, Part, Plan};

/// The body of one client thread: sets its connections up, waits for the
/// others, runs the window, and holds the connections open until released.
pub(super) fn client_thread(plan: &Plan, share: Vec<(u32, TcpStream)>) -> anyhow::Result<Part> {
    let setup = Worker::new(plan, share);
    plan.ready.wait();
    plan.go.wait();
    let run = setup.and_then(|mut w| {
        w.t_start = plan.t_start.load(Ordering::Acquire);
        w.t_end = plan.t_end.load(Ordering::Acquire);
        w.run()?;
        let part = w.finish();
        Ok((w, part))
    });
    if run.is_err() {
        plan.abort.store(true, Ordering::Release);
    }
    // The connections stay open until the window's end has been reported,
    // so whoever reads the server's figures then sees every connection.
    plan.release.wait();
    run.map(|(w, part)| {
        drop(w);
        part
    })
}

const EPOLL_IN: EpollFlags = EpollFlags::EPOLLIN;
const SCRATCH_BYTES: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    msg: Message,
    /// Bytes of the current request written.
    written: usize,
    /// Bytes of its echo received and verified.
    got: usize,
    in_flight: bool,
    /// When the current request was meant to be sent (the send, in closed loop).
    intended_ns: u64,
    /// Waiting for `EPOLLOUT` to finish writing a message.
    watching_out: bool,
    served: bool,
}

pub(super) struct Worker<'a> {
    plan: &'a Plan<'a>,
    epoll: Epoll,
    conns: Vec<Conn>,
    /// Open loop: time between two requests of one connection.
    interval_ns: Option<u64>,
    /// Open loop: idle connections by the time their next request is due.
    due: BinaryHeap<Reverse<(u64, usize)>>,
    in_flight: usize,
    scratch: Vec<u8>,
    t_start: u64,
    t_end: u64,
    /// When the last answer came.
    last_answer: u64,
    histogram: Histogram<u64>,
    requests: u64,
    unanswered: u64,
    bytes_verified: u64,
    checksum: Checksum,
    usage_start: Option<Usage>,
    usage_end: Option<Usage>,
}

impl<'a> Worker<'a> {
    fn new(plan: &'a Plan<'a>, share: Vec<(u32, TcpStream)>) -> anyhow::Result<Worker<'a>> {
        let spec = plan.spec;
        if !spec.cpus.is_empty() {
            harness::cores::set_affinity(nix::unistd::Pid::from_raw(0), &spec.cpus)?;
        }
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let mut conns = Vec::with_capacity(share.len());
        for (k, (id, stream)) in share.into_iter().enumerate() {
            epoll.add(stream.as_fd(), EpollEvent::new(EPOLL_IN, k as u64))?;
            conns.push(Conn {
                stream,
                msg: Message::new(id, spec.message_bytes),
                written: 0,
                got: 0,
                in_flight: false,
                intended_ns: 0,
                watching_out: false,
                served: false,
            });
        }
        let interval_ns = spec
            .rate_per_s
            .map(|r| ((spec.connections as f64 / r) * 1e9).max(1.0) as u64);
        Ok(Worker {
            plan,
            epoll,
            conns,
            interval_ns,
            due: BinaryHeap::new(),
            in_flight: 0,
            scratch: vec![0u8; SCRATCH_BYTES],
            t_start: 0,
            t_end: 0,
            last_answer: 0,
            histogram: hist::new(),
            requests: 0,
            unanswered: 0,
            bytes_verified: 0,
            checksum: Checksum::default(),
            usage_start: None,
            usage_end: None,
        })
    }

    fn now(&self) -> u64 {
        self.plan.epoch.ns()
    }

    /// The end of the drain: `drain` after the last answer (or the window's
    /// end), and no later than [`DRAIN_CAP`] after the window.
    fn drain_end(&self) -> u64 {
        let quiet = self.t_end.max(self.last_answer) + self.plan.spec.drain.as_nanos() as u64;
        quiet.min(self.t_end + DRAIN_CAP.as_nanos() as u64)
    }

    fn run(&mut self) -> anyhow::Result<()> {
        let go = self.now();
        match self.interval_ns {
            None => {
                for k in 0..self.conns.len() {
                    self.send(k, go)?;
                }
            }
            Some(interval) => {
                // Spread the connections' phases over one interval.
                let c = self.plan.spec.connections as u64;
                for k in 0..self.conns.len() {
                    let id = u64::from(self.conns[k].msg.conn());
                    let first = go + (u128::from(interval) * u128::from(id) / u128::from(c)) as u64;
                    if first < self.t_end {
                        self.due.push(Reverse((first, k)));
                    }
                }
            }
        }
        let mut events = vec![EpollEvent::empty(); 1024];
        loop {
            anyhow::ensure!(
                !self.plan.abort.load(Ordering::Relaxed),
                "stopped: another load generator thread failed"
            );
            let now = self.now();
            if self.usage_start.is_none() && now >= self.t_start {
                self.usage_start = Some(Usage::this_thread());
            }
            if self.usage_end.is_none() && now >= self.t_end {
                self.usage_end = Some(Usage::this_thread());
            }
            while let Some(&Reverse((due, k))) = self.due.peek() {
                if due > now {
                    break;
                }
                self.due.pop();
                self.send(k, due)?;
            }
            if now >= self.t_end && self.in_flight == 0 && self.due.is_empty() {
                return Ok(());
            }
            let drain_end = self.drain_end();
            if now >= drain_end {
                return Ok(());
            }
            let mut deadline = if now < self.t_start {
                self.t_start
            } else if now < self.t_end {
                self.t_end
            } else {
                drain_end
            };
            if let Some(&Reverse((due, _))) = self.due.peek() {
                deadline = deadline.min(due);
            }
            let n = net::wait(
                &self.epoll,
                &mut events,
                Some(Duration::from_nanos(deadline.saturating_sub(now))),
            )?;
            for ev in &events[..n] {
                let k = ev.data() as usize;
                let flags = ev.events();
                if flags.contains(EpollFlags::EPOLLOUT) {
                    self.write_more(k)?;
                }
                if flags.intersects(EPOLL_IN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
                    self.read_ready(k)?;
                }
            }
        }
    }

    /// Starts request `seq + 1` of connection `k`, meant to be sent at `intended_ns`.
    fn send(&mut self, k: usize, intended_ns: u64) -> anyhow::Result<()> {
        let c = &mut self.conns[k];
        debug_assert!(!c.in_flight);
        c.in_flight = true;
        c.intended_ns = intended_ns;
        c.written = 0;
        c.got = 0;
        self.in_flight += 1;
        self.write_more(k)
    }

    fn write_more(&mut self, k: usize) -> anyhow::Result<()> {
        let c = &mut self.conns[k];
        let len = c.msg.len();
        while c.in_flight && c.written < len {
            match c.stream.write(&c.msg.bytes()[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !c.watching_out {
                        let mut ev = EpollEvent::new(EPOLL_IN | EpollFlags::EPOLLOUT, k as u64);
                        self.epoll.modify(c.stream.as_fd(), &mut ev)?;
                        c.watching_out = true;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "connection {}: cannot send request {}",
                            c.msg.conn(),
                            c.msg.seq()
                        )
                    });
                }
            }
        }
        if c.watching_out {
            let mut ev = EpollEvent::new(EPOLL_IN, k as u64);
            self.epoll.modify(c.stream.as_fd(), &mut ev)?;
            c.watching_out = false;
        }
        Ok(())
    }

    /// One read per readiness event: the epoll set is level-triggered, so
    /// what is left is reported again, and a read that would only return
    /// `EWOULDBLOCK` is never made (the client must cost no more system calls
    /// per request than the servers it measures).
    fn read_ready(&mut self, k: usize) -> anyhow::Result<()> {
        loop {
            let c = &mut self.conns[k];
            let want = if c.in_flight { c.msg.len() - c.got } else { 0 };
            // Read at least one byte, so that surplus bytes and a close are seen.
            let cap = want.clamp(1, self.scratch.len());
            match c.stream.read(&mut self.scratch[..cap]) {
                Ok(0) => anyhow::bail!(
                    "connection {}: the server closed it{}",
                    c.msg.conn(),
                    if c.in_flight {
                        format!(
                            " after echoing {} of {} bytes of request {}",
                            c.got,
                            c.msg.len(),
                            c.msg.seq()
                        )
                    } else {
                        String::new()
                    }
                ),
                Ok(n) => {
                    let at = if c.in_flight { c.got } else { c.msg.len() };
                    c.msg.check(at, &self.scratch[..n])?;
                    c.got += n;
                    if c.got == c.msg.len() {
                        self.complete(k)?;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("connection {}: cannot read its echo", c.msg.conn())
                    });
                }
            }
        }
    }

    fn complete(&mut self, k: usize) -> anyhow::Result<()> {
        let now = self.now();
        self.last_answer = now;
        let (t_start, t_end) = (self.t_start, self.t_end);
        let c = &mut self.conns[k];
        let intended = c.intended_ns;
        if (t_start..t_end).contains(&intended) {
            hist::record(&mut self.histogram, now.saturating_sub(intended));
            self.requests += 1;
            self.checksum.add(c.msg.digest());
        }
        self.bytes_verified += c.msg.len() as u64;
        c.served = true;
        c.in_flight = false;
        self.in_flight -= 1;
        let next_seq = c.msg.seq() + 1;
        c.msg.set_seq(next_seq);
        match self.interval_ns {
            None if now < t_end => self.send(k, now)?,
            None => {}
            Some(interval) => {
                let next = intended + interval;
                if next < t_end {
                    if next <= now {
                        self.send(k, next)?;
                    } else {
                        self.due.push(Reverse((next, k)));
                    }
                }
            }
        }
        Ok(())
    }

    /// Records what is still unanswered at the latency it has reached.
    fn finish(&mut self) -> Part {
        let now = self.now();
        let end = self.usage_end.unwrap_or_else(Usage::this_thread);
        let cpu = end.since(&self.usage_start.unwrap_or(end));
        let mut served = 0;
        for c in &self.conns {
            served += u64::from(c.served);
            if !c.in_flight {
                continue;
            }
            hist::record(&mut self.histogram, now.saturating_sub(c.intended_ns));
            self.unanswered += 1;
            if let Some(interval) = self.interval_ns {
                // The requests this connection should have sent meanwhile.
                let mut due = c.intended_ns + interval;
                while due < self.t_end {
                    if due >= self.t_start {
                        hist::record(&mut self.histogram, now.saturating_sub(due));
                        self.unanswered += 1;
                    }
                    due += interval;
                }
            }
        }
        Part {
            histogram: std::mem::replace(&mut self.histogram, hist::new()),
            requests: self.requests,
            unanswered: self.unanswered,
            served,
            bytes_verified: self.bytes_verified,
            checksum: self.checksum,
            cpu,
        }
    }
}

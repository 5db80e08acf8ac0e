//! The delay server of the `requests` experiment: it answers every request
//! (a [`workload::message`] message) with the request itself, `delay` after
//! the request arrived in full — a stand-in for a slow backend or a remote API.
//!
//! One thread and one epoll loop serve any number of connections at once, so
//! N concurrent requests all come back after about `delay`: what a client
//! waits for is the delay, never the server. Replies are held in a timer heap
//! and sent when due (the loop wakes with sub-millisecond precision).
//! [`fetch_blocking`] is its plainest client: one request on one blocking
//! connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::Timer;
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags};
use nix::sys::eventfd::{EfdFlags, EventFd};
use workload::message::{HEADER_BYTES, Header, Message};

use crate::net;
use crate::slab::{Slab, Token};

const LISTENER: u64 = net::LISTENER_TOKEN;
const STOP: u64 = net::STOP_TOKEN;

/// A running delay server.
pub struct DelayServer {
    addr: SocketAddr,
    stop: Arc<EventFd>,
    thread: Option<JoinHandle<anyhow::Result<u64>>>,
}

impl DelayServer {
    /// Starts the server on 127.0.0.1:`port` (0: a free port), its thread
    /// pinned to `cpus` (empty: not pinned).
    pub fn start(port: u16, delay: Duration, cpus: &[usize]) -> anyhow::Result<DelayServer> {
        let listener = net::bind_listener(port, false)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(EventFd::from_flags(
            EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
        )?);
        let theirs = Arc::clone(&stop);
        let cpus = cpus.to_vec();
        let thread = thread::Builder::new()
            .name("delay-server".into())
            .spawn(move || {
                if !cpus.is_empty() {
                    harness::cores::set_affinity(nix::unistd::Pid::from_raw(0), &cpus)?;
                }
                serve(&listener, &theirs, delay)
            })
            .context("cannot start the delay server thread")?;
        Ok(DelayServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and returns how many requests it answered.
    pub fn stop(mut self) -> anyhow::Result<u64> {
        self.stop.write(1)?;
        self.thread.take().map_or(Ok(0), |h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("the delay server panicked"))?
        })
    }

    /// Stops the server and checks it answered at least the `verified`
    /// requests the client checked: a client that verified more than the
    /// server sent was fooled somewhere.
    pub fn stop_having_answered(self, verified: u64) -> anyhow::Result<()> {
        let answered = self.stop()?;
        anyhow::ensure!(
            answered >= verified,
            "the delay server answered {answered} requests, fewer than the {verified} verified"
        );
        Ok(())
    }
}

impl Drop for DelayServer {
    fn drop(&mut self) {
        if let Some(h) = self.thread.take() {
            let _ = self.stop.write(1);
            let _ = h.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    sent: usize,
    watching_out: bool,
}

/// The event loop; returns the number of requests answered.
fn serve(listener: &TcpListener, stop: &EventFd, delay: Duration) -> anyhow::Result<u64> {
    let epoll = net::listener_epoll(listener, stop)?;
    let epoch = Instant::now();
    let mut conns: Slab<Conn> = Slab::new();
    let mut due: BinaryHeap<Reverse<(Duration, Token, Vec<u8>)>> = BinaryHeap::new();
    let mut events = vec![EpollEvent::empty(); 256];
    let mut scratch = vec![0u8; net::ECHO_BUFFER_BYTES];
    let mut answered = 0u64;
    loop {
        let now = epoch.elapsed();
        while let Some(Reverse((at, _, _))) = due.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, t, reply))) = due.pop() else {
                break;
            };
            if let Some(c) = conns.get_mut(t) {
                c.output.extend_from_slice(&reply);
                answered += 1;
                if !flush(&epoll, c, t)? {
                    close(&mut conns, t);
                }
            }
        }
        let timeout = due.peek().map(|Reverse((at, _, _))| at.saturating_sub(now));
        let n = net::wait(&epoll, &mut events, timeout)?;
        for ev in &events[..n] {
            match ev.data() {
                STOP => return Ok(answered),
                LISTENER => accept_all(listener, &epoll, &mut conns)?,
                token => {
                    let t = Token(token);
                    let Some(c) = conns.get_mut(t) else { continue };
                    let mut alive = true;
                    if ev.events().contains(EpollFlags::EPOLLOUT) {
                        alive = flush(&epoll, c, t)?;
                    }
                    if alive
                        && ev.events().intersects(
                            EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR,
                        )
                    {
                        alive = read_requests(c, &mut scratch, |req| {
                            due.push(Reverse((epoch.elapsed() + delay, t, req)));
                        });
                    }
                    if !alive {
                        close(&mut conns, t);
                    }
                }
            }
        }
    }
}

fn accept_all(listener: &TcpListener, epoll: &Epoll, conns: &mut Slab<Conn>) -> anyhow::Result<()> {
    while let Some(stream) = net::accept_nonblocking(listener).context("accept failed")? {
        let t = conns.insert(Conn {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            watching_out: false,
        });
        let c = conns.get_mut(t).expect("just inserted");
        epoll.add(c.stream.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, t.0))?;
    }
    Ok(())
}

/// Reads what has arrived and hands every complete request to `ready`.
/// Returns false when the connection is over (closed, reset, or a malformed header).
fn read_requests(c: &mut Conn, scratch: &mut [u8], mut ready: impl FnMut(Vec<u8>)) -> bool {
    loop {
        match c.stream.read(scratch) {
            Ok(0) => return false,
            Ok(n) => c.input.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    while c.input.len() >= HEADER_BYTES {
        let Some(h) = Header::parse(&c.input) else {
            return false;
        };
        let len = h.len as usize;
        if c.input.len() < len {
            break;
        }
        let rest = c.input.split_off(len);
        ready(std::mem::replace(&mut c.input, rest));
    }
    true
}

/// Writes pending output; returns false if the connection is gone.
fn flush(epoll: &Epoll, c: &mut Conn, t: Token) -> anyhow::Result<bool> {
    while c.sent < c.output.len() {
        match c.stream.write(&c.output[c.sent..]) {
            Ok(n) => c.sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !c.watching_out {
                    let mut ev = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT, t.0);
                    epoll.modify(c.stream.as_fd(), &mut ev)?;
                    c.watching_out = true;
                }
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(false),
        }
    }
    c.output.clear();
    c.sent = 0;
    if c.watching_out {
        let mut ev = EpollEvent::new(EpollFlags::EPOLLIN, t.0);
        epoll.modify(c.stream.as_fd(), &mut ev)?;
        c.watching_out = false;
    }
    Ok(true)
}

fn close(conns: &mut Slab<Conn>, t: Token) {
    // Closing the descriptor removes it from the epoll set.
    conns.remove(t);
}
/// One request, blocking: connect, send request `id`, read and verify the
/// answer. Returns its digest and its latency in nanoseconds.
pub fn fetch_blocking(addr: SocketAddr, id: u32, bytes: usize) -> anyhow::Result<(u64, u64)> {
    let t = Timer::start();
    let msg = Message::new(id, bytes);
    let mut s = TcpStream::connect(addr)
        .with_context(|| format!("request {id}: cannot connect to {addr}"))?;
    s.set_nodelay(true)?;
    s.write_all(msg.bytes())
        .with_context(|| format!("request {id}: cannot send"))?;
    let mut got = 0;
    let mut buf = vec![0u8; bytes.min(64 * 1024)];
    while got < bytes {
        let want = (bytes - got).min(buf.len());
        let n = s
            .read(&mut buf[..want])
            .with_context(|| format!("request {id}: cannot read the answer"))?;
        anyhow::ensure!(
            n > 0,
            "request {id}: the server closed the connection after {got} of {bytes} bytes"
        );
        msg.check(got, &buf[..n])?;
        got += n;
    }
    Ok((msg.digest(), t.ns()))
}

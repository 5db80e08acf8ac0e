//! Sockets and waits shared by the load generator, the delay server and every
//! server model: a listener with the largest backlog the kernel allows, an
//! epoll wait whose timeout is finer than a millisecond, and serving until a
//! stop signal (the stop signals blocked on the main thread before any server
//! thread exists, so every thread inherits the mask and the main thread alone
//! receives them, synchronously, with `sigwait`).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd};
use std::time::Duration;

use harness::UsageError;
use nix::errno::Errno;
use nix::libc;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::EventFd;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, accept4, bind, listen, setsockopt,
    socket, sockopt,
};

/// Bytes every server model reads at once (one buffer per connection, or one
/// per event loop), so that all models make the same number of system calls
/// for a message of a given size.
pub const ECHO_BUFFER_BYTES: usize = 16 * 1024;

/// The listen backlog the kernel grants (`net.core.somaxconn`): connections
/// the kernel completes before the server accepts them.
pub fn listen_backlog() -> u64 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

/// A listening socket on 127.0.0.1:`port` (0 picks a free port) with the
/// largest backlog allowed — std's `TcpListener::bind` asks for 128, which
/// drops connections when thousands arrive at once. With `reuse_port`, more
/// sockets may listen on the same port and the kernel spreads connections
/// across them (`SO_REUSEPORT`).
pub fn bind_listener(port: u16, reuse_port: bool) -> io::Result<TcpListener> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if reuse_port {
        setsockopt(&fd, sockopt::ReusePort, &true)?;
    }
    let addr = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    bind(fd.as_raw_fd(), &addr).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("cannot bind 127.0.0.1:{port}: {e}"),
        )
    })?;
    // -1 asks for the system maximum (net.core.somaxconn).
    listen(&fd, Backlog::MAXALLOWABLE)?;
    Ok(TcpListener::from(fd))
}

/// Waits for epoll events for at most `timeout` (`None`: forever), with
/// nanosecond resolution where the kernel has `epoll_pwait2` (Linux 5.11)
/// and millisecond resolution, rounded up, elsewhere. `EINTR` counts as a
/// wait with no events.
pub fn wait(
    epoll: &Epoll,
    events: &mut [EpollEvent],
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let Some(t) = timeout else {
        return interrupted_is_zero(epoll.wait(events, EpollTimeout::NONE).map_err(Into::into));
    };
    let ts = libc::timespec {
        tv_sec: t.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    };
    // SAFETY: `EpollEvent` is `repr(transparent)` over `libc::epoll_event`, so
    // the buffer is valid for `events.len()` events; the timespec outlives the
    // call and a null signal mask is allowed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epoll.0.as_raw_fd(),
            events.as_mut_ptr(),
            events.len() as libc::c_int,
            &ts as *const libc::timespec,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if rc >= 0 {
        return Ok(rc as usize);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENOSYS) {
        let ms = t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let timeout = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX);
        return interrupted_is_zero(epoll.wait(events, timeout).map_err(Into::into));
    }
    interrupted_is_zero(Err(err))
}

fn interrupted_is_zero(r: io::Result<usize>) -> io::Result<usize> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
        r => r,
    }
}

/// The epoll token of a loop's listener.
pub const LISTENER_TOKEN: u64 = u64::MAX;
/// The epoll token of a loop's stop eventfd.
pub const STOP_TOKEN: u64 = u64::MAX - 1;

/// An epoll set watching `listener` (token [`LISTENER_TOKEN`]) and the stop
/// eventfd `stop` ([`STOP_TOKEN`]) for reading, level-triggered: the start of
/// every readiness loop here.
pub fn listener_epoll(listener: &TcpListener, stop: &EventFd) -> io::Result<Epoll> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(
        listener.as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN, LISTENER_TOKEN),
    )?;
    epoll.add(
        stop.as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN, STOP_TOKEN),
    )?;
    Ok(epoll)
}

/// Accepts one connection from a non-blocking listener as a non-blocking,
/// close-on-exec stream with `TCP_NODELAY` (one `accept4`, no extra
/// `fcntl`); `None` when no connection is waiting. Connections aborted before
/// they were accepted, and interruptions, are skipped.
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<Option<TcpStream>> {
    loop {
        match accept4(
            listener.as_raw_fd(),
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        ) {
            Ok(fd) => {
                // SAFETY: accept4 returned a new descriptor that nothing else owns.
                let stream = unsafe { TcpStream::from_raw_fd(fd) };
                stream.set_nodelay(true)?;
                return Ok(Some(stream));
            }
            Err(Errno::EAGAIN) => return Ok(None),
            Err(Errno::EINTR | Errno::ECONNABORTED) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// True for the errors that mean the peer went away (reset, broken pipe,
/// aborted): a server closes such a connection and carries on.
pub fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    )
}

/// True for the accept errors after which a server goes on accepting: a
/// client that gave up before it was accepted, a signal.
pub fn accept_goes_on(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted || is_disconnect(e)
}

/// Blocks SIGINT, SIGTERM and SIGHUP on the calling thread (and so on every
/// thread it starts afterwards) and returns the set to wait on.
pub fn block_stop_signals() -> anyhow::Result<SigSet> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| anyhow::anyhow!("cannot block the stop signals: {e}"))?;
    Ok(set)
}

/// Waits for one of the signals of `set` (blocked beforehand).
pub fn wait_stop_signal(set: &SigSet) -> anyhow::Result<Signal> {
    set.wait()
        .map_err(|e| anyhow::anyhow!("cannot wait for a stop signal: {e}"))
}

/// Checks that `port` can be listened on, naming the flag if not.
pub fn check_port(port: u16) -> Result<(), UsageError> {
    if port == 0 {
        return Ok(());
    }
    bind_listener(port, false).map(drop).map_err(|e| {
        UsageError(format!(
            "--port {port}: cannot listen on 127.0.0.1:{port}: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn listeners_share_a_port_only_with_reuse_port() {
        let a = bind_listener(0, true).unwrap();
        let port = a.local_addr().unwrap().port();
        let b = bind_listener(port, true).unwrap();
        assert_eq!(b.local_addr().unwrap().port(), port);
        assert!(bind_listener(port, false).is_err());
        assert!(listen_backlog() >= 128);
    }

    #[test]
    fn a_short_wait_is_short_and_counts_no_events() {
        let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).unwrap();
        let mut ev = [EpollEvent::empty(); 4];
        let t = Instant::now();
        assert_eq!(
            wait(&ep, &mut ev, Some(Duration::from_micros(300))).unwrap(),
            0
        );
        let took = t.elapsed();
        assert!(took >= Duration::from_micros(300), "{took:?}");
    }
}

//! Non-blocking sockets: epoll readiness loops on one and N threads

//! Blocking sockets: iterative, thread-per-connection and thread-pool servers

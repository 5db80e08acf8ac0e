//! Processes as a concurrency model: fork, exec, posix_spawn, pipes, shared memory

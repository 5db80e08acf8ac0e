//! Memory shared between processes: what processes must set up explicitly
//! to see each other's writes, where threads share everything by default.
//!
//! - [`SharedCounter`]: one atomic counter in an anonymous `MAP_SHARED`
//!   mapping, made before the fork so every worker maps the same page (the
//!   `pool` model's queue of task indices).
//! - [`SharedBuffer`]: a `memfd_create` file mapped `MAP_SHARED`, the
//!   `memfd-mmap` model of `share`: the bytes one process writes are the bytes
//!   the other reads, with no copy.
//!
//! Both stay mapped in the child after `fork` at the same address, so the
//! child uses its copy of the same object.

use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;

use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, mmap_anonymous, munmap};

/// An atomic counter in memory shared with every process forked after it was made.
#[derive(Debug)]
pub struct SharedCounter {
    ptr: NonNull<AtomicUsize>,
}

impl SharedCounter {
    /// Maps one shared, zeroed page holding the counter (value 0).
    pub fn new() -> anyhow::Result<SharedCounter> {
        let len = NonZeroUsize::new(page_size()).expect("a page has a size");
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses
        // aliases no existing Rust object.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|e| anyhow::anyhow!("cannot map a shared page for the task counter: {e}"))?;
        Ok(SharedCounter { ptr: ptr.cast() })
    }

    /// The counter. Atomic operations on it are seen by every process that
    /// shares the page (lock-free atomics work across address spaces).
    pub fn get(&self) -> &AtomicUsize {
        // SAFETY: the page is mapped, readable and writable for as long as
        // `self` lives; it is page-aligned and was zeroed by the kernel, a
        // valid `AtomicUsize`; it is only ever accessed atomically.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for SharedCounter {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `new` with this length and no
        // reference into it outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), page_size()) };
    }
}

/// A byte buffer in a `memfd` file, mapped shared: a child forked after it
/// was made sees the parent's writes in the same pages.
///
/// Access is handed back and forth by messages (the writer writes, then tells
/// the reader through a pipe; the reader reads, then answers), so the two
/// processes never touch the bytes at the same time; the pipe's system calls
/// order the accesses, as a channel would between threads.
#[derive(Debug)]
pub struct SharedBuffer {
    _fd: OwnedFd,
    ptr: NonNull<u8>,
    len: usize,
}

impl SharedBuffer {
    /// Creates a memfd of `len` bytes and maps it shared, readable and writable.
    pub fn new(len: usize) -> anyhow::Result<SharedBuffer> {
        let size = NonZeroUsize::new(len)
            .ok_or_else(|| anyhow::anyhow!("a shared buffer needs at least one byte"))?;
        let fd = memfd_create(c"conpar-share", MFdFlags::MFD_CLOEXEC)
            .map_err(|e| anyhow::anyhow!("memfd_create failed: {e}"))?;
        nix::unistd::ftruncate(&fd, len as i64)
            .map_err(|e| anyhow::anyhow!("cannot size the memfd to {len} bytes: {e}"))?;
        // SAFETY: a fresh shared mapping of our own memfd at an address the
        // kernel chooses aliases no existing Rust object.
        let ptr = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &fd,
                0,
            )
        }
        .map_err(|e| anyhow::anyhow!("cannot map the {len}-byte memfd: {e}"))?;
        Ok(SharedBuffer {
            _fd: fd,
            ptr: ptr.cast(),
            len,
        })
    }

    /// The bytes, to read (the reader's side, once told the writer is done).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` mapped, initialised (memfd pages read as zero) bytes
        // live as long as `self`; the hand-over protocol keeps the other
        // process from writing while this process reads.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, to write (the writer's side, while the reader waits).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` excludes other references in
        // this process, and the protocol keeps the other process from reading.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `new` with this length, and no
        // slice into it outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as usize)
}

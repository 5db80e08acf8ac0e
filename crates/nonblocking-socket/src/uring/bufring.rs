//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`, Linux 5.19): a pool
//! of equal buffers the kernel picks from as data arrives, so a multishot
//! receive needs no buffer per connection — a connection costs a buffer only
//! while its data waits to be echoed.
//!
//! The ring is an array of `{addr, len, bid}` entries shared with the
//! kernel: the kernel takes buffers at its head, this side gives them back
//! at the tail (the 16-bit tail lives in the first entry's reserved field)
//! and publishes the new tail with a release store. Both the entries and the
//! buffers are anonymous mappings of this process, page-aligned as the
//! kernel requires, unmapped on drop.
//!
//! Soundness rests on three rules the echo loop keeps: the ring is
//! unregistered (or its io_uring closed) before it is dropped, so the kernel
//! never writes into unmapped memory; a buffer the kernel handed out is not
//! given back while a send still reads from it; and no buffer is given back
//! twice (each completion names its buffer once).

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::Submitter;
use io_uring::types::BufRingEntry;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

/// A registered ring of provided buffers.
pub struct BufRing {
    entries: NonNull<BufRingEntry>,
    entries_len: usize,
    bufs: NonNull<u8>,
    bufs_len: usize,
    count: u16,
    buf_bytes: u32,
    /// The tail as this side has written it (published by [`BufRing::publish`]).
    tail: u16,
    /// Buffers given back since the last publish.
    unpublished: u16,
    bgid: u16,
}

// SAFETY: the mappings are owned by the ring alone (nothing else holds their
// pointers), so moving it to another thread moves sole access with it.
unsafe impl Send for BufRing {}

/// An anonymous private read-write mapping of `len` bytes (page-aligned).
fn map(len: usize) -> std::io::Result<NonNull<u8>> {
    let len = NonZeroUsize::new(len).expect("a buffer ring is never empty");
    // SAFETY: a fresh anonymous mapping at an address the kernel chooses
    // aliases nothing; it is unmapped exactly once, by `Drop`.
    let p = unsafe {
        mmap_anonymous(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
    }?;
    Ok(p.cast())
}

impl BufRing {
    /// Maps `count` buffers of `buf_bytes` (count a power of two, at most
    /// 32,768), offers all of them, and registers the ring as buffer group
    /// `bgid` of the io_uring `submitter` belongs to. Fails with the kernel's
    /// error where buffer rings are missing (before 5.19: `EINVAL`).
    pub fn register(
        submitter: &Submitter<'_>,
        bgid: u16,
        count: u16,
        buf_bytes: u32,
    ) -> std::io::Result<BufRing> {
        assert!(count.is_power_of_two() && count <= 1 << 15);
        let entries_len = usize::from(count) * std::mem::size_of::<BufRingEntry>();
        let bufs_len = usize::from(count) * buf_bytes as usize;
        let entries = map(entries_len)?.cast::<BufRingEntry>();
        let bufs = match map(bufs_len) {
            Ok(b) => b,
            Err(e) => {
                // SAFETY: just mapped with this length, and never shared.
                let _ = unsafe { munmap(entries.cast(), entries_len) };
                return Err(e);
            }
        };
        let mut ring = BufRing {
            entries,
            entries_len,
            bufs,
            bufs_len,
            count,
            buf_bytes,
            tail: 0,
            unpublished: 0,
            bgid,
        };
        for bid in 0..count {
            ring.give_back(bid);
        }
        ring.publish();
        // SAFETY: the entries stay mapped, at this address, until `Drop`,
        // which callers run only after the ring is unregistered or its
        // io_uring is closed (the module's first rule).
        unsafe {
            submitter.register_buf_ring_with_flags(ring.entries.as_ptr() as u64, count, bgid, 0)
        }?;
        Ok(ring)
    }

    /// The buffer group id that receives name.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Buffers in the pool.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Bytes of every buffer.
    pub fn buf_bytes(&self) -> u32 {
        self.buf_bytes
    }

    /// A pointer to byte `offset` of buffer `bid`.
    pub fn ptr(&self, bid: u16, offset: u32) -> *const u8 {
        assert!(bid < self.count && offset <= self.buf_bytes);
        // SAFETY: in bounds of the buffer mapping: bid < count and offset
        // at most one buffer's length.
        unsafe {
            self.bufs
                .as_ptr()
                .add(usize::from(bid) * self.buf_bytes as usize + offset as usize)
        }
    }

    /// Gives buffer `bid` back to the kernel (visible at the next
    /// [`BufRing::publish`]). The caller keeps the module's rules: the
    /// kernel handed it out, and nothing reads from it any more.
    pub fn give_back(&mut self, bid: u16) {
        assert!(bid < self.count);
        let mask = self.count - 1;
        let slot = usize::from(self.tail & mask);
        // SAFETY: slot < count, inside the entries mapping; the kernel reads
        // this entry only once the tail published past it, so this side is
        // its only writer now.
        let e = unsafe { &mut *self.entries.as_ptr().add(slot) };
        e.set_addr(self.ptr(bid, 0) as u64);
        e.set_len(self.buf_bytes);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        self.unpublished += 1;
    }

    /// Publishes the buffers given back since the last call (one release
    /// store, so the entries' contents are visible before the tail).
    pub fn publish(&mut self) {
        if self.unpublished == 0 {
            return;
        }
        // SAFETY: the tail field is the reserved `u16` of the first entry
        // (`BufRingEntry::tail`), inside the mapping and 2-byte aligned; the
        // kernel only reads it, so an atomic store is the one write.
        let tail =
            unsafe { AtomicU16::from_ptr(BufRingEntry::tail(self.entries.as_ptr()).cast_mut()) };
        tail.store(self.tail, Ordering::Release);
        self.unpublished = 0;
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: both mappings were made by `register` with these lengths
        // and are unmapped once; the owner unregistered the ring or closed
        // its io_uring first (the module's first rule).
        unsafe {
            let _ = munmap(self.entries.cast(), self.entries_len);
            let _ = munmap(self.bufs.cast(), self.bufs_len);
        }
    }
}

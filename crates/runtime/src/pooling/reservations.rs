//! Released memory reservations kept for reuse by the on-demand allocator.
//!
//! An on-demand memory with guard pages is an 8 GiB reservation of its
//! own. Mapping one per instance and unmapping it when the instance goes
//! is cheap on one thread and the opposite on several: `mmap` and
//! `munmap` take the process's mapping lock for writing, and `munmap`
//! interrupts every other core running the process to flush its TLB, so a
//! second thread instantiating made the total slower than one alone.
//!
//! This cache keeps a few released reservations, per thread (the pools'
//! sharded `FreeList`), reset as a pool slot is (the first
//! [`KEEP_RESIDENT`] bytes in place, touched pages beyond given back), and
//! with their copy-on-write image still mapped. The next memory of the same
//! module takes one without a system call; any other memory adjusts its
//! protections and image as a pool slot does. Reservations beyond
//! [`PER_THREAD`] a shard are unmapped as before, so the cache holds at
//! most that many reservations' kept bytes per shard, and address space
//! alone otherwise.

use std::sync::Arc;

use hayate_environ::{MEMORY32_RESERVATION, WASM_PAGE_SIZE};

use super::free_list::FreeList;
use super::memories::{prepare, reset_for_reuse, same_image};
use crate::cow::MemoryImage;
use crate::mmap::Mmap;

/// Bytes at the start of a released memory reset in place (one Wasm page,
/// as the pooling allocator's default).
pub const KEEP_RESIDENT: usize = WASM_PAGE_SIZE as usize;

/// Most reservations kept per shard of the cache.
pub const PER_THREAD: usize = 4;

/// How many of a shard's reservations are searched for one already holding
/// the wanted image.
const AFFINITY_SEARCH: usize = PER_THREAD;

/// Released static-layout memory reservations ([`MEMORY32_RESERVATION`]
/// bytes), ready for reuse.
#[derive(Debug)]
pub struct ReservationCache {
    free: FreeList<Reservation>,
}

/// A released reservation: its first `accessible` bytes read/write and
/// reset, `image` mapped at its offset.
#[derive(Debug)]
struct Reservation {
    mmap: Mmap,
    accessible: usize,
    image: Option<Arc<MemoryImage>>,
}

impl Default for ReservationCache {
    fn default() -> Self {
        ReservationCache {
            free: FreeList::new(Vec::new()),
        }
    }
}

impl ReservationCache {
    /// An empty cache.
    pub fn new() -> ReservationCache {
        ReservationCache::default()
    }

    /// A reservation of [`MEMORY32_RESERVATION`] bytes whose first
    /// `minimum` bytes are read/write and zero except for `image`, mapped
    /// at its offset, and the rest inaccessible: a released one if there
    /// is one (preferably holding `image` already), else a new one; with
    /// its handle on `image`.
    pub(crate) fn take(
        &self,
        minimum: usize,
        image: Option<&Arc<MemoryImage>>,
    ) -> std::io::Result<(Mmap, Option<Arc<MemoryImage>>)> {
        let reservation = self
            .free
            .take(AFFINITY_SEARCH, |r| same_image(r.image.as_ref(), image));
        let (mut mmap, accessible, held) = match reservation {
            Some(r) => (r.mmap, r.accessible, r.image),
            None => (Mmap::reserve(reservation_len())?, 0, None),
        };
        // On failure the reservation is dropped (unmapped): its state is
        // unknown.
        let held = prepare(&mut mmap, accessible, held, minimum, image)?;
        Ok((mmap, held))
    }

    /// Takes back a memory's reservation: its first `accessible` bytes are
    /// read/write and `image` is mapped at its offset. Keeps it, reset, if
    /// this thread's shard has room; unmaps it otherwise.
    ///
    /// # Safety
    /// `mmap` must be a reservation this cache handed out, which nothing
    /// uses any more, in the state described.
    pub(crate) unsafe fn put(
        &self,
        mut mmap: Mmap,
        accessible: usize,
        image: Option<Arc<MemoryImage>>,
    ) {
        if mmap.len() != reservation_len() || self.free.home_len() >= PER_THREAD {
            return;
        }
        // SAFETY: the caller's promise.
        let reset =
            unsafe { reset_for_reuse(&mut mmap, accessible, image.as_deref(), KEEP_RESIDENT) };
        if reset.is_ok() {
            self.free.put(Reservation {
                mmap,
                accessible,
                image,
            });
        }
    }

    /// Reservations held.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether the cache holds no reservation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn reservation_len() -> usize {
    usize::try_from(MEMORY32_RESERVATION).expect("64-bit hosts reserve guard regions")
}

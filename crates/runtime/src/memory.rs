//! Linear memories: one anonymous mapping per memory, grown in place or,
//! when that is impossible, moved.
//!
//! Two layouts, chosen by [`MemoryConfig::bounds_checks`] and the memory's
//! index type:
//!
//! * **Static (guard pages)**, for 32-bit memories with guard pages:
//!   the memory reserves [`MEMORY32_RESERVATION`] bytes of address space up
//!   front: the 4 GiB a 32-bit index can reach plus a guard region as large
//!   again (and one Wasm page). Only the first `byte_size` bytes are
//!   accessible; growing makes more pages accessible in place, so the base
//!   never moves, and any access `index + offset + size` past the end faults
//!   in reserved memory. Compiled code omits bounds checks and the signal
//!   handler turns the fault into `Trap::MemoryOutOfBounds`.
//! * **Dynamic (explicit bounds checks)**, for 64-bit memories and when
//!   bounds are checked explicitly: compiled code checks every access against the
//!   current length. If the declared maximum is at most
//!   [`DYNAMIC_RESERVE_LIMIT`], the whole maximum is reserved and the base
//!   never moves either; otherwise the memory reserves room to double and,
//!   when that runs out, moves to a larger reservation (copying its
//!   contents). Compiled code must therefore reload the base and length from
//!   the `VMMemoryDefinition` after anything that may grow memory, and the
//!   owner must refresh that definition from [`LinearMemory::vmmemory`]
//!   after each successful [`LinearMemory::grow`].
//!
//! New pages always read as zero: they come fresh from the kernel.
//!
//! Copy-on-write data images ([`crate::cow`]): a memory created with
//! [`LinearMemory::with_image`] has its module's data segments mapped
//! `MAP_PRIVATE | MAP_FIXED` from the image's memfd over their place in the
//! memory instead of copied; pages past the image stay anonymous zero
//! pages. Nothing else here depends on how the initial pages were filled.

use std::io;
use std::sync::Arc;

use hayate_environ::{
    BoundsChecks, MEMORY32_RESERVATION, MEMORY64_GUARD_SIZE, MemoryType, WASM_PAGE_SIZE,
    WASM32_MAX_PAGES,
};
use thiserror::Error;

use crate::cow::MemoryImage;
use crate::mmap::{Mmap, round_up_to_page};
use crate::pooling::memories::MemorySlot;
use crate::pooling::reservations::ReservationCache;
use crate::vmcontext::VMMemoryDefinition;

/// Largest declared maximum (in bytes) a dynamic memory reserves in full, so
/// that its base never moves.
pub const DYNAMIC_RESERVE_LIMIT: usize = 1 << 30;

/// Largest number of pages a 64-bit memory may have (2^48, the spec's limit).
const WASM64_MAX_PAGES: u64 = 1 << 48;

/// How linear memories are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// With [`BoundsChecks::GuardPages`], reserve [`MEMORY32_RESERVATION`]
    /// bytes for each 32-bit memory so that compiled code needs no bounds
    /// checks and the base never moves. With explicit checks (and always
    /// for 64-bit memories) compiled code checks bounds and reloads the
    /// base after calls that may grow memory.
    pub bounds_checks: BoundsChecks,
}

impl Default for MemoryConfig {
    /// Guard pages on 64-bit hosts, explicit bounds checks elsewhere.
    fn default() -> Self {
        MemoryConfig {
            bounds_checks: BoundsChecks::host_default(),
        }
    }
}

/// A linear memory could not be created.
#[derive(Debug, Error)]
pub enum MemoryError {
    /// A 32-bit memory asked for more than 4 GiB.
    #[error(
        "memory minimum of {pages} pages exceeds the {WASM32_MAX_PAGES} pages (4 GiB) a 32-bit memory can address"
    )]
    MinimumTooLarge32 {
        /// The requested minimum, in Wasm pages.
        pages: u64,
    },
    /// The minimum does not fit in this host's address space.
    #[error("memory minimum of {pages} pages does not fit in this host's address space")]
    MinimumTooLarge {
        /// The requested minimum, in Wasm pages.
        pages: u64,
    },
    /// Shared memories (the threads proposal) are not implemented.
    #[error("shared memories are not supported")]
    SharedUnsupported,
    /// Reserving address space failed.
    #[error("failed to reserve {bytes} bytes of address space for a linear memory: {source}")]
    Reserve {
        /// Size of the reservation.
        bytes: usize,
        /// The operating system's error.
        source: io::Error,
    },
    /// Making the initial pages accessible failed.
    #[error("failed to make {bytes} bytes of linear memory accessible: {source}")]
    Commit {
        /// Number of bytes.
        bytes: usize,
        /// The operating system's error.
        source: io::Error,
    },
}

/// A WebAssembly linear memory owned by an instance.
#[derive(Debug)]
pub struct LinearMemory {
    /// The reservation; its first `byte_size` bytes (rounded up to host
    /// pages) are read/write, the rest `PROT_NONE`.
    mmap: Mmap,
    /// Current size in bytes, a multiple of the Wasm page size.
    byte_size: usize,
    /// Largest size in pages: the declared maximum or the index-space limit.
    maximum_pages: u64,
    /// The declared maximum in pages, if any.
    declared_maximum: Option<u64>,
    /// Whether this is a 64-bit memory.
    memory64: bool,
    /// Whether the base may never move (static layout, or a dynamic memory
    /// whose whole maximum is reserved).
    fixed_base: bool,
    /// Bytes at the end of the reservation that stay inaccessible whatever
    /// the size: [`MEMORY64_GUARD_SIZE`] for a 64-bit memory in guard-page
    /// mode, so that `[length, length + guard)` always faults.
    guard: usize,
    /// The copy-on-write image mapped at its offset, if any.
    image: Option<Arc<MemoryImage>>,
    /// Where the reservation goes when the memory is dropped.
    home: Home,
}

/// Where a memory's reservation comes from and goes back to.
#[derive(Debug)]
enum Home {
    /// Its own mapping, unmapped when dropped.
    Own,
    /// A view of a pool slot, given back to the pool.
    Pool(MemorySlot),
    /// Its own mapping, offered to a cache of reservations for reuse; the
    /// cache outlives the memory ([`LinearMemory::reusing`]).
    Cache(std::ptr::NonNull<ReservationCache>),
}

// SAFETY: the cache a memory's home points to is `Sync` (its free list is
// behind locks) and outlives the memory; a pool slot is `Send`/`Sync`.
unsafe impl Send for Home {}
// SAFETY: as above; a shared `Home` does nothing.
unsafe impl Sync for Home {}

fn pages_to_bytes(pages: u64) -> Option<usize> {
    usize::try_from(pages.checked_mul(WASM_PAGE_SIZE)?).ok()
}

impl LinearMemory {
    /// Creates a memory of type `ty` at its minimum size, zero-filled.
    pub fn new(ty: &MemoryType, cfg: &MemoryConfig) -> Result<LinearMemory, MemoryError> {
        Self::with_image(ty, cfg, None)
    }

    /// Creates a memory of type `ty` at its minimum size, holding `image`
    /// (mapped copy-on-write) and zeros elsewhere. The image must fit in the
    /// minimum size (as [`crate::cow::ModuleImages`] ensures).
    pub fn with_image(
        ty: &MemoryType,
        cfg: &MemoryConfig,
        image: Option<&Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        // SAFETY: no cache.
        unsafe { Self::reusing(ty, cfg, image, None) }
    }

    /// [`LinearMemory::with_image`], taking its reservation from `cache`
    /// (and giving it back when dropped) if it has the static layout.
    ///
    /// # Safety
    /// The cache must outlive the memory, which gives its reservation back
    /// through a pointer to the cache when dropped.
    pub unsafe fn reusing(
        ty: &MemoryType,
        cfg: &MemoryConfig,
        image: Option<&Arc<MemoryImage>>,
        cache: Option<&ReservationCache>,
    ) -> Result<LinearMemory, MemoryError> {
        if ty.shared {
            return Err(MemoryError::SharedUnsupported);
        }
        let index_limit = if ty.memory64 {
            WASM64_MAX_PAGES
        } else {
            WASM32_MAX_PAGES
        };
        if !ty.memory64 && ty.minimum > WASM32_MAX_PAGES {
            return Err(MemoryError::MinimumTooLarge32 { pages: ty.minimum });
        }
        let minimum_bytes = pages_to_bytes(ty.minimum)
            .filter(|_| ty.minimum <= index_limit)
            .and_then(|b| round_up_to_page(b).map(|_| b))
            .ok_or(MemoryError::MinimumTooLarge { pages: ty.minimum })?;
        let maximum_pages = ty.maximum.unwrap_or(index_limit).min(index_limit);

        let static_layout = cfg.bounds_checks.guard_pages() && !ty.memory64;
        let (reservation, fixed_base) = if static_layout {
            let bytes = usize::try_from(MEMORY32_RESERVATION)
                .map_err(|_| MemoryError::MinimumTooLarge { pages: ty.minimum })?;
            (bytes, true)
        } else {
            match ty.maximum.and_then(pages_to_bytes) {
                Some(max) if max <= DYNAMIC_RESERVE_LIMIT => (max, true),
                _ => (
                    Self::dynamic_reservation(minimum_bytes, maximum_pages),
                    false,
                ),
            }
        };
        if static_layout && let Some(cache) = cache {
            let (mmap, image) =
                cache
                    .take(minimum_bytes, image)
                    .map_err(|source| MemoryError::Reserve {
                        bytes: reservation,
                        source,
                    })?;
            return Ok(LinearMemory {
                mmap,
                byte_size: minimum_bytes,
                maximum_pages,
                declared_maximum: ty.maximum,
                memory64: ty.memory64,
                fixed_base,
                guard: 0,
                image,
                home: Home::Cache(cache.into()),
            });
        }
        // A 64-bit memory's accesses are checked only against its length
        // when it is followed by a guard (see `MEMORY64_GUARD_SIZE`).
        let guard = match ty.memory64 && cfg.bounds_checks.guard_pages() {
            true => MEMORY64_GUARD_SIZE as usize,
            false => 0,
        };
        // Never reserve nothing, so that `base` is a real address even for
        // a memory of size 0.
        let reservation = reservation
            .max(minimum_bytes)
            .max(crate::mmap::page_size())
            .checked_add(guard)
            .ok_or(MemoryError::MinimumTooLarge { pages: ty.minimum })?;
        let mut mmap = Mmap::reserve(reservation).map_err(|source| MemoryError::Reserve {
            bytes: reservation,
            source,
        })?;

        let commit = round_up_to_page(minimum_bytes).expect("checked above");
        // SAFETY: `0..commit` is page-aligned and inside the fresh
        // reservation (which is at least `minimum_bytes` long); no code has
        // been placed in it.
        unsafe { mmap.make_accessible(0, commit) }.map_err(|source| MemoryError::Commit {
            bytes: commit,
            source,
        })?;
        let mut memory = LinearMemory {
            mmap,
            byte_size: minimum_bytes,
            maximum_pages,
            declared_maximum: ty.maximum,
            memory64: ty.memory64,
            fixed_base,
            guard,
            image: None,
            home: Home::Own,
        };
        if let Some(image) = image {
            memory.map_image(image)?;
        }
        Ok(memory)
    }

    /// A memory in a pool slot that the pool has prepared: its first
    /// `ty.minimum` pages accessible and zero except for `image`, mapped at
    /// its offset; the rest of the slot inaccessible. It never moves and
    /// grows up to `maximum_pages`; dropping it gives the slot back.
    pub(crate) fn from_pool_slot(
        view: Mmap,
        ty: &MemoryType,
        maximum_pages: u64,
        image: Option<Arc<MemoryImage>>,
        slot: MemorySlot,
    ) -> LinearMemory {
        LinearMemory {
            mmap: view,
            byte_size: pages_to_bytes(ty.minimum).expect("checked by the pool"),
            maximum_pages,
            declared_maximum: ty.maximum,
            memory64: ty.memory64,
            fixed_base: true,
            // A pool slot with guard pages is as large as a 32-bit
            // memory's reservation: past any 64-bit memory it holds (at
            // most 4 GiB) lie more than `MEMORY64_GUARD_SIZE` bytes of it.
            guard: 0,
            image,
            home: Home::Pool(slot),
        }
    }

    /// Whether this memory lives in a pool slot.
    pub fn is_pooled(&self) -> bool {
        matches!(self.home, Home::Pool(_))
    }

    /// Maps `image` over its place in the accessible part of the memory.
    fn map_image(&mut self, image: &Arc<MemoryImage>) -> Result<(), MemoryError> {
        let (start, len) = (image.offset(), image.len());
        assert!(start + len <= self.byte_size, "image fits the memory");
        // SAFETY: the range is page-aligned (images are) and inside the
        // accessible part of the reservation; nothing has been read or
        // written there yet (the memory is being set up), and the image's
        // file holds its `len` bytes at its page-aligned offset.
        unsafe {
            self.mmap
                .map_fd_fixed(start, len, image.fd(), image.file_offset())
        }
        .map_err(|source| MemoryError::Commit { bytes: len, source })?;
        self.image = Some(image.clone());
        Ok(())
    }

    /// Whether the memory's contents come from a copy-on-write image.
    pub fn has_image(&self) -> bool {
        self.image.is_some()
    }

    /// Replaces the image's pages by zero pages, as if the memory had been
    /// created without it (used when instantiation traps before all data
    /// segments would have been written).
    ///
    /// # Safety
    /// No reference into the image's range may be in use.
    pub unsafe fn clear_image(&mut self) -> io::Result<()> {
        if let Some(image) = self.image.take() {
            // SAFETY: page-aligned and inside the accessible part of the
            // reservation (the caller vouches nothing uses it).
            unsafe {
                self.mmap
                    .map_anon_fixed(image.offset(), image.len(), true)?
            };
        }
        Ok(())
    }

    /// The reservation for a dynamic memory of `bytes` bytes: room to
    /// double, capped at the maximum.
    fn dynamic_reservation(bytes: usize, maximum_pages: u64) -> usize {
        let max_bytes = pages_to_bytes(maximum_pages).unwrap_or(usize::MAX);
        bytes
            .saturating_mul(2)
            .max(WASM_PAGE_SIZE as usize)
            .min(max_bytes)
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> usize {
        self.byte_size
    }

    /// Current size in Wasm pages.
    pub fn pages(&self) -> u64 {
        (self.byte_size as u64) / WASM_PAGE_SIZE
    }

    /// The largest size in bytes this memory may ever reach: its declared
    /// maximum, or 4 GiB for a 32-bit memory without one; `None` for a
    /// 64-bit memory without a maximum. Saturates at `usize::MAX`.
    pub fn maximum_byte_size(&self) -> Option<usize> {
        if self.declared_maximum.is_none() && self.memory64 {
            return None;
        }
        Some(pages_to_bytes(self.maximum_pages).unwrap_or(usize::MAX))
    }

    /// Whether this memory is indexed by 64-bit addresses.
    pub fn is_64(&self) -> bool {
        self.memory64
    }

    /// Whether the base address never changes (growing happens in place).
    pub fn base_is_fixed(&self) -> bool {
        self.fixed_base
    }

    /// Bytes of address space reserved at the base, including any guard region.
    pub fn reservation_size(&self) -> usize {
        self.mmap.len()
    }

    /// Start of the memory.
    pub fn base(&self) -> *mut u8 {
        self.mmap.as_mut_ptr()
    }

    /// The definition compiled code reads: base and current length.
    pub fn vmmemory(&self) -> VMMemoryDefinition {
        VMMemoryDefinition {
            base: self.base(),
            current_length: self.byte_size,
        }
    }

    /// Grows the memory by `delta_pages` Wasm pages, which read as zero.
    ///
    /// Returns the old size in pages, or `None` if the memory cannot grow
    /// that much: past its declared maximum, past the 65536 pages of a
    /// 32-bit memory, or because the operating system refused the memory.
    /// Growing by 0 returns the current size. On success the base may have
    /// moved unless [`LinearMemory::base_is_fixed`]; refresh the
    /// `VMMemoryDefinition` from [`LinearMemory::vmmemory`] either way.
    pub fn grow(&mut self, delta_pages: u64) -> Option<u64> {
        let old_pages = self.pages();
        if delta_pages == 0 {
            return Some(old_pages);
        }
        let new_pages = old_pages.checked_add(delta_pages)?;
        if new_pages > self.maximum_pages {
            return None;
        }
        let new_bytes = pages_to_bytes(new_pages)?;
        let new_commit = round_up_to_page(new_bytes)?;
        if new_commit <= self.mmap.len() - self.guard {
            let old_commit = round_up_to_page(self.byte_size)?;
            // SAFETY: `old_commit..new_commit` is page-aligned and inside the
            // reservation; it holds no code.
            unsafe {
                self.mmap
                    .make_accessible(old_commit, new_commit - old_commit)
            }
            .ok()?;
        } else {
            if self.fixed_base {
                return None;
            }
            let reservation = Self::dynamic_reservation(new_bytes, self.maximum_pages);
            let reservation = reservation.max(new_commit).checked_add(self.guard)?;
            let mut mmap = Mmap::reserve(reservation).ok()?;
            // SAFETY: `0..new_commit` is page-aligned and inside the fresh
            // reservation.
            unsafe { mmap.make_accessible(0, new_commit) }.ok()?;
            // SAFETY: the old memory's first `byte_size` bytes are accessible
            // and the new mapping's first `new_commit >= byte_size` bytes are
            // writable; the two mappings are distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(self.base(), mmap.as_mut_ptr(), self.byte_size);
            }
            self.mmap = mmap;
            // The image's contents were copied along with the rest.
            self.image = None;
        }
        self.byte_size = new_bytes;
        Some(old_pages)
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        let accessible = round_up_to_page(self.byte_size).expect("fits the reservation");
        match std::mem::replace(&mut self.home, Home::Own) {
            Home::Own => {}
            Home::Pool(slot) => slot.release(&mut self.mmap, accessible, self.image.take()),
            Home::Cache(cache) => {
                let mmap = std::mem::replace(&mut self.mmap, Mmap::empty());
                // SAFETY: the cache outlives the memory (`reusing`).
                let cache = unsafe { cache.as_ref() };
                // SAFETY: the cache handed this reservation out; the memory
                // is being dropped, so nothing uses it; its first
                // `accessible` bytes are read/write (growing kept the base)
                // and hold `image`.
                unsafe { cache.put(mmap, accessible, self.image.take()) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = WASM_PAGE_SIZE as usize;

    fn ty(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: false,
            shared: false,
        }
    }

    fn configs() -> [MemoryConfig; 2] {
        [
            MemoryConfig {
                bounds_checks: BoundsChecks::GuardPages,
            },
            MemoryConfig {
                bounds_checks: BoundsChecks::Explicit,
            },
        ]
    }

    fn read(m: &LinearMemory, at: usize) -> u8 {
        assert!(at < m.byte_size());
        // SAFETY: `at` is inside the accessible part of the memory.
        unsafe { *m.base().add(at) }
    }

    fn write(m: &mut LinearMemory, at: usize, v: u8) {
        assert!(at < m.byte_size());
        // SAFETY: `at` is inside the accessible part of the memory.
        unsafe { *m.base().add(at) = v }
    }

    #[test]
    fn grow_respects_maximum() {
        for cfg in configs() {
            let mut m = LinearMemory::new(&ty(1, Some(3)), &cfg).unwrap();
            assert_eq!(m.byte_size(), PAGE);
            assert_eq!(m.maximum_byte_size(), Some(3 * PAGE));
            assert_eq!(m.grow(0), Some(1));
            assert_eq!(m.grow(3), None);
            assert_eq!(m.grow(1), Some(1));
            assert_eq!(m.grow(1), Some(2));
            assert_eq!(m.grow(1), None);
            assert_eq!(m.grow(0), Some(3));
            assert_eq!(m.byte_size(), 3 * PAGE);
            assert_eq!(m.vmmemory().current_length, 3 * PAGE);
            assert_eq!(m.grow(u64::MAX), None);
        }
    }

    #[test]
    fn grown_pages_are_zero_and_contents_survive() {
        for cfg in configs() {
            let mut m = LinearMemory::new(&ty(1, None), &cfg).unwrap();
            write(&mut m, 0, 1);
            write(&mut m, PAGE - 1, 2);
            // Grow several times so a dynamic memory has to move.
            for step in 1..6u64 {
                let old = m.pages();
                assert_eq!(m.grow(step), Some(old));
                let new_start = old as usize * PAGE;
                assert!(
                    (new_start..m.byte_size())
                        .step_by(4096)
                        .all(|i| read(&m, i) == 0)
                );
                assert_eq!(read(&m, m.byte_size() - 1), 0);
            }
            assert_eq!(read(&m, 0), 1);
            assert_eq!(read(&m, PAGE - 1), 2);
            assert_eq!(m.vmmemory().base, m.base());
        }
    }

    #[test]
    fn static_layout_never_moves() {
        let mut m = LinearMemory::new(
            &ty(0, None),
            &MemoryConfig {
                bounds_checks: BoundsChecks::GuardPages,
            },
        )
        .unwrap();
        assert!(m.base_is_fixed());
        assert_eq!(m.reservation_size() as u64, MEMORY32_RESERVATION);
        assert_eq!(m.maximum_byte_size(), Some(4 << 30));
        let base = m.base();
        assert_eq!(m.grow(100), Some(0));
        assert_eq!(m.base(), base);
        assert_eq!(
            m.grow(WASM32_MAX_PAGES),
            None,
            "32-bit memories stop at 4 GiB"
        );
    }

    #[test]
    fn small_maximum_is_reserved_in_full() {
        let mut m = LinearMemory::new(
            &ty(1, Some(16)),
            &MemoryConfig {
                bounds_checks: BoundsChecks::Explicit,
            },
        )
        .unwrap();
        assert!(m.base_is_fixed());
        let base = m.base();
        assert_eq!(m.grow(15), Some(1));
        assert_eq!(m.base(), base);
    }

    #[test]
    fn memory64_is_dynamic() {
        let t = MemoryType {
            minimum: 2,
            maximum: None,
            memory64: true,
            shared: false,
        };
        let mut m = LinearMemory::new(
            &t,
            &MemoryConfig {
                bounds_checks: BoundsChecks::GuardPages,
            },
        )
        .unwrap();
        assert!(m.is_64());
        assert!(!m.base_is_fixed());
        assert_eq!(m.maximum_byte_size(), None);
        assert_eq!(m.grow(70_000), Some(2), "64-bit memories may pass 4 GiB");
        assert_eq!(m.byte_size(), 70_002 * PAGE);
    }

    #[test]
    fn bad_types_are_rejected() {
        let err = LinearMemory::new(&ty(WASM32_MAX_PAGES + 1, None), &MemoryConfig::default())
            .unwrap_err();
        assert!(matches!(err, MemoryError::MinimumTooLarge32 { .. }));
        assert!(err.to_string().contains("4 GiB"), "{err}");
        let shared = MemoryType {
            shared: true,
            ..ty(1, Some(1))
        };
        assert!(matches!(
            LinearMemory::new(&shared, &MemoryConfig::default()),
            Err(MemoryError::SharedUnsupported)
        ));
        let huge = MemoryType {
            minimum: 1 << 47,
            maximum: None,
            memory64: true,
            shared: false,
        };
        assert!(LinearMemory::new(&huge, &MemoryConfig::default()).is_err());
        // Exactly 4 GiB is allowed.
        let m = LinearMemory::new(&ty(WASM32_MAX_PAGES, None), &MemoryConfig::default()).unwrap();
        assert_eq!(m.byte_size(), 4 << 30);
    }
}

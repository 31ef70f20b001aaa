//! The memory pool: linear memories in slots of one big reservation.
//!
//! A free slot remembers what its last user left mapped: how many bytes at
//! its start are read/write, and which copy-on-write image (if any) is
//! mapped there. Its contents were discarded on release, so its anonymous
//! pages read as zero and its image pages as the image. Taking a slot for
//! a memory only adjusts that state: map a different image (or remove
//! one), and make the memory's minimum size accessible and everything past
//! it inaccessible. A slot whose image is the one wanted is preferred.
//!
//! Releasing a slot resets its first [`PoolingConfig::memory_keep_resident`]
//! bytes in place (zeros, and the image's bytes where it lies) and hands
//! the rest back to the kernel with `madvise`. A `madvise` that drops
//! pages interrupts every other core running the process to flush its
//! TLB, so with several threads instantiating, in-place resets are what
//! let instantiation scale; the pages stay resident for the next user.

use std::io;
use std::sync::Arc;

use hayate_environ::{MEMORY32_RESERVATION, MemoryType, WASM_PAGE_SIZE};

use super::PoolingConfig;
use super::free_list::FreeList;
use crate::cow::MemoryImage;
use crate::instance::InstantiationError;
use crate::memory::LinearMemory;
use crate::mmap::{Mmap, round_up_to_page};

// A slot with guard pages holds at most 4 GiB, and a 64-bit memory needs
// `MEMORY64_GUARD_SIZE` inaccessible bytes past its end (see
// `hayate_environ::MEMORY64_GUARD_SIZE`): the slot leaves more.
const _: () = assert!(MEMORY32_RESERVATION >= (4 << 30) + hayate_environ::MEMORY64_GUARD_SIZE);

/// How many free slots, from the most recently freed (in each shard of the
/// free list), are searched for one already holding the wanted image.
const AFFINITY_SEARCH: usize = 16;

/// The memory slots of a pooling allocator.
#[derive(Debug)]
pub struct MemoryPool {
    mapping: Mmap,
    slot_size: usize,
    count: u32,
    max_pages: u64,
    /// Bytes at a slot's start reset in place on release (page-aligned).
    keep_resident: usize,
    free: FreeList<FreeSlot>,
}

/// What a free slot holds.
#[derive(Debug)]
pub(crate) struct FreeSlot {
    index: u32,
    /// Bytes at the slot's start that are read/write (page-aligned).
    accessible: usize,
    /// The image mapped at its offset, if any.
    image: Option<Arc<MemoryImage>>,
}

/// Gives a memory's slot back to its pool when the memory is dropped.
///
/// It points to the pool without a reference count: whoever allocated the
/// memory keeps the pool alive longer (an instance holds its allocator),
/// so that instantiating on many threads does not write one shared count.
#[derive(Debug)]
pub(crate) struct MemorySlot {
    pool: std::ptr::NonNull<MemoryPool>,
    index: u32,
}

// SAFETY: the pool is `Sync` (its free list is behind locks), outlives the
// slot (`MemoryPool::allocate`), and the slot's index is this handle's
// alone.
unsafe impl Send for MemorySlot {}
// SAFETY: as above; a shared handle does nothing.
unsafe impl Sync for MemorySlot {}

impl MemoryPool {
    pub(crate) fn new(
        config: &PoolingConfig,
        bounds_checks: hayate_environ::BoundsChecks,
    ) -> io::Result<MemoryPool> {
        let max_pages = config
            .max_memory_pages
            .min(hayate_environ::WASM32_MAX_PAGES);
        let max_bytes = (max_pages * WASM_PAGE_SIZE) as usize;
        // With guard pages compiled code relies on the whole 8 GiB past the
        // base faulting; otherwise the slot is just the largest memory.
        let slot_size = if bounds_checks.guard_pages() {
            MEMORY32_RESERVATION as usize
        } else {
            round_up_to_page(max_bytes.max(1)).expect("at most 4 GiB")
        };
        let len = slot_size
            .checked_mul(config.max_memories as usize)
            .ok_or_else(|| io::Error::other("memory pool size overflows"))?;
        Ok(MemoryPool {
            mapping: Mmap::reserve(len)?,
            slot_size,
            count: config.max_memories,
            max_pages,
            keep_resident: config.memory_keep_resident & !(crate::mmap::page_size() - 1),
            free: FreeList::new(
                (0..config.max_memories)
                    .rev()
                    .map(|index| FreeSlot {
                        index,
                        accessible: 0,
                        image: None,
                    })
                    .collect(),
            ),
        })
    }

    /// A view of slot `index`.
    fn view(&self, index: u32) -> Mmap {
        assert!(index < self.count);
        // SAFETY: the slot lies inside the pool's reservation, which lives
        // as long as the pool (every view holds the pool alive through its
        // `MemorySlot`), and only the holder of the slot uses it.
        unsafe {
            Mmap::view(
                self.mapping
                    .as_mut_ptr()
                    .add(index as usize * self.slot_size),
                self.slot_size,
            )
        }
    }

    fn take(&self, image: Option<&Arc<MemoryImage>>) -> Result<FreeSlot, InstantiationError> {
        let same = |s: &FreeSlot| same_image(s.image.as_ref(), image);
        self.free.take(AFFINITY_SEARCH, same).ok_or_else(|| {
            InstantiationError::Resource(format!(
                "pooling allocator: all {} memory slots are in use",
                self.count
            ))
        })
    }

    fn put(&self, slot: FreeSlot) {
        self.free.put(slot);
    }

    /// A memory of type `ty` in a free slot, holding `image`.
    ///
    /// # Safety
    /// The pool must outlive the memory, which gives its slot back through
    /// a pointer to the pool when dropped.
    pub unsafe fn allocate(
        &self,
        ty: &MemoryType,
        image: Option<&Arc<MemoryImage>>,
    ) -> Result<LinearMemory, InstantiationError> {
        let fail =
            |what: String| InstantiationError::Resource(format!("pooling allocator: {what}"));
        if ty.shared {
            return Err(fail("shared memories are not supported".into()));
        }
        if ty.minimum > self.max_pages {
            return Err(fail(format!(
                "memory minimum of {} pages exceeds the limit of {} pages",
                ty.minimum, self.max_pages
            )));
        }
        let minimum = (ty.minimum * WASM_PAGE_SIZE) as usize;
        let slot = self.take(image)?;
        let index = slot.index;
        let mut view = self.view(index);
        let held = match prepare(&mut view, slot.accessible, slot.image, minimum, image) {
            Ok(held) => held,
            Err(e) => {
                // Leave the slot in a known state: all reserved, no image.
                // SAFETY: the whole slot, which nobody uses.
                let _ = unsafe { view.map_anon_fixed(0, self.slot_size, false) };
                self.put(FreeSlot {
                    index,
                    accessible: 0,
                    image: None,
                });
                return Err(fail(format!("failed to prepare a memory slot: {e}")));
            }
        };
        let maximum_pages = ty.maximum.unwrap_or(u64::MAX).min(self.max_pages);
        Ok(LinearMemory::from_pool_slot(
            view,
            ty,
            maximum_pages,
            held,
            MemorySlot {
                pool: self.into(),
                index,
            },
        ))
    }

    /// Slots in use.
    pub(crate) fn in_use(&self) -> usize {
        self.count as usize - self.free.len()
    }
}

/// Whether a released memory holding `held` already holds `wanted`.
pub(crate) fn same_image(
    held: Option<&Arc<MemoryImage>>,
    wanted: Option<&Arc<MemoryImage>>,
) -> bool {
    match (held, wanted) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Turns a released memory reservation (its first `accessible` bytes
/// read/write and reset, `held` mapped at its offset) into a fresh memory
/// of `minimum` bytes holding `image`, and returns the new memory's handle
/// on its image: `held` itself if it is `image`, so that reusing a memory
/// of the same module does not touch the image's reference count, which
/// every thread instantiating the module shares.
pub(crate) fn prepare(
    view: &mut Mmap,
    accessible: usize,
    held: Option<Arc<MemoryImage>>,
    minimum: usize,
    image: Option<&Arc<MemoryImage>>,
) -> io::Result<Option<Arc<MemoryImage>>> {
    let want = round_up_to_page(minimum).expect("at most 4 GiB");
    let same_image = same_image(held.as_ref(), image);
    if !same_image && let Some(old) = &held {
        // SAFETY: the old image's range lies inside the slot's accessible
        // part; nothing uses the slot.
        unsafe { view.map_anon_fixed(old.offset(), old.len(), true)? };
    }
    if accessible < want {
        // SAFETY: inside the slot, which nothing uses.
        unsafe { view.make_accessible(accessible, want - accessible)? };
    } else if accessible > want {
        // SAFETY: as above; the pages were reset when released.
        unsafe { view.make_inaccessible(want, accessible - want)? };
    }
    if !same_image && let Some(new) = image {
        // SAFETY: images fit the memory's minimum size, which is now
        // accessible; nothing uses the slot.
        unsafe { view.map_fd_fixed(new.offset(), new.len(), new.fd(), new.file_offset())? };
    }
    Ok(match same_image {
        true => held,
        false => image.cloned(),
    })
}

impl MemorySlot {
    /// Gives the slot back: discards the contents of its first
    /// `accessible` bytes (anonymous pages read as zero again, image pages
    /// as the image) and keeps the image mapped for the next user.
    pub(crate) fn release(
        self,
        view: &mut Mmap,
        accessible: usize,
        image: Option<Arc<MemoryImage>>,
    ) {
        // SAFETY: the pool outlives its slots (`MemoryPool::allocate`).
        let pool = unsafe { self.pool.as_ref() };
        // SAFETY: the memory is being dropped: nothing uses it, its first
        // `accessible` bytes are read/write and `image` is mapped there.
        let reset =
            unsafe { reset_for_reuse(view, accessible, image.as_deref(), pool.keep_resident) };
        let slot = match reset {
            Ok(()) => FreeSlot {
                index: self.index,
                accessible,
                image,
            },
            Err(_) => {
                // Could not discard: start over with a blank slot.
                // SAFETY: as above, the whole slot.
                let ok = unsafe { view.map_anon_fixed(0, view.len(), false) }.is_ok();
                assert!(ok, "a pooled memory slot could not be reset");
                FreeSlot {
                    index: self.index,
                    accessible: 0,
                    image: None,
                }
            }
        };
        pool.put(slot);
    }
}

/// Resets a released memory's first `accessible` bytes to what a fresh
/// memory holds there (the image's bytes where `image` lies, zeros
/// elsewhere): its first `keep_resident` bytes in place, the rest by
/// giving the pages back to the kernel. On error the memory is in an
/// unknown state and must not be reused as it is.
///
/// # Safety
/// The first `accessible` bytes of `view` must be read/write, `image` must
/// be what is mapped there (if anything), and nothing may use the memory.
pub(crate) unsafe fn reset_for_reuse(
    view: &mut Mmap,
    accessible: usize,
    image: Option<&MemoryImage>,
    keep_resident: usize,
) -> io::Result<()> {
    // What the guest touched, where the kernel can tell (`pagemap`): only
    // those pages need resetting, and nothing past the kept ones
    // discarding if none of them was touched. Asking costs a system call,
    // more than rewriting a memory that is all kept resident.
    let touched = match accessible > keep_resident {
        true => crate::pagemap::touched(view.as_ptr(), accessible),
        false => None,
    };
    let kept = reset_in_place(
        view,
        accessible.min(keep_resident),
        image,
        touched.as_deref(),
    );
    let touched_beyond = touched
        .as_ref()
        .is_none_or(|ranges| ranges.iter().any(|r| r.end > kept));
    match touched_beyond {
        // SAFETY: the caller vouches that nothing uses the memory.
        true => unsafe { view.discard(kept, accessible - kept) },
        false => Ok(()),
    }
}

/// Resets the first `len` bytes of a released slot to what a fresh memory
/// holds there: the image's bytes where it lies, zeros elsewhere; with
/// `touched` (the pieces the guest may have changed), only those. Returns
/// how many bytes it reset: `len`, or 0 if the image's bytes are needed
/// and cannot be had (the caller then discards everything).
fn reset_in_place(
    view: &mut Mmap,
    len: usize,
    image: Option<&MemoryImage>,
    touched: Option<&[std::ops::Range<usize>]>,
) -> usize {
    if len == 0 {
        return 0;
    }
    let source = match image {
        Some(image) if image.offset() < len => match image.bytes() {
            Some(bytes) => Some((image.offset(), bytes)),
            None => return 0,
        },
        _ => None,
    };
    assert!(len <= view.len());
    // SAFETY: the first `len` bytes of the slot are read/write (`len` is at
    // most what its memory had accessible; the rest of the slot need not
    // be, so no slice of the whole view is made), and nothing else uses
    // them: the memory is being dropped.
    let memory = unsafe { std::slice::from_raw_parts_mut(view.as_mut_ptr(), len) };
    let whole = 0..len;
    for piece in touched.unwrap_or(std::slice::from_ref(&whole)) {
        let piece = piece.start.min(len)..piece.end.min(len);
        reset_piece(memory, piece, source);
    }
    len
}

/// Resets `memory[piece]`: the image's bytes where `source` (its offset
/// and bytes) lies, zeros elsewhere.
fn reset_piece(memory: &mut [u8], piece: std::ops::Range<usize>, source: Option<(usize, &[u8])>) {
    let Some((offset, bytes)) = source else {
        memory[piece].fill(0);
        return;
    };
    let image = offset..offset + bytes.len();
    let lo = piece.start.max(image.start).min(piece.end);
    let hi = piece.end.min(image.end).max(lo);
    memory[piece.start..lo].fill(0);
    if lo < hi {
        memory[lo..hi].copy_from_slice(&bytes[lo - offset..hi - offset]);
    }
    memory[hi..piece.end].fill(0);
}

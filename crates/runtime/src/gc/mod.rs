//! The GC heap of a store (the GC proposal): where structures and arrays
//! live, and the operations on them compiled code leaves to the runtime
//! (allocation, and the bulk array operations).
//!
//! # References
//!
//! An `anyref` (and every reference of the internal hierarchy) is one
//! word, and so is an `externref`; both share one encoding, so that
//! `any.convert_extern` and `extern.convert_any` are the identity:
//!
//! * `0`: null;
//! * low bit `1`: an `i31`, its value in the upper 31 bits of the low 32;
//! * low bits `10`: a host value (an `externref` the host made), its
//!   store's index plus one shifted left by two;
//! * low bits `00`, non-zero: the address of a GC object.
//!
//! # Objects
//!
//! An object starts with a header (`hayate_environ::gc_header`): its
//! type's engine-wide id, its kind (structure or array), an array's
//! length, and a word for the collector; fields follow at the offsets of
//! `StructType::layout`, array elements from the header's end, each as
//! large as its storage type. Objects are 16-aligned and zeroed when
//! allocated, which is every field type's default value.
//!
//! # Memory
//!
//! Objects are allocated from the host's allocator and owned by the heap.
//! The heap's growth goes through the store (`VMStore::memory_growing`,
//! and so a `ResourceLimiter`) in steps of [`GcHeap::GRANT`], and stops
//! at [`GcHeap::DEFAULT_MAX`] bytes however the limiter answers: an
//! allocation past that fails with `AllocationTooLarge`. Unreachable
//! objects are reclaimed by the collector ([`collector`]).

pub(crate) mod builtins;
mod collector;

pub use collector::{GcLayout, collect};

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Mutex;

use hayate_environ::{GC_HEADER_SIZE, gc_header};

/// What a collected object's memory holds under `GcHeap::set_stress`:
/// every byte, so every field, header word and reference in it.
pub const POISON: u8 = 0xdb;

/// Object kinds, as the header's `KIND` word holds them.
pub const KIND_STRUCT: u32 = 0;
/// An array.
pub const KIND_ARRAY: u32 = 1;

/// The objects of one store.
#[derive(Debug)]
pub struct GcHeap {
    /// Each object's memory (16-aligned), owned until it is collected or
    /// the store drops.
    objects: Vec<Box<[u128]>>,
    /// Bytes allocated.
    bytes: usize,
    /// Bytes the store agreed the heap may reach.
    granted: usize,
    max: usize,
    /// Allocated bytes past which the next allocation collects first.
    next_collection: usize,
    /// Collections so far.
    collections: u64,
    /// Whether every allocation collects first (`set_stress`).
    stress: bool,
    /// Under `stress`, the memory of collected objects, poisoned.
    quarantine: Vec<Box<[u128]>>,
    /// Objects the host holds handles on: roots until the store drops.
    pinned: Mutex<HashSet<usize>>,
}

impl Default for GcHeap {
    fn default() -> Self {
        GcHeap {
            objects: Vec::new(),
            bytes: 0,
            granted: 0,
            max: GcHeap::DEFAULT_MAX,
            next_collection: GcHeap::GRANT,
            collections: 0,
            stress: false,
            quarantine: Vec::new(),
            pinned: Mutex::new(HashSet::new()),
        }
    }
}

// SAFETY: the heap owns its objects' memory; compiled code and handles
// only reach it through the store that owns the heap.
unsafe impl Send for GcHeap {}
// SAFETY: as above.
unsafe impl Sync for GcHeap {}

/// Why an allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// The object alone is larger than the heap may ever be.
    TooLarge,
    /// The store (its limiter) refused to let the heap grow.
    Refused,
}

impl GcHeap {
    /// The most bytes a heap holds, whatever a limiter allows.
    pub const DEFAULT_MAX: usize = 512 << 20;
    /// The step in which the heap asks the store for room.
    pub const GRANT: usize = 1 << 20;

    /// Bytes allocated and not collected.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Collections run so far.
    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Number of objects alive (not collected yet).
    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Keeps the object at `raw` (a reference's bits: the call does
    /// nothing for anything but an object) alive until the store drops:
    /// the host holds a handle on it. Only references are passed here, so
    /// the set holds objects the host was given, never arbitrary numbers.
    pub fn pin(&self, raw: usize) {
        if is_object(raw) && !self.objects.is_empty() {
            self.pinned
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(raw);
        }
    }

    /// Calls `f` with every pinned object's address.
    pub fn visit_pinned(&self, f: &mut dyn FnMut(usize)) {
        let pinned = self
            .pinned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pinned.iter().for_each(|p| f(*p));
    }

    /// Makes every allocation from Wasm collect first, and keeps the
    /// memory of collected objects, overwritten with [`POISON`], until
    /// the heap drops: a reference the collector failed to find then reads
    /// a recognisable value, never another object. For testing; slow.
    pub fn set_stress(&mut self, stress: bool) {
        self.stress = stress;
    }

    /// The growth to ask the store for before allocating `size` bytes, as
    /// (current grant, desired grant), or `None` if the grant covers it.
    pub fn grant_needed(&self, size: usize) -> Result<Option<(usize, usize)>, AllocError> {
        let end = self
            .bytes
            .checked_add(size)
            .filter(|end| *end <= self.max)
            .ok_or(AllocError::TooLarge)?;
        if end <= self.granted {
            return Ok(None);
        }
        let desired = end.next_multiple_of(GcHeap::GRANT).min(self.max);
        Ok(Some((self.granted, desired)))
    }

    /// Records that the store agreed to `desired` bytes.
    pub fn grant(&mut self, desired: usize) {
        self.granted = self.granted.max(desired.min(self.max));
    }

    /// A zeroed object of `size` bytes (at least the header) with its
    /// header filled in. The grant must cover it (`grant_needed`).
    pub fn alloc(
        &mut self,
        size: usize,
        type_id: u32,
        kind: u32,
        length: u32,
    ) -> Result<NonNull<u8>, AllocError> {
        let size = size.max(GC_HEADER_SIZE as usize);
        if self.bytes + size > self.granted {
            return Err(AllocError::Refused);
        }
        let mut memory = vec![0u128; size.div_ceil(16)].into_boxed_slice();
        let base = memory.as_mut_ptr().cast::<u8>();
        // SAFETY: the header lies inside the fresh allocation, aligned.
        unsafe {
            base.add(gc_header::TYPE_ID as usize)
                .cast::<u32>()
                .write(type_id);
            base.add(gc_header::KIND as usize).cast::<u32>().write(kind);
            base.add(gc_header::LENGTH as usize)
                .cast::<u32>()
                .write(length);
        }
        self.objects.push(memory);
        self.bytes += size;
        Ok(NonNull::new(base).expect("a box is not null"))
    }
}

/// Whether an allocation may collect first.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Collect<'a> {
    /// It may: it runs in a builtin Wasm called through a GC allocation
    /// entry (`builtins`), which recorded the calling frame, so the stack
    /// maps of the Wasm frames give their roots. `roots` are references
    /// the builtin holds itself, outside any frame the walk reads.
    FromWasm {
        /// The builtin's own references.
        roots: &'a [usize],
    },
    /// It may not (constant expressions, evaluated by the runtime with
    /// their operands in a vector no collection would see).
    Never,
}

/// Allocates `size` bytes in `store`'s heap, asking the store to let the
/// heap grow first, and collecting first where `collect` allows when the
/// heap has grown past its trigger or the store refuses it more room.
pub(crate) fn alloc_object(
    store: &mut dyn crate::store::VMStore,
    size: usize,
    type_id: u32,
    kind: u32,
    length: u32,
    collect: Collect<'_>,
) -> Result<NonNull<u8>, AllocError> {
    let heap = store.gc_heap();
    let mut collected = false;
    if heap.stress || heap.bytes.saturating_add(size) > heap.next_collection {
        collected = collect_now(store, collect);
    }
    loop {
        let grant = match store.gc_heap().grant_needed(size) {
            Err(e) if collected => return Err(e),
            Err(_) => {
                collected = collect_now(store, collect);
                if !collected {
                    return Err(AllocError::TooLarge);
                }
                continue;
            }
            Ok(grant) => grant,
        };
        if let Some((current, desired)) = grant {
            if !store.memory_growing(current, desired, Some(GcHeap::DEFAULT_MAX)) {
                if !collected && collect_now(store, collect) {
                    collected = true;
                    continue;
                }
                return Err(AllocError::Refused);
            }
            store.gc_heap().grant(desired);
        }
        return store.gc_heap().alloc(size, type_id, kind, length);
    }
}

/// Collects `store`'s heap now if `collect` allows; whether it did.
fn collect_now(store: &mut dyn crate::store::VMStore, collect: Collect<'_>) -> bool {
    let Collect::FromWasm { roots } = collect else {
        return false;
    };
    let mut stack_roots = roots.to_vec();
    // SAFETY: `FromWasm` is only given by builtins entered through a GC
    // allocation entry, on this thread, while the call runs.
    if !unsafe { crate::traphandlers::wasm_stack_roots(&mut stack_roots) } {
        return false;
    }
    // SAFETY: the roots are the stack's references (by the stack maps),
    // the builtin's own, and the store's (the embedding layer's contract
    // for `VMStore::gc_roots`): every live object is reachable from them.
    unsafe { collector::collect(store, &stack_roots) };
    true
}

/// Writes the low `size` bytes of `value` at `dst`.
///
/// # Safety
/// `dst` must be valid for `size` bytes of writes, `size <= 16`.
pub(crate) unsafe fn write_storage(dst: *mut u8, value: &crate::vmcontext::ValRaw, size: usize) {
    // SAFETY: the caller's promise; a `ValRaw` has 16 bytes.
    unsafe { std::ptr::copy_nonoverlapping(value.bytes.as_ptr(), dst, size) }
}

/// A reference's raw bits that name a GC object (not null, an `i31` or a
/// host value).
pub fn is_object(raw: usize) -> bool {
    raw != 0 && raw & 3 == 0
}

/// The `externref` (and internal) encoding of host value `index`.
pub fn host_value_ref(index: usize) -> usize {
    ((index + 1) << 2) | 2
}

/// The host value index an encoded reference names, if it names one.
pub fn host_value_index(raw: usize) -> Option<usize> {
    (raw & 3 == 2).then(|| (raw >> 2) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_asks_before_it_grows_and_never_passes_its_maximum() {
        let mut heap = GcHeap::default();
        assert_eq!(heap.grant_needed(64), Ok(Some((0, GcHeap::GRANT))));
        assert_eq!(heap.alloc(64, 3, KIND_STRUCT, 0), Err(AllocError::Refused));
        heap.grant(GcHeap::GRANT);
        assert_eq!(heap.grant_needed(64), Ok(None));
        let obj = heap.alloc(64, 3, KIND_ARRAY, 7).unwrap();
        // SAFETY: a live object of this heap.
        unsafe {
            assert_eq!(*obj.as_ptr().cast::<u32>(), 3);
            assert_eq!(*obj.as_ptr().add(8).cast::<u32>(), 7);
            assert_eq!(*obj.as_ptr().add(20), 0);
        }
        assert_eq!(obj.as_ptr() as usize % 16, 0);
        assert_eq!(heap.grant_needed(usize::MAX), Err(AllocError::TooLarge));
        assert_eq!(
            heap.grant_needed(GcHeap::DEFAULT_MAX),
            Err(AllocError::TooLarge)
        );
        assert!(is_object(obj.as_ptr() as usize));
        assert!(!is_object(host_value_ref(0)));
        assert_eq!(host_value_index(host_value_ref(41)), Some(41));
        assert_eq!(host_value_index(0b101), None);
    }
}

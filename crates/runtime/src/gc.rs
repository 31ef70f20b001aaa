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
//! objects are not reclaimed yet: the heap is freed with its store.

use std::ptr::NonNull;

use hayate_environ::{GC_HEADER_SIZE, gc_header};

/// Object kinds, as the header's `KIND` word holds them.
pub const KIND_STRUCT: u32 = 0;
/// An array.
pub const KIND_ARRAY: u32 = 1;

/// The objects of one store.
#[derive(Debug)]
pub struct GcHeap {
    /// Each object's memory (16-aligned), owned until the store drops.
    objects: Vec<Box<[u128]>>,
    /// Bytes allocated.
    bytes: usize,
    /// Bytes the store agreed the heap may reach.
    granted: usize,
    max: usize,
}

impl Default for GcHeap {
    fn default() -> Self {
        GcHeap {
            objects: Vec::new(),
            bytes: 0,
            granted: 0,
            max: GcHeap::DEFAULT_MAX,
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

    /// Bytes allocated so far.
    pub fn bytes(&self) -> usize {
        self.bytes
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

/// Allocates `size` bytes in `store`'s heap, asking the store to let the
/// heap grow first.
pub(crate) fn alloc_object(
    store: &mut dyn crate::store::VMStore,
    size: usize,
    type_id: u32,
    kind: u32,
    length: u32,
) -> Result<NonNull<u8>, AllocError> {
    if let Some((current, desired)) = store.gc_heap().grant_needed(size)? {
        if !store.memory_growing(current, desired, Some(GcHeap::DEFAULT_MAX)) {
            return Err(AllocError::Refused);
        }
        store.gc_heap().grant(desired);
    }
    store.gc_heap().alloc(size, type_id, kind, length)
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

/// The builtins of the GC operators (see `hayate_environ::builtins`).
pub(crate) mod builtins {
    use std::ffi::c_void;

    use hayate_environ::{
        DataIndex, ElemIndex, GC_HEADER_SIZE, StorageType, Trap, TypeIndex, VMSharedTypeIndex,
        gc_header,
    };

    use super::{KIND_ARRAY, KIND_STRUCT};
    use crate::instance::Instance;
    use crate::store::VMStore;
    use crate::table::range;
    use crate::traphandlers::raise_trap;
    use crate::vmcontext::{VMContext, ValRaw};

    /// The largest array, in bytes of elements: one more byte than the heap
    /// may hold is already too large.
    const MAX_ARRAY_BYTES: u64 = super::GcHeap::DEFAULT_MAX as u64;

    /// # Safety
    /// `vmctx` must be the VMContext of a live instance running Wasm.
    unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a Instance {
        // SAFETY: the caller's promise.
        unsafe { &*Instance::from_vmctx(vmctx) }
    }

    /// # Safety
    /// As for `instance`; no other borrow of the store may be live.
    unsafe fn store<'a>(vmctx: *mut VMContext) -> &'a mut dyn VMStore {
        // SAFETY: the caller's promise.
        unsafe { &mut *instance(vmctx).store_ptr() }
    }

    /// Allocates `size` bytes in the caller's store, asking the store to
    /// let the heap grow first; traps with `AllocationTooLarge` if it may
    /// not.
    ///
    /// # Safety
    /// As for `store`; nothing on the caller's frames may need dropping.
    unsafe fn alloc(
        vmctx: *mut VMContext,
        size: usize,
        type_id: u32,
        kind: u32,
        length: u32,
    ) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe {
            match super::alloc_object(store(vmctx), size, type_id, kind, length) {
                Ok(ptr) => ptr.as_ptr(),
                Err(_) => raise_trap(Trap::AllocationTooLarge),
            }
        }
    }

    /// The element storage of module array type `ty` of the caller.
    fn element(instance: &Instance, ty: u32) -> StorageType {
        let info = &instance.module().info;
        info.types[TypeIndex::from_u32(ty)]
            .as_array()
            .expect("validated: an array type")
            .element
            .storage
    }

    /// The engine id of module type `ty` of the caller.
    fn type_id(instance: &Instance, ty: u32) -> u32 {
        instance.module().type_ids[ty as usize]
    }

    /// # Safety
    /// See `alloc`.
    pub(crate) unsafe extern "C" fn gc_alloc_struct(vmctx: *mut VMContext, ty: u32) -> *mut c_void {
        // SAFETY: per the builtin contract.
        unsafe {
            let instance = instance(vmctx);
            let st = instance.module().info.types[TypeIndex::from_u32(ty)]
                .as_struct()
                .expect("validated: a structure type");
            let (_, size) = st.layout();
            let id = type_id(instance, ty);
            alloc(vmctx, size as usize, id, KIND_STRUCT, 0).cast()
        }
    }

    /// A new zeroed array; traps if it is too large.
    ///
    /// # Safety
    /// See `alloc`.
    unsafe fn new_array(vmctx: *mut VMContext, ty: u32, length: u32) -> (*mut u8, usize) {
        // SAFETY: per the builtin contract.
        unsafe {
            let instance = instance(vmctx);
            let elem = element(instance, ty).byte_size() as u64;
            let bytes = u64::from(length) * elem;
            if bytes >= MAX_ARRAY_BYTES {
                raise_trap(Trap::AllocationTooLarge);
            }
            let id = type_id(instance, ty);
            let size = GC_HEADER_SIZE as usize + bytes as usize;
            (alloc(vmctx, size, id, KIND_ARRAY, length), elem as usize)
        }
    }

    /// # Safety
    /// See `alloc`.
    pub(crate) unsafe extern "C" fn gc_alloc_array(
        vmctx: *mut VMContext,
        ty: u32,
        length: u32,
    ) -> *mut c_void {
        // SAFETY: per the builtin contract.
        unsafe { new_array(vmctx, ty, length).0.cast() }
    }

    /// The element data and length of `array` (not null).
    ///
    /// # Safety
    /// `array` must be a live array object.
    unsafe fn data(array: *mut c_void) -> (*mut u8, u64) {
        // SAFETY: the caller's promise.
        unsafe {
            let base = array.cast::<u8>();
            let len = *base.add(gc_header::LENGTH as usize).cast::<u32>();
            (base.add(GC_HEADER_SIZE as usize), u64::from(len))
        }
    }

    /// The caller's data segment `data`, empty if dropped.
    fn data_bytes(instance: &Instance, data: u32) -> &[u8] {
        let index = DataIndex::from_u32(data);
        if instance.data_dropped(index) {
            &[]
        } else {
            &instance.module().info.data[index].data
        }
    }

    /// # Safety
    /// See `alloc`.
    pub(crate) unsafe extern "C" fn array_new_data(
        vmctx: *mut VMContext,
        ty: u32,
        data: u32,
        offset: u32,
        length: u32,
    ) -> *mut c_void {
        // SAFETY: per the builtin contract; the source range is checked.
        unsafe {
            let (size, bytes_len) = {
                let instance = instance(vmctx);
                let elem = element(instance, ty).byte_size() as u64;
                (elem, data_bytes(instance, data).len() as u64)
            };
            let Some(src) = range(u64::from(offset), u64::from(length) * size, bytes_len) else {
                raise_trap(Trap::MemoryOutOfBounds)
            };
            let (array, _) = new_array(vmctx, ty, length);
            let bytes = data_bytes(instance(vmctx), data);
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr().add(src.start),
                array.add(GC_HEADER_SIZE as usize),
                src.len(),
            );
            array.cast()
        }
    }

    /// The references `[offset, offset + length)` of element segment
    /// `elem`, or a trap.
    ///
    /// # Safety
    /// As for `instance`.
    unsafe fn elements(vmctx: *mut VMContext, elem: u32, offset: u32, length: u32) -> Vec<usize> {
        // SAFETY: per the contract.
        let items = unsafe {
            instance(vmctx).element_items(
                ElemIndex::from_u32(elem),
                u64::from(offset),
                u64::from(length),
            )
        };
        match items {
            Ok(Some(items)) => items.into_iter().map(|e| e.0 as usize).collect(),
            // SAFETY: nothing here needs dropping.
            Ok(None) => unsafe { raise_trap(Trap::TableOutOfBounds) },
            // SAFETY: as above.
            Err(trap) => unsafe { raise_trap(trap) },
        }
    }

    /// # Safety
    /// See `alloc`.
    pub(crate) unsafe extern "C" fn array_new_elem(
        vmctx: *mut VMContext,
        ty: u32,
        elem: u32,
        offset: u32,
        length: u32,
    ) -> *mut c_void {
        // SAFETY: per the builtin contract.
        unsafe {
            let refs = elements(vmctx, elem, offset, length);
            let (array, _) = new_array(vmctx, ty, length);
            let out = array.add(GC_HEADER_SIZE as usize).cast::<usize>();
            for (i, r) in refs.into_iter().enumerate() {
                out.add(i).write(r);
            }
            array.cast()
        }
    }

    /// # Safety
    /// `array` must be a live array of module type `ty` of the caller, and
    /// `value` a readable `ValRaw`.
    pub(crate) unsafe extern "C" fn array_fill(
        vmctx: *mut VMContext,
        ty: u32,
        array: *mut c_void,
        offset: u32,
        value: *mut c_void,
        length: u32,
    ) {
        // SAFETY: per the builtin contract; the range is checked.
        unsafe {
            let size = element(instance(vmctx), ty).byte_size() as usize;
            let (base, len) = data(array);
            let Some(r) = range(u64::from(offset), u64::from(length), len) else {
                raise_trap(Trap::ArrayOutOfBounds)
            };
            let value = (*value.cast::<ValRaw>()).bytes;
            for i in r {
                std::ptr::copy_nonoverlapping(value.as_ptr(), base.add(i * size), size);
            }
        }
    }

    /// # Safety
    /// `dst` and `src` must be live arrays of the caller's store with the
    /// same element storage as module type `ty`.
    pub(crate) unsafe extern "C" fn array_copy(
        vmctx: *mut VMContext,
        ty: u32,
        dst: *mut c_void,
        dst_offset: u32,
        src: *mut c_void,
        src_offset: u32,
        length: u32,
    ) {
        // SAFETY: per the builtin contract; both ranges are checked.
        unsafe {
            let size = element(instance(vmctx), ty).byte_size() as usize;
            let ((d, dlen), (s, slen)) = (data(dst), data(src));
            let n = u64::from(length);
            let (Some(dr), Some(sr)) = (
                range(u64::from(dst_offset), n, dlen),
                range(u64::from(src_offset), n, slen),
            ) else {
                raise_trap(Trap::ArrayOutOfBounds)
            };
            std::ptr::copy(
                s.add(sr.start * size),
                d.add(dr.start * size),
                sr.len() * size,
            );
        }
    }

    /// # Safety
    /// `array` must be a live array of module type `ty` of the caller.
    pub(crate) unsafe extern "C" fn array_init_data(
        vmctx: *mut VMContext,
        ty: u32,
        array: *mut c_void,
        offset: u32,
        data_index: u32,
        data_offset: u32,
        length: u32,
    ) {
        // SAFETY: per the builtin contract; both ranges are checked.
        unsafe {
            let instance = instance(vmctx);
            let size = element(instance, ty).byte_size() as u64;
            let bytes = data_bytes(instance, data_index);
            let (base, len) = data(array);
            let Some(dr) = range(u64::from(offset), u64::from(length), len) else {
                raise_trap(Trap::ArrayOutOfBounds)
            };
            let Some(sr) = range(
                u64::from(data_offset),
                u64::from(length) * size,
                bytes.len() as u64,
            ) else {
                raise_trap(Trap::MemoryOutOfBounds)
            };
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr().add(sr.start),
                base.add(dr.start * size as usize),
                sr.len(),
            );
        }
    }

    /// # Safety
    /// `array` must be a live array of module type `ty` of the caller.
    pub(crate) unsafe extern "C" fn array_init_elem(
        vmctx: *mut VMContext,
        ty: u32,
        array: *mut c_void,
        offset: u32,
        elem: u32,
        elem_offset: u32,
        length: u32,
    ) {
        let _ = ty;
        // SAFETY: per the builtin contract; both ranges are checked.
        unsafe {
            let (base, len) = data(array);
            let Some(dr) = range(u64::from(offset), u64::from(length), len) else {
                raise_trap(Trap::ArrayOutOfBounds)
            };
            let refs = elements(vmctx, elem, elem_offset, length);
            let out = base.cast::<usize>().add(dr.start);
            for (i, r) in refs.into_iter().enumerate() {
                out.add(i).write(r);
            }
        }
    }

    /// # Safety
    /// See the builtin contract.
    pub(crate) unsafe extern "C" fn gc_is_subtype(
        vmctx: *mut VMContext,
        actual: u32,
        expected: u32,
    ) -> u32 {
        // SAFETY: per the builtin contract.
        unsafe {
            let instance = instance(vmctx);
            let expected = VMSharedTypeIndex::from_u32(type_id(instance, expected));
            let store = &mut *instance.store_ptr();
            u32::from(store.is_subtype(VMSharedTypeIndex::from_u32(actual), expected))
        }
    }
}

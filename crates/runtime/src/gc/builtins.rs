//! The builtins of the GC operators (see `hayate_environ::builtins`).
//!
//! The five that allocate (and so may collect) are entered through a
//! recording entry ([`recording_entry!`]): a frame record pushed as a
//! wasm-to-host trampoline pushes one, and stored as the store's last
//! exit from Wasm (`VMRuntimeLimits::last_wasm_exit_fp`/`pc`), so that a
//! collection can walk the Wasm frames from the one that is allocating
//! and read their stack maps (`traphandlers::wasm_stack_roots`).

use std::ffi::c_void;

use hayate_environ::{
    DataIndex, ElemIndex, GC_HEADER_SIZE, StorageType, Trap, TypeIndex, VMSharedTypeIndex,
    gc_header,
};
#[cfg(target_arch = "x86_64")]
use hayate_environ::{VMOffsets, VMRuntimeLimitsOffsets};

use super::{KIND_ARRAY, KIND_STRUCT};
use crate::builtins::{caller_instance, caller_store};
use crate::instance::Instance;
use crate::table::range;
use crate::traphandlers::raise_trap;
use crate::vmcontext::{VMContext, ValRaw};

/// The largest array, in bytes of elements: one more byte than the heap
/// may hold is already too large.
const MAX_ARRAY_BYTES: u64 = super::GcHeap::DEFAULT_MAX as u64;

/// The calling instance, borrowed for one expression at a time.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance running Wasm.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a Instance {
    // SAFETY: the caller's promise.
    unsafe { &*caller_instance(vmctx) }
}

/// Defines builtin `$entry` of `$body`'s signature: it pushes a frame
/// record (the Wasm caller's frame pointer and the return address into
/// it, as any frame's), records it as the last exit from Wasm in the
/// store's `VMRuntimeLimits` (whose address the caller's vmctx, the first
/// argument, holds), and calls `$body` with the arguments untouched (in
/// registers: these builtins have at most six). Only `rax` and `r11`,
/// which no argument uses, are clobbered; the stack stays 16-aligned at
/// the call.
macro_rules! recording_entry {
    ($(#[$doc:meta])* $entry:ident => $body:ident ( $($arg:ident: $ty:ty),* ) -> $ret:ty) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// Only called by compiled code, with its vmctx, as the builtin
        /// table says.
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        pub(crate) unsafe extern "C" fn $entry(vmctx: *mut VMContext, $($arg: $ty),*) -> $ret {
            std::arch::naked_asm!(
                "push rbp",
                "mov rbp, rsp",
                "mov rax, [rdi + {limits}]",
                "mov [rax + {exit_fp}], rbp",
                "mov r11, [rbp + 8]",
                "mov [rax + {exit_pc}], r11",
                "call {body}",
                "pop rbp",
                "ret",
                limits = const VMOffsets::RUNTIME_LIMITS,
                exit_fp = const VMRuntimeLimitsOffsets::LAST_WASM_EXIT_FP,
                exit_pc = const VMRuntimeLimitsOffsets::LAST_WASM_EXIT_PC,
                body = sym $body,
            )
        }

        $(#[$doc])*
        ///
        /// # Safety
        /// Only called by compiled code, with its vmctx, as the builtin
        /// table says.
        #[cfg(not(target_arch = "x86_64"))]
        pub(crate) unsafe extern "C" fn $entry(vmctx: *mut VMContext, $($arg: $ty),*) -> $ret {
            // Hayate runs compiled code on x86-64 only.
            let _ = (vmctx, $($arg),*);
            std::process::abort()
        }
    };
}

recording_entry! {
    /// `struct.new` and `struct.new_default`.
    gc_alloc_struct => alloc_struct(ty: u32, size: u32) -> *mut c_void
}
recording_entry! {
    /// `array.new_default` and `array.new_fixed`.
    gc_alloc_array => alloc_array(ty: u32, length: u32) -> *mut c_void
}
recording_entry! {
    /// `array.new`.
    array_new => new_filled_array(ty: u32, length: u32, value: *mut c_void) -> *mut c_void
}
recording_entry! {
    /// `array.new_data`.
    array_new_data => new_array_from_data(ty: u32, data: u32, offset: u32, length: u32) -> *mut c_void
}
recording_entry! {
    /// `array.new_elem`.
    array_new_elem => new_array_from_elem(ty: u32, elem: u32, offset: u32, length: u32) -> *mut c_void
}

/// Allocates `size` bytes in the caller's store, asking the store to
/// let the heap grow first and collecting if needed, with `roots` the
/// references the builtin holds; traps with `AllocationTooLarge` if the
/// heap may not hold it.
///
/// # Safety
/// As for `store`; only from a builtin entered through a recording entry;
/// nothing on the caller's frames may need dropping.
unsafe fn alloc(
    vmctx: *mut VMContext,
    size: usize,
    type_id: u32,
    kind: u32,
    length: u32,
    roots: &[usize],
) -> *mut u8 {
    let collect = super::Collect::FromWasm { roots };
    // SAFETY: per the contract.
    unsafe {
        match super::alloc_object(caller_store(vmctx), size, type_id, kind, length, collect) {
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
unsafe extern "C" fn alloc_struct(vmctx: *mut VMContext, ty: u32, size: u32) -> *mut c_void {
    // SAFETY: per the builtin contract; `size` is the type's layout size
    // the compiler computed (at least the header, which `alloc` ensures).
    unsafe {
        let id = type_id(instance(vmctx), ty);
        alloc(vmctx, size as usize, id, KIND_STRUCT, 0, &[]).cast()
    }
}

/// A new zeroed array, with `roots` the references the caller holds;
/// traps if it is too large.
///
/// # Safety
/// See `alloc`.
unsafe fn new_array(
    vmctx: *mut VMContext,
    ty: u32,
    length: u32,
    roots: &[usize],
) -> (*mut u8, usize) {
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
        (
            alloc(vmctx, size, id, KIND_ARRAY, length, roots),
            elem as usize,
        )
    }
}

/// # Safety
/// See `alloc`.
unsafe extern "C" fn alloc_array(vmctx: *mut VMContext, ty: u32, length: u32) -> *mut c_void {
    // SAFETY: per the builtin contract.
    unsafe { new_array(vmctx, ty, length, &[]).0.cast() }
}

/// # Safety
/// See `alloc`; `value` must be a readable `ValRaw`.
unsafe extern "C" fn new_filled_array(
    vmctx: *mut VMContext,
    ty: u32,
    length: u32,
    value: *mut c_void,
) -> *mut c_void {
    // SAFETY: per the builtin contract; the elements lie inside the new
    // array.
    unsafe {
        let value = *value.cast::<ValRaw>();
        // The value is only in the caller's argument slot and here: a
        // root while the array is allocated (any word: only an object's
        // address counts).
        let word = usize::from_ne_bytes(value.bytes[..8].try_into().expect("8 bytes"));
        let (array, size) = new_array(vmctx, ty, length, &[word]);
        let data = array.add(GC_HEADER_SIZE as usize);
        if value.bytes[..size].iter().any(|b| *b != 0) {
            for i in 0..length as usize {
                std::ptr::copy_nonoverlapping(value.bytes.as_ptr(), data.add(i * size), size);
            }
        }
        array.cast()
    }
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
unsafe extern "C" fn new_array_from_data(
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
        let (array, _) = new_array(vmctx, ty, length, &[]);
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
unsafe extern "C" fn new_array_from_elem(
    vmctx: *mut VMContext,
    ty: u32,
    elem: u32,
    offset: u32,
    length: u32,
) -> *mut c_void {
    // SAFETY: per the builtin contract.
    unsafe {
        let refs = elements(vmctx, elem, offset, length);
        let (array, _) = new_array(vmctx, ty, length, &refs);
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

//! The builtins compiled code calls (see `hayate_environ::builtins`): one
//! `extern "C"` function per `Builtin`, gathered in the `BUILTINS` table
//! whose address every VMContext holds. Builtins never unwind: a failure is
//! reported by returning 0 and the compiled caller traps. The one exception
//! is a store's error for a failed `memory.grow`/`table.grow` (whose -1 the
//! compiled code does not check): those builtins leave Wasm with
//! `traphandlers::raise_host_error`, as a trap would.

use std::ffi::c_void;

use crate::instance::{ExportMemory, ExportTable, Instance};
use crate::store::VMStore;
use crate::table::{TableElement, range};
use crate::vmcontext::VMContext;

/// The Rust type of a builtin's parameter or result ([`AbiType`] by name).
///
/// [`AbiType`]: hayate_environ::builtins::AbiType
macro_rules! abi_type {
    (Pointer) => { *mut c_void };
    (I8) => { u8 };
    (I32) => { u32 };
    (I64) => { u64 };
    (Void) => { () };
}

/// The builtin table and the static every VMContext points to, expanded
/// from `hayate_environ::for_each_builtin!`: one field per builtin, in
/// `Builtin::ALL` order, typed by its signature in that list, so a builtin
/// function whose signature disagrees with the list does not compile.
macro_rules! builtin_table {
    ($(
        $(#[$doc:meta])*
        $name:ident $snake:ident ( $($param:ident),* ) -> $ret:ident $(, traps $trap:ident)?;
    )*) => {
        /// The builtin table, in `Builtin::ALL` order.
        #[repr(C)]
        pub struct BuiltinTable {
            $( $snake: unsafe extern "C" fn(*mut VMContext $(, abi_type!($param))*) -> abi_type!($ret), )*
        }

        /// The builtin table every VMContext points to.
        pub static BUILTINS: BuiltinTable = BuiltinTable { $( $snake, )* };

        /// Each builtin with the offset of its field in [`BuiltinTable`].
        #[cfg(test)]
        const SLOTS: &[(hayate_environ::builtins::Builtin, usize)] = &[
            $( (hayate_environ::builtins::Builtin::$name, std::mem::offset_of!(BuiltinTable, $snake)), )*
        ];
    };
}

hayate_environ::for_each_builtin!(builtin_table);

/// Grows `memory` by `delta` pages after asking the store; returns the old
/// size in pages, or `None`. Keeps the definition compiled code reads current.
/// A growth the store allowed that then fails is reported to the store
/// (`VMStore::memory_grow_failed`), whose error is returned.
///
/// # Safety
/// `memory` must point to a live memory and definition of `store`.
pub unsafe fn grow_memory(
    memory: ExportMemory,
    store: &mut dyn VMStore,
    delta: u64,
) -> Result<Option<u64>, crate::HostError> {
    // SAFETY: guaranteed by the caller.
    let mem = unsafe { &mut *memory.memory };
    let current = mem.byte_size();
    let desired = delta
        .checked_mul(hayate_environ::WASM_PAGE_SIZE)
        .and_then(|d| d.checked_add(current as u64))
        .and_then(|d| usize::try_from(d).ok());
    let maximum = mem.maximum_byte_size();
    if delta != 0 {
        let Some(desired) = desired else {
            return Ok(None);
        };
        if !store.memory_growing(current, desired, maximum) {
            return Ok(None);
        }
    }
    let Some(old) = mem.grow(delta) else {
        let past_maximum = desired.is_none_or(|d| maximum.is_some_and(|m| d > m));
        store.memory_grow_failed(if past_maximum {
            "memory maximum size exceeded"
        } else {
            "the system refused the memory"
        })?;
        return Ok(None);
    };
    // SAFETY: the definition is live (guaranteed by the caller).
    unsafe { *memory.definition = mem.vmmemory() };
    Ok(Some(old))
}

/// Grows `table` by `delta` elements after asking the store; returns the old
/// size, or `None`. Keeps the definition compiled code reads current.
/// A growth the store allowed that then fails is reported to the store
/// (`VMStore::table_grow_failed`), whose error is returned.
///
/// # Safety
/// `table` must point to a live table and definition of `store`.
pub unsafe fn grow_table(
    table: ExportTable,
    store: &mut dyn VMStore,
    delta: u64,
    init: TableElement,
) -> Result<Option<u64>, crate::HostError> {
    // SAFETY: guaranteed by the caller.
    let t = unsafe { &mut *table.table };
    let current = t.size();
    if delta != 0 {
        let Some(desired) = current.checked_add(delta) else {
            return Ok(None);
        };
        if !store.table_growing(current, desired, t.ty().maximum) {
            return Ok(None);
        }
    }
    let Some(old) = t.grow(delta, init) else {
        store.table_grow_failed("table maximum size exceeded")?;
        return Ok(None);
    };
    // SAFETY: the definition is live (guaranteed by the caller).
    unsafe { *table.definition = t.vmtable() };
    Ok(Some(old))
}

/// The instance and store of a builtin's caller.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance currently running Wasm.
unsafe fn caller<'a>(vmctx: *mut VMContext) -> (&'a mut Instance, &'a mut dyn VMStore) {
    // SAFETY: guaranteed by the caller; the store was lent to this Wasm call.
    unsafe {
        let instance = Instance::from_vmctx(vmctx);
        let store = &mut *instance.store_ptr();
        (instance, store)
    }
}

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code of a live instance.
    unsafe {
        let (instance, store) = caller(vmctx);
        match grow_memory(instance.memory(memory), store, delta) {
            Ok(old) => old.unwrap_or(u64::MAX),
            // Nothing on this frame needs dropping: the error moves on.
            Err(error) => crate::traphandlers::raise_host_error(error),
        }
    }
}

/// A memory's bytes as a raw slice pointer and length.
///
/// # Safety
/// `memory` must be live.
unsafe fn memory_bytes(memory: ExportMemory) -> (*mut u8, u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { ((*memory.memory).base(), (*memory.memory).byte_size() as u64) }
}

unsafe extern "C" fn memory_fill(
    vmctx: *mut VMContext,
    mem: u32,
    dst: u64,
    val: u32,
    len: u64,
) -> u8 {
    // SAFETY: called by compiled code; the range is checked before writing.
    unsafe {
        let (instance, _) = caller(vmctx);
        let (base, size) = memory_bytes(instance.memory(mem));
        let Some(r) = range(dst, len, size) else {
            return 0;
        };
        std::ptr::write_bytes(base.add(r.start), val as u8, r.len());
    }
    1
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> u8 {
    // SAFETY: called by compiled code; both ranges are checked before the
    // copy, which allows overlap.
    unsafe {
        let (instance, _) = caller(vmctx);
        let (dst_base, dst_size) = memory_bytes(instance.memory(dst_mem));
        let (src_base, src_size) = memory_bytes(instance.memory(src_mem));
        let (Some(d), Some(s)) = (range(dst, len, dst_size), range(src, len, src_size)) else {
            return 0;
        };
        std::ptr::copy(src_base.add(s.start), dst_base.add(d.start), d.len());
    }
    1
}

unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u8 {
    // SAFETY: called by compiled code; both ranges are checked first.
    unsafe {
        let (instance, _) = caller(vmctx);
        let module = instance.module().clone();
        let bytes: &[u8] = if instance.data_dropped(data) {
            &[]
        } else {
            &module.info.data[data as usize].data
        };
        let (base, size) = memory_bytes(instance.memory(mem));
        let (Some(d), Some(s)) = (
            range(dst, len as u64, size),
            range(src as u64, len as u64, bytes.len() as u64),
        ) else {
            return 0;
        };
        std::ptr::copy_nonoverlapping(bytes.as_ptr().add(s.start), base.add(d.start), d.len());
    }
    1
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: called by compiled code of a live instance.
    unsafe { caller(vmctx).0.drop_data(data) }
}

unsafe extern "C" fn table_grow(
    vmctx: *mut VMContext,
    table: u32,
    delta: u32,
    init: *mut c_void,
) -> u32 {
    // SAFETY: called by compiled code of a live instance.
    unsafe {
        let (instance, store) = caller(vmctx);
        let table = instance.table(table);
        match grow_table(table, store, delta as u64, TableElement(init)) {
            Ok(old) => old.map_or(u32::MAX, |old| old as u32),
            // Nothing on this frame needs dropping: the error moves on.
            Err(error) => crate::traphandlers::raise_host_error(error),
        }
    }
}

unsafe extern "C" fn table_fill(
    vmctx: *mut VMContext,
    table: u32,
    dst: u32,
    val: *mut c_void,
    len: u32,
) -> u8 {
    // SAFETY: called by compiled code of a live instance.
    unsafe {
        let (instance, _) = caller(vmctx);
        (*instance.table(table).table).fill(dst as u64, TableElement(val), len as u64) as u8
    }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u8 {
    // SAFETY: called by compiled code of a live instance; when the tables
    // differ they are distinct objects, so the two borrows do not overlap.
    unsafe {
        let (instance, _) = caller(vmctx);
        let d = instance.table(dst_table).table;
        let s = instance.table(src_table).table;
        if d == s {
            return (*d).copy_within(dst as u64, src as u64, len as u64) as u8;
        }
        (*d).copy_from(dst as u64, &mut *s, src as u64, len as u64) as u8
    }
}

unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u8 {
    // SAFETY: called by compiled code of a live instance.
    unsafe {
        let (instance, _) = caller(vmctx);
        let Some(items) = instance.element_items(elem, src as u64, len as u64) else {
            return 0;
        };
        (*instance.table(table).table).init(dst as u64, &items) as u8
    }
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: called by compiled code of a live instance.
    unsafe { caller(vmctx).0.drop_element(elem) }
}

unsafe extern "C" fn table_get_lazy_init_funcref(
    vmctx: *mut VMContext,
    table: u32,
    index: u32,
) -> *mut c_void {
    // SAFETY: called by compiled code of a live instance, after checking
    // the index against the table's size.
    unsafe {
        let (instance, _) = caller(vmctx);
        (*instance.table(table).table)
            .get(u64::from(index))
            .map_or(std::ptr::null_mut(), |e| e.0)
    }
}

unsafe extern "C" fn out_of_fuel(vmctx: *mut VMContext) -> u8 {
    // SAFETY: called by compiled code of a live instance.
    let (_, store) = unsafe { caller(vmctx) };
    store.out_of_fuel() as u8
}

unsafe extern "C" fn epoch_deadline(vmctx: *mut VMContext) -> u8 {
    // SAFETY: called by compiled code of a live instance.
    let (_, store) = unsafe { caller(vmctx) };
    match store.epoch_deadline_reached() {
        Ok(keep_going) => keep_going as u8,
        Err(error) => {
            crate::traphandlers::set_pending_host_error(error);
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::builtins::Builtin;

    #[test]
    fn table_matches_builtin_order() {
        assert_eq!(std::mem::size_of::<BuiltinTable>(), Builtin::ALL.len() * 8);
        assert_eq!(SLOTS.len(), Builtin::ALL.len());
        for (&(builtin, offset), &expected) in SLOTS.iter().zip(Builtin::ALL) {
            assert_eq!(builtin, expected);
            assert_eq!(
                offset,
                builtin.table_offset() as usize,
                "{}",
                builtin.name()
            );
        }
    }
}

//! The builtins compiled code calls (see `hayate_environ::builtins`): one
//! `extern "C"` function per `Builtin`, gathered in the `BUILTINS` table
//! whose address every VMContext holds. Builtins never unwind: a failure is
//! reported by returning 0 and the compiled caller traps. The one exception
//! is a store's error for a failed `memory.grow`/`table.grow` (whose -1 the
//! compiled code does not check): those builtins leave Wasm with
//! `traphandlers::raise_host_error`, as a trap would.

use std::ffi::c_void;

use hayate_environ::{
    DataIndex, DefinedFuncIndex, ElemIndex, FuncIndex, MemoryIndex, TableIndex, TagIndex,
};

use crate::exceptions::VMException;
use crate::gc::builtins::{
    array_copy, array_fill, array_init_data, array_init_elem, array_new, array_new_data,
    array_new_elem, gc_alloc_array, gc_alloc_struct, gc_is_subtype,
};
use crate::instance::{ExportMemory, ExportTable, Instance};
use crate::store::VMStore;
use crate::table::{TableElement, range};
use crate::vmcontext::{VMContext, ValRaw};

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
/// The memory is borrowed only briefly, before and after the store is
/// asked, never while the store (which owns it) runs.
///
/// # Safety
/// `memory` must point to a live memory and definition of `store`, and
/// nothing else may borrow that memory during the call.
pub unsafe fn grow_memory(
    memory: ExportMemory,
    store: &mut dyn VMStore,
    delta: u64,
) -> Result<Option<u64>, crate::HostError> {
    // SAFETY: the memory is live (guaranteed by the caller); this shared
    // borrow ends with the statement.
    let (current, maximum) = unsafe {
        let mem = &*memory.memory;
        (mem.byte_size(), mem.maximum_byte_size())
    };
    let desired = delta
        .checked_mul(hayate_environ::WASM_PAGE_SIZE)
        .and_then(|d| d.checked_add(current as u64))
        .and_then(|d| usize::try_from(d).ok());
    if delta != 0 {
        let Some(desired) = desired else {
            return Ok(None);
        };
        if !store.memory_growing(current, desired, maximum) {
            return Ok(None);
        }
    }
    // SAFETY: as above; the store's up-call has returned, so this is the
    // only borrow of the memory, and it ends with the statement.
    let grown = unsafe { (*memory.memory).grow(delta) };
    let Some(old) = grown else {
        let past_maximum = desired.is_none_or(|d| maximum.is_some_and(|m| d > m));
        store.memory_grow_failed(if past_maximum {
            "memory maximum size exceeded"
        } else {
            "the system refused the memory"
        })?;
        return Ok(None);
    };
    // SAFETY: the memory and its definition are live (guaranteed by the
    // caller), and no other borrow of them is.
    unsafe { *memory.definition = (*memory.memory).vmmemory() };
    Ok(Some(old))
}

/// Grows `table` by `delta` elements after asking the store; returns the old
/// size, or `None`. Keeps the definition compiled code reads current.
/// A growth the store allowed that then fails is reported to the store
/// (`VMStore::table_grow_failed`), whose error is returned.
///
/// The table is borrowed only briefly, before and after the store is
/// asked, never while the store (which owns it) runs.
///
/// # Safety
/// `table` must point to a live table and definition of `store`, and
/// nothing else may borrow that table during the call.
pub unsafe fn grow_table(
    table: ExportTable,
    store: &mut dyn VMStore,
    delta: u64,
    init: TableElement,
) -> Result<Option<u64>, crate::HostError> {
    // SAFETY: the table is live (guaranteed by the caller); this shared
    // borrow ends with the statement.
    let (current, maximum) = unsafe {
        let t = &*table.table;
        (t.size(), t.ty().maximum)
    };
    if delta != 0 {
        let Some(desired) = current.checked_add(delta) else {
            return Ok(None);
        };
        if !store.table_growing(current, desired, maximum) {
            return Ok(None);
        }
    }
    // SAFETY: as above; the store's up-call has returned, so this is the
    // only borrow of the table, and it ends with the statement.
    let grown = unsafe { (*table.table).grow(delta, init) };
    let Some(old) = grown else {
        store.table_grow_failed("table maximum size exceeded")?;
        return Ok(None);
    };
    // SAFETY: the table and its definition are live (guaranteed by the
    // caller), and no other borrow of them is.
    unsafe { *table.definition = (*table.table).vmtable() };
    Ok(Some(old))
}

// How builtins reach their caller. A builtin gets the caller's VMContext;
// the instance behind it is owned by the store behind it. So that no two
// aliasing `&mut` are ever live, a builtin holds the instance only as a
// raw pointer (`caller_instance`) and borrows it for one expression at a
// time, and borrows the store (`caller_store`) only after every instance
// borrow has ended: the store's up-calls may reach the instance again.
//
// Every builtin below has the same contract:
//
// # Safety
// Called only by compiled code, with `vmctx` the VMContext of a live
// instance currently running Wasm with its store lent to the call, and
// with indices the module validated (segment, memory and table indices in
// range). Offsets and lengths are checked here.

/// The instance whose compiled code called a builtin, as a raw pointer:
/// borrow it for one expression at a time.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance.
#[inline(always)]
pub(crate) unsafe fn caller_instance(vmctx: *mut VMContext) -> *mut Instance {
    // SAFETY: guaranteed by the caller.
    unsafe { Instance::from_vmctx(vmctx) }
}

/// The store of a builtin's caller, borrowed mutably. The instance is
/// borrowed (shared) only to read the store pointer, and that borrow ends
/// before this returns.
///
/// # Safety
/// `vmctx` must be the VMContext of a live instance currently running
/// Wasm, whose store was lent to that call; no borrow of the instance may
/// be live while the returned one is, and `'a` must not outlive the call.
#[inline(always)]
pub(crate) unsafe fn caller_store<'a>(vmctx: *mut VMContext) -> &'a mut dyn VMStore {
    // SAFETY: guaranteed by the caller; the store outlives its instances
    // and nothing else borrows it while Wasm runs.
    unsafe { &mut *(*Instance::from_vmctx(vmctx)).store_ptr() }
}

/// `memory.grow`: the old size in pages, or `u64::MAX` if the memory
/// cannot grow. A store's error leaves Wasm with it.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    // SAFETY: per the builtin contract; the instance borrow ends before the
    // store is borrowed, and the memory is borrowed by `grow_memory` only
    // while the store is not running.
    unsafe {
        let memory = (*caller_instance(vmctx)).memory(MemoryIndex::from_u32(memory));
        match grow_memory(memory, caller_store(vmctx), delta) {
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

/// `memory.fill`: 1, or 0 (trap) if the range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn memory_fill(
    vmctx: *mut VMContext,
    mem: u32,
    dst: u64,
    val: u32,
    len: u64,
) -> u8 {
    // SAFETY: per the builtin contract; the range is checked before writing.
    unsafe {
        let (base, size) =
            memory_bytes((*caller_instance(vmctx)).memory(MemoryIndex::from_u32(mem)));
        let Some(r) = range(dst, len, size) else {
            return 0;
        };
        std::ptr::write_bytes(base.add(r.start), val as u8, r.len());
    }
    1
}

/// `memory.copy`: 1, or 0 (trap) if a range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> u8 {
    // SAFETY: per the builtin contract; both ranges are checked before the
    // copy, which allows overlap.
    unsafe {
        let instance = caller_instance(vmctx);
        let (dst_base, dst_size) = memory_bytes((*instance).memory(MemoryIndex::from_u32(dst_mem)));
        let (src_base, src_size) = memory_bytes((*instance).memory(MemoryIndex::from_u32(src_mem)));
        let (Some(d), Some(s)) = (range(dst, len, dst_size), range(src, len, src_size)) else {
            return 0;
        };
        std::ptr::copy(src_base.add(s.start), dst_base.add(d.start), d.len());
    }
    1
}

/// `memory.init`: 1, or 0 (trap) if a range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u8 {
    // SAFETY: per the builtin contract; both ranges are checked first. The
    // segment's bytes belong to the module (shared, immutable), not to the
    // instance, so they stay valid across the instance borrows.
    unsafe {
        let instance = caller_instance(vmctx);
        let module = (*instance).module().clone();
        let bytes: &[u8] = if (*instance).data_dropped(DataIndex::from_u32(data)) {
            &[]
        } else {
            &module.info.data[DataIndex::from_u32(data)].data
        };
        let (base, size) = memory_bytes((*instance).memory(MemoryIndex::from_u32(mem)));
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

/// `data.drop`.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: per the builtin contract.
    unsafe { (*caller_instance(vmctx)).drop_data(DataIndex::from_u32(data)) }
}

/// `table.grow`: the old size, or `u32::MAX` if the table cannot grow. A
/// store's error leaves Wasm with it.
///
/// # Safety
/// See the contract above `caller_instance`; `init` is a valid element of
/// the table's type.
unsafe extern "C" fn table_grow(
    vmctx: *mut VMContext,
    table: u32,
    delta: u64,
    init: *mut c_void,
) -> u64 {
    // SAFETY: per the builtin contract; the instance borrow ends before the
    // store is borrowed, and the table is borrowed by `grow_table` only
    // while the store is not running.
    unsafe {
        let table = (*caller_instance(vmctx)).table(TableIndex::from_u32(table));
        match grow_table(table, caller_store(vmctx), delta, TableElement(init)) {
            Ok(old) => old.unwrap_or(u64::MAX),
            // Nothing on this frame needs dropping: the error moves on.
            Err(error) => crate::traphandlers::raise_host_error(error),
        }
    }
}

/// `table.fill`: 1, or 0 (trap) if the range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`; `val` is a valid element of
/// the table's type.
unsafe extern "C" fn table_fill(
    vmctx: *mut VMContext,
    table: u32,
    dst: u64,
    val: *mut c_void,
    len: u64,
) -> u8 {
    // SAFETY: per the builtin contract; the table lives outside the
    // instance's own bytes and nothing else borrows it meanwhile.
    unsafe {
        let table = (*caller_instance(vmctx))
            .table(TableIndex::from_u32(table))
            .table;
        (*table).fill(dst, TableElement(val), len) as u8
    }
}

/// `table.copy`: 1, or 0 (trap) if a range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u8 {
    // SAFETY: per the builtin contract; when the tables differ they are
    // distinct objects, so the two borrows do not overlap.
    unsafe {
        let instance = caller_instance(vmctx);
        let d = (*instance).table(TableIndex::from_u32(dst_table)).table;
        let s = (*instance).table(TableIndex::from_u32(src_table)).table;
        if d == s {
            return (*d).copy_within(dst, src, len) as u8;
        }
        (*d).copy_from(dst, &mut *s, src, len) as u8
    }
}

/// `table.init`: 1, or 0 (trap) if a range is out of bounds.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u8 {
    // SAFETY: per the builtin contract; the instance is borrowed once to
    // evaluate the items and again, after that borrow ended, for the table.
    unsafe {
        let instance = caller_instance(vmctx);
        let items =
            match (*instance).element_items(ElemIndex::from_u32(elem), src as u64, len as u64) {
                Ok(Some(items)) => items,
                Ok(None) => return 0,
                Err(trap) => crate::traphandlers::raise_trap(trap),
            };
        let table = (*instance).table(TableIndex::from_u32(table)).table;
        (*table).init(dst, &items) as u8
    }
}

/// `elem.drop`.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: per the builtin contract.
    unsafe { (*caller_instance(vmctx)).drop_element(ElemIndex::from_u32(elem)) }
}

/// A lazily initialised funcref table's element `index` (initialising it
/// on first use); null for a null reference.
///
/// # Safety
/// See the contract above `caller_instance`; compiled code checked
/// `index` against the table's size.
unsafe extern "C" fn table_get_lazy_init_funcref(
    vmctx: *mut VMContext,
    table: u32,
    index: u32,
) -> *mut c_void {
    // SAFETY: per the builtin contract.
    unsafe {
        let table = (*caller_instance(vmctx))
            .table(TableIndex::from_u32(table))
            .table;
        (*table)
            .get(u64::from(index))
            .map_or(std::ptr::null_mut(), |e| e.0)
    }
}

/// `ref.func` of defined function `func` whose reference is not filled in
/// yet: fills it in and returns it.
///
/// # Safety
/// See the contract above `caller_instance`; `func` is a defined function
/// of the module (the compiler checked).
unsafe extern "C" fn ref_func(vmctx: *mut VMContext, func: u32) -> *mut c_void {
    // SAFETY: per the builtin contract.
    unsafe { (*caller_instance(vmctx)).func_ref(FuncIndex::from_u32(func)) }.cast()
}

/// Lazy compilation failed: the error goes to the host, the caller traps.
#[cold]
fn lazy_compilation_failed(error: String) -> *mut c_void {
    crate::traphandlers::set_pending_host_error(Box::new(format!(
        "lazy compilation failed: {error}"
    )));
    std::ptr::null_mut()
}

/// Compiles defined function `func` of the caller's module (lazy
/// compilation) and returns its entry; null on failure.
///
/// # Safety
/// See the contract above `caller_instance`; `func` is a defined function
/// of the module (the compiler checked).
unsafe extern "C" fn lazy_compile(vmctx: *mut VMContext, func: u32) -> *mut c_void {
    // SAFETY: per the builtin contract. The module is kept alive by this
    // clone while compiling, without borrowing the instance.
    let module = unsafe { (*caller_instance(vmctx)).module().clone() };
    let Some(lazy) = &module.lazy else {
        return lazy_compilation_failed("the module is not compiled lazily".into());
    };
    match lazy.compile(DefinedFuncIndex::from_u32(func)) {
        Ok(entry) => entry.cast_mut().cast(),
        Err(e) => lazy_compilation_failed(e),
    }
}

/// Compiles the function of reference `func_ref`, whose `wasm_call` is
/// null, fills in its entries and returns `wasm_call`; null on failure.
///
/// # Safety
/// See the contract above `caller_instance`; `func_ref` is a live,
/// filled-in function reference loaded from a table.
unsafe extern "C" fn lazy_compile_func_ref(
    _vmctx: *mut VMContext,
    func_ref: *mut c_void,
) -> *mut c_void {
    let func_ref = func_ref.cast::<crate::vmcontext::VMFuncRef>();
    // SAFETY: per the builtin contract; the reference's owner is alive
    // (tables keep their elements' instances alive) and nothing else uses
    // the reference during the call.
    match unsafe { crate::lazy::ensure_compiled(func_ref) } {
        // SAFETY: as above.
        Ok(()) => unsafe { (*func_ref).wasm_call.cast_mut().cast() },
        Err(e) => lazy_compilation_failed(e),
    }
}

/// Fuel ran out: 1 to continue (the store added fuel), 0 to trap.
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn out_of_fuel(vmctx: *mut VMContext) -> u8 {
    // SAFETY: per the builtin contract; no instance borrow is live.
    let store = unsafe { caller_store(vmctx) };
    store.out_of_fuel() as u8
}

/// The epoch deadline was reached: 1 to continue, 0 to trap (with the
/// store's error pending, if it returned one).
///
/// # Safety
/// See the contract above `caller_instance`.
unsafe extern "C" fn epoch_deadline(vmctx: *mut VMContext) -> u8 {
    // SAFETY: per the builtin contract; no instance borrow is live.
    let store = unsafe { caller_store(vmctx) };
    match store.epoch_deadline_reached() {
        Ok(keep_going) => keep_going as u8,
        Err(error) => {
            crate::traphandlers::set_pending_host_error(error);
            0
        }
    }
}

/// `throw`'s new exception: of tag `tag` of the calling instance, with the
/// tag's parameter count of values read from `values`.
///
/// # Safety
/// See the contract above `caller_instance`; `values` must hold as many
/// values as the tag's type has parameters.
unsafe extern "C" fn exn_new(vmctx: *mut VMContext, tag: u32, values: *mut c_void) -> *mut c_void {
    // SAFETY: per the builtin contract; the instance borrow ends before the
    // store is borrowed.
    unsafe {
        let (tag_def, len) = {
            let instance = &*caller_instance(vmctx);
            let tag = TagIndex::from_u32(tag);
            let info = &instance.module().info;
            (
                instance.tag(tag),
                info.signature(info.tags[tag]).params.len(),
            )
        };
        let payload = std::slice::from_raw_parts(values.cast::<ValRaw>(), len);
        match caller_store(vmctx).exceptions().alloc(tag_def, payload) {
            Ok(exn) => exn.as_ptr().cast(),
            // Nothing on this frame needs dropping: the error moves on.
            Err(e) => crate::traphandlers::raise_host_error(Box::new(e.to_string())),
        }
    }
}

/// Throws `exn` from the frame at `fp`; never returns.
///
/// # Safety
/// See the contract above `caller_instance`; `exn` must be a live
/// exception of the caller's store and `fp` the calling frame's pointer.
unsafe extern "C" fn throw(_vmctx: *mut VMContext, exn: *mut c_void, fp: *mut c_void) {
    let Some(exn) = std::ptr::NonNull::new(exn.cast::<VMException>()) else {
        // Compiled code checks for null before it throws.
        std::process::abort()
    };
    // SAFETY: per the builtin contract, nothing on this frame needs
    // dropping.
    unsafe { crate::traphandlers::throw(exn, fp as usize) }
}

/// Gives exception `exn` back to the store unless it escaped.
///
/// # Safety
/// See the contract above `caller_instance`; `exn` must be an exception of
/// the caller's store that the caller no longer uses.
unsafe extern "C" fn exn_release(vmctx: *mut VMContext, exn: *mut c_void) {
    if let Some(exn) = std::ptr::NonNull::new(exn.cast::<VMException>()) {
        // SAFETY: per the builtin contract.
        unsafe { caller_store(vmctx).exceptions().release(exn) }
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

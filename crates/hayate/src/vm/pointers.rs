//! The pointer wrappers behind the public handles: `FuncRefPtr`,
//! `MemoryPtr`, `TablePtr`, `GlobalPtr`, and the host-created memories and
//! tables a store owns. They are the only way this crate dereferences what
//! a handle points to, always through a borrow of the owning store.

use std::ffi::c_void;
use std::ptr::NonNull;

use hayate_environ::{MemoryType, VMSharedTypeIndex};
use hayate_runtime::memory::LinearMemory;
use hayate_runtime::{
    ExportMemory, ExportTable, TableElement, VMFuncRef, VMGlobalDefinition, VMMemoryDefinition,
    VMStore, VMTagDefinition, ValRaw,
};

use super::calls::host_error;
use super::instantiate::memory_config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::{StoreId, StoreInner, StoreOpaque};

/// A pointer to a live `VMFuncRef` owned by some store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FuncRefPtr(NonNull<VMFuncRef>);

// SAFETY: the pointer is only dereferenced through a borrow of its store.
unsafe impl Send for FuncRefPtr {}
// SAFETY: as above.
unsafe impl Sync for FuncRefPtr {}

impl FuncRefPtr {
    pub(crate) fn new(ptr: *mut VMFuncRef) -> Option<FuncRefPtr> {
        NonNull::new(ptr).map(FuncRefPtr)
    }

    pub(crate) fn from_raw(raw: *mut c_void) -> Option<FuncRefPtr> {
        FuncRefPtr::new(raw.cast())
    }

    /// The function reference, for the runtime.
    pub(super) fn as_ptr(self) -> *mut VMFuncRef {
        self.0.as_ptr()
    }

    pub(crate) fn as_raw(self) -> *mut c_void {
        self.0.as_ptr().cast()
    }

    /// The engine-wide id of the function's signature. `owner` is the
    /// store the handle records; `store` must be it (checked).
    #[track_caller]
    #[inline]
    pub(crate) fn type_id(self, owner: StoreId, store: &StoreOpaque) -> VMSharedTypeIndex {
        check_owner(store, owner, "function");
        // SAFETY: the function reference is live while its store is, which
        // is borrowed here.
        unsafe { self.0.as_ref().shared_type() }
    }

    /// Gives a host function a Wasm-convention entry so it can be called
    /// through a table, using the engine's trampoline for its type. `owner`
    /// is the store the handle records; `store` must be it (checked).
    #[track_caller]
    pub(crate) fn ensure_wasm_call(self, owner: StoreId, store: &StoreOpaque) -> Result<()> {
        check_owner(store, owner, "function");
        let engine = &store.engine;
        // SAFETY: live while its store is, which is borrowed here; a store
        // is not `Sync` and nothing holds a reference into its function
        // references (only raw pointers), so nothing reads this field while
        // it is written.
        unsafe {
            let f = self.0.as_ptr();
            if (*f).wasm_call.is_null() {
                (*f).wasm_call = engine
                    .inner
                    .host_trampolines
                    .get(engine, (*f).shared_type())?;
            }
        }
        Ok(())
    }
}

/// A memory created by the host, owned by its store.
pub(crate) struct HostMemory {
    memory: Box<LinearMemory>,
    definition: Box<VMMemoryDefinition>,
}

impl HostMemory {
    pub(crate) fn new(engine: &Engine, ty: &MemoryType) -> Result<HostMemory> {
        let memory = LinearMemory::new(ty, &memory_config(engine)).map_err(Error::new)?;
        let definition = Box::new(memory.vmmemory());
        Ok(HostMemory {
            memory: Box::new(memory),
            definition,
        })
    }

    /// This memory as a handle of store `owner`, the store that keeps
    /// `self` (in `StoreOpaque::memories`).
    pub(crate) fn export(&mut self, owner: StoreId) -> MemoryPtr {
        MemoryPtr::new(
            owner,
            ExportMemory {
                memory: &mut *self.memory,
                definition: &mut *self.definition,
            },
        )
    }
}

// The pointer wrappers below (`MemoryPtr`, `TablePtr`, `GlobalPtr`) each
// carry the id of the store that owns what they point to, and only
// dereference it through a borrow of that store, checked against the id:
// a shared borrow of the store yields shared access, an exclusive borrow
// exclusive access, for exactly as long as the store is borrowed. So safe
// code cannot get two `&mut` to one memory or table, nor reach one after
// its store is gone. Their constructors take the owner's id; the raw parts
// come only from the runtime (an instance's exports) or from this module,
// for objects the named store keeps until it drops.

/// Panics unless `store` is the store with id `owner`: handles of one
/// store are never usable with another.
#[inline]
#[track_caller]
fn check_owner(store: &StoreOpaque, owner: StoreId, what: &str) {
    assert!(store.id == owner, "{what} used with the wrong store");
}

/// A memory owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryPtr {
    owner: StoreId,
    raw: ExportMemory,
}

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for MemoryPtr {}
// SAFETY: as above.
unsafe impl Sync for MemoryPtr {}

impl MemoryPtr {
    /// The raw parts, for an instance of the owning store to import (the
    /// caller checked that the importing store is the owner).
    pub(crate) fn raw(self) -> ExportMemory {
        self.raw
    }

    /// `raw` is a memory (and definition) that store `owner` keeps alive.
    pub(crate) fn new(owner: StoreId, raw: ExportMemory) -> MemoryPtr {
        MemoryPtr { owner, raw }
    }

    /// The store that owns the memory.
    pub(crate) fn owner(self) -> StoreId {
        self.owner
    }

    /// The memory's bytes, for as long as `store` (the owner) is borrowed.
    #[track_caller]
    pub(crate) fn data(self, store: &StoreOpaque) -> &[u8] {
        check_owner(store, self.owner, "memory");
        // SAFETY: the memory is live while its store is, and `store` is
        // that store, borrowed (shared) for the returned borrow: nothing can grow the
        // memory or write it through safe code meanwhile.
        unsafe {
            let m = &*self.raw.memory;
            std::slice::from_raw_parts(m.base(), m.byte_size())
        }
    }

    /// The memory's bytes, mutably, for as long as `store` (the owner) is
    /// borrowed exclusively.
    #[track_caller]
    pub(crate) fn data_mut(self, store: &mut StoreOpaque) -> &mut [u8] {
        check_owner(store, self.owner, "memory");
        // SAFETY: as `data`, with an exclusive borrow of the store, so no
        // other borrow of these bytes exists while the result lives.
        unsafe {
            let m = &*self.raw.memory;
            std::slice::from_raw_parts_mut(m.base(), m.byte_size())
        }
    }

    /// The old size in pages, `None` if the memory cannot grow, or the
    /// limiter's error for a growth it allowed that failed.
    #[track_caller]
    pub(crate) fn grow<T: 'static>(
        self,
        store: &mut StoreInner<T>,
        delta: u64,
    ) -> Result<Option<u64>> {
        check_owner(&store.opaque, self.owner, "memory");
        // SAFETY: the memory is live while its store is, which is borrowed
        // mutably here, so nothing else borrows the memory; `grow_memory`
        // borrows it only while the store's up-calls are not running.
        unsafe { hayate_runtime::grow_memory(self.raw, store as &mut dyn VMStore, delta) }
            .map_err(host_error)
    }
}

/// A table owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TablePtr {
    owner: StoreId,
    raw: ExportTable,
}

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for TablePtr {}
// SAFETY: as above.
unsafe impl Sync for TablePtr {}

impl TablePtr {
    /// The raw parts, for an instance of the owning store to import (the
    /// caller checked that the importing store is the owner).
    pub(crate) fn raw(self) -> ExportTable {
        self.raw
    }

    /// `raw` is a table (and definition) that store `owner` keeps alive.
    pub(crate) fn new(owner: StoreId, raw: ExportTable) -> TablePtr {
        TablePtr { owner, raw }
    }

    /// The store that owns the table.
    pub(crate) fn owner(self) -> StoreId {
        self.owner
    }

    /// The table, for as long as `store` (the owner) is borrowed.
    #[track_caller]
    fn table(self, store: &StoreOpaque) -> &hayate_runtime::Table {
        check_owner(store, self.owner, "table");
        // SAFETY: live while its store is, which is borrowed (shared) for
        // the returned borrow, so no exclusive borrow of the table exists meanwhile.
        unsafe { &*self.raw.table }
    }

    /// The table, mutably, for as long as `store` (the owner) is borrowed
    /// exclusively.
    #[track_caller]
    fn table_mut(self, store: &mut StoreOpaque) -> &mut hayate_runtime::Table {
        check_owner(store, self.owner, "table");
        // SAFETY: live while its store is, which is borrowed exclusively
        // for the returned borrow, so this is the only borrow of the table.
        unsafe { &mut *self.raw.table }
    }

    #[track_caller]
    pub(crate) fn ty(self, store: &StoreOpaque) -> hayate_environ::TableType {
        self.table(store).ty()
    }
    #[track_caller]
    pub(crate) fn size(self, store: &StoreOpaque) -> u64 {
        self.table(store).size()
    }
    /// Element `index` (a lazily initialised element is written on first
    /// read, hence the exclusive borrow).
    #[track_caller]
    pub(crate) fn get(self, store: &mut StoreOpaque, index: u64) -> Option<*mut c_void> {
        self.table_mut(store).get(index).map(|e| e.0)
    }
    #[track_caller]
    pub(crate) fn set(self, store: &mut StoreOpaque, index: u64, value: *mut c_void) -> bool {
        self.table_mut(store).set(index, TableElement(value))
    }
    #[track_caller]
    pub(crate) fn grow<T: 'static>(
        self,
        store: &mut StoreInner<T>,
        delta: u64,
        init: *mut c_void,
    ) -> Result<Option<u64>> {
        check_owner(&store.opaque, self.owner, "table");
        // SAFETY: the table is live while its store is, which is borrowed
        // mutably here, so nothing else borrows the table; `grow_table`
        // borrows it only while the store's up-calls are not running.
        unsafe {
            hayate_runtime::grow_table(
                self.raw,
                store as &mut dyn VMStore,
                delta,
                TableElement(init),
            )
        }
        .map_err(host_error)
    }
}

/// A table created by the host, owned by its store.
pub(crate) struct HostTable {
    table: Box<hayate_runtime::Table>,
    definition: Box<hayate_runtime::VMTableDefinition>,
}

impl HostTable {
    /// Calls `f` with every element's stored word (GC roots).
    pub(crate) fn visit_words(&self, f: &mut dyn FnMut(usize)) {
        self.table.visit_words(f);
    }

    /// A table of type `ty` with every element `init`.
    pub(crate) fn new(ty: hayate_environ::TableType, init: *mut c_void) -> Result<HostTable> {
        let mut table =
            Box::new(hayate_runtime::Table::new(ty, TableElement(init)).map_err(Error::new)?);
        let definition = Box::new(table.vmtable());
        Ok(HostTable { table, definition })
    }

    /// This table as a handle of store `owner`, the store that keeps
    /// `self` (in `StoreOpaque::tables`).
    pub(crate) fn export(&mut self, owner: StoreId) -> TablePtr {
        TablePtr::new(
            owner,
            ExportTable {
                table: &mut *self.table,
                definition: &mut *self.definition,
            },
        )
    }
}

/// A tag's definition, owned by some store (an instance's VMContext or
/// the store's host tags). Its address is the tag's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TagPtr {
    owner: StoreId,
    raw: NonNull<VMTagDefinition>,
}

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for TagPtr {}
// SAFETY: as above.
unsafe impl Sync for TagPtr {}

impl TagPtr {
    /// `raw` is a tag definition that store `owner` keeps alive.
    pub(crate) fn new(owner: StoreId, raw: NonNull<VMTagDefinition>) -> TagPtr {
        TagPtr { owner, raw }
    }

    /// The raw definition, for an instance of the owning store to import
    /// or an exception to carry (the caller checked the store).
    pub(crate) fn raw(self) -> NonNull<VMTagDefinition> {
        self.raw
    }

    /// The store that owns the tag.
    pub(crate) fn owner(self) -> StoreId {
        self.owner
    }

    /// The engine-wide id of the tag's type.
    #[track_caller]
    pub(crate) fn type_id(self, store: &StoreOpaque) -> VMSharedTypeIndex {
        check_owner(store, self.owner, "tag");
        // SAFETY: live while its store is, which is borrowed here.
        VMSharedTypeIndex::from_u32(unsafe { self.raw.as_ref().type_id })
    }
}

/// A global's storage, owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GlobalPtr {
    owner: StoreId,
    raw: NonNull<VMGlobalDefinition>,
}

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for GlobalPtr {}
// SAFETY: as above.
unsafe impl Sync for GlobalPtr {}

impl GlobalPtr {
    /// The raw parts, for an instance of the owning store to import (the
    /// caller checked that the importing store is the owner).
    pub(crate) fn raw(self) -> NonNull<VMGlobalDefinition> {
        self.raw
    }

    /// `raw` is global storage that store `owner` keeps alive.
    pub(crate) fn new(owner: StoreId, raw: NonNull<VMGlobalDefinition>) -> GlobalPtr {
        GlobalPtr { owner, raw }
    }

    /// The store that owns the global.
    pub(crate) fn owner(self) -> StoreId {
        self.owner
    }

    #[track_caller]
    pub(crate) fn get(self, store: &StoreOpaque) -> ValRaw {
        check_owner(store, self.owner, "global");
        // SAFETY: live while its store is, which is borrowed (shared) here.
        let bytes = unsafe { self.raw.as_ref().bytes };
        ValRaw { bytes }
    }

    #[track_caller]
    pub(crate) fn set(self, store: &mut StoreOpaque, value: ValRaw, width: usize) {
        check_owner(store, self.owner, "global");
        // SAFETY: live while its store is, which is borrowed exclusively
        // here, so this is the only borrow of the global.
        unsafe {
            let g = &mut *self.raw.as_ptr();
            g.bytes = [0; 16];
            g.bytes[..width].copy_from_slice(&value.bytes[..width]);
        }
    }
}

//! The bridge to `hayate-runtime`: the one module of this crate allowed to
//! use `unsafe`. Each function here turns a raw runtime operation into a
//! safe one by relying on the store's ownership rule: everything a handle
//! points to is owned by the handle's store and lives as long as it, and
//! every public API checks the handle's store id before getting here.

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::c_void;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use hayate_environ::{CompiledModule, MemoryType, ModuleInfo, VMSharedTypeIndex};
use hayate_runtime::code_memory::CodeMemory;
use hayate_runtime::memory::{LinearMemory, MemoryConfig};
use hayate_runtime::traphandlers::{Backtrace, UnwindReason};
use hayate_runtime::{
    ExportMemory, ExportTable, HostState, Imports, Instance as RtInstance, InstantiationError,
    ModuleRuntimeInfo, TableElement, VMFuncRef, VMGlobalDefinition, VMMemoryDefinition,
    VMRuntimeLimits, VMStore, VMStoreContext, ValRaw,
};

use crate::engine::Engine;
use crate::error::{Error, FrameInfo, Result, WasmBacktrace};
use crate::func::HostBody;
use crate::module::Module;
use crate::store::{StoreId, StoreInner, StoreOpaque};

/// Installs the trap handlers (idempotent).
pub(crate) fn init() {
    hayate_runtime::traphandlers::init_traps();
}

/// Loads compiled code into executable memory.
#[cfg(feature = "compiler")]
pub(crate) fn load_code(
    compiled: &CompiledModule,
    info: Arc<ModuleInfo>,
) -> Result<Arc<CodeMemory>> {
    CodeMemory::new(compiled, info).map_err(|e| Error::msg(format!("failed to load code: {e}")))
}

/// Tells the configured profiler about newly loaded code.
pub(crate) fn register_with_profiler(engine: &Engine, code: &CodeMemory) {
    if engine.config().profiler == crate::config::ProfilingStrategy::PerfMap {
        // Profiling is best effort: a perf map that cannot be written only
        // means unnamed frames in the profile.
        let _ = hayate_runtime::perfmap::register(code);
    }
}

/// Maps `len` bytes of text at `offset` of an artifact file privately and
/// loads them. Callers vouch that the file is not modified while loaded:
/// `Module::deserialize_file`'s caller, or the compile cache, which never
/// changes a file in place (it writes new ones and renames them).
pub(crate) fn load_code_from_file(
    file: &std::fs::File,
    offset: u64,
    len: usize,
    compiled: CompiledModule,
    info: Arc<ModuleInfo>,
) -> Result<Arc<CodeMemory>> {
    // SAFETY: the file stays as it is while mapped (see above).
    let mmap = unsafe { hayate_runtime::Mmap::map_file_private(file, offset, len) }
        .map_err(crate::serialize::load_error)?;
    // SAFETY: a private file mapping is read/write; the text is trusted
    // artifact code (the contract of `Module::deserialize_file`).
    unsafe { CodeMemory::from_mapping(mmap, len, compiled, info) }
        .map_err(crate::serialize::load_error)
}

impl Module {
    /// Loads a precompiled module made by [`Module::serialize`], without
    /// compiling: the code is copied into executable memory and linked.
    ///
    /// The artifact's header must match `engine` (Hayate version and
    /// build, target, CPU features, compiler settings, WebAssembly features,
    /// bounds checks, fuel and epoch settings); otherwise, or if the
    /// artifact is truncated or its metadata damaged (it carries a
    /// checksum), this fails with an error saying what is wrong.
    ///
    /// # Safety
    /// An artifact is trusted input: its machine code runs as is, and
    /// nothing can check that it is the code Hayate's compiler made for the
    /// module. Only load bytes produced by `Module::serialize` and kept
    /// where nobody less trusted than this program could change them.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        crate::serialize::deserialize_bytes(engine, bytes.as_ref())
    }

    /// Loads a precompiled module from a file written with the bytes of
    /// [`Module::serialize`]. The code is mapped from the file privately
    /// (copy-on-write), patched and made executable, not read and copied;
    /// checks are as for [`Module::deserialize`].
    ///
    /// # Safety
    /// As for [`Module::deserialize`]; in addition the file must not be
    /// modified or truncated while the module (or any instance of it) lives:
    /// replace it by writing a new file and renaming it over the old one.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        crate::serialize::deserialize_file(engine, path.as_ref())
    }
}

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

    pub(crate) fn as_raw(self) -> *mut c_void {
        self.0.as_ptr().cast()
    }

    pub(crate) fn type_id(self) -> VMSharedTypeIndex {
        // SAFETY: the function reference is live while its store is.
        unsafe { self.0.as_ref().shared_type() }
    }

    /// Gives a host function a Wasm-convention entry so it can be called
    /// through a table, using the engine's trampoline for its type.
    pub(crate) fn ensure_wasm_call(self, engine: &Engine) -> Result<()> {
        // SAFETY: live while its store is; the store is borrowed mutably by
        // the caller, so nothing runs concurrently with this write.
        unsafe {
            let f = self.0.as_ptr();
            if (*f).wasm_call.is_null() {
                (*f).wasm_call = engine.inner.host_trampolines.get(engine, (*f).type_id)?;
            }
        }
        Ok(())
    }
}

/// The body of host function `host`, called with store `store` of data
/// type `T`.
///
/// Every host state this crate gives the runtime is a `HostBody<_>` made
/// by `Func::new_raw_typed` for the store whose id it records, and a store
/// with a given id is a `StoreInner` of one data type. So a host state
/// whose `owner` is `store` is a `HostBody<T>`. That is checked here with
/// one comparison, in release builds too (a `TypeId` check through `Any`
/// would cost a virtual call on every host call); a mismatch panics.
#[inline]
pub(crate) fn host_body<T: 'static>(host: &HostState, store: StoreId) -> &HostBody<T> {
    let ptr = (host as *const HostState).cast::<HostBody<T>>();
    // SAFETY: `host` is a `HostBody<U>` for some `U` (see above), and
    // `owner` is its first field of a `#[repr(C)]` struct, at offset 0
    // whatever `U` is; reading it needs no knowledge of `U`.
    let owner = unsafe { ptr.cast::<StoreId>().read() };
    assert!(
        owner == store,
        "a host function was called with a store it does not belong to"
    );
    // SAFETY: `owner == store`, so `U` is the data type of store `store`,
    // which is `T`; the state lives as long as the borrow of `host`.
    unsafe { &*ptr }
}

/// Calls `func` with `values` (parameters in, results out).
pub(crate) fn call_raw(
    store: *mut dyn VMStore,
    limits: *const VMRuntimeLimits,
    max_wasm_stack: usize,
    func: FuncRefPtr,
    values: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: `func` is live (its store id was checked by the caller) and
    // `values` was sized for its signature; `store` is the exclusive borrow
    // of the store the caller holds and does not use during the call.
    unsafe {
        if let Some(host) = hayate_runtime::host_state(func.0.as_ptr()) {
            return (*store).call_host(host, None, values).map_err(host_error);
        }
        hayate_runtime::invoke(func.0.as_ptr(), values, limits, max_wasm_stack)
            .map_err(|reason| unwind_to_error(*reason))
    }
}

fn unwind_to_error(reason: UnwindReason) -> Error {
    match reason {
        UnwindReason::Trap { trap, backtrace } => {
            crate::error::with_backtrace(Error::new(trap), convert(backtrace))
        }
        UnwindReason::HostError { error, backtrace } => {
            crate::error::with_backtrace(host_error(error), convert(backtrace))
        }
        UnwindReason::Panic(payload) => std::panic::resume_unwind(payload),
    }
}

/// The error a host function of this crate returned (see `Func::new_raw`),
/// back from the runtime, which carries it opaquely.
fn host_error(error: hayate_runtime::HostError) -> Error {
    match error.downcast::<Error>() {
        Ok(e) => *e,
        Err(_) => Error::msg("a host function failed"),
    }
}

fn convert(bt: Backtrace) -> WasmBacktrace {
    WasmBacktrace {
        frames: bt
            .frames
            .into_iter()
            .map(|f| FrameInfo {
                func_index: f.func_index,
                func_name: f.func_name,
                module_name: f.module_name,
                module_offset: f.module_offset,
            })
            .collect(),
    }
}

/// Allocates and initialises an instance; it is pushed onto `instances`
/// even when initialisation fails, because (Wasm 2.0) other instances may
/// already reference it through shared tables.
#[allow(clippy::vec_box)]
pub(crate) fn instantiate(
    module: &Arc<ModuleRuntimeInfo>,
    imports: Imports,
    store: *mut dyn VMStore,
    limits: *const VMRuntimeLimits,
    engine: &Engine,
    instances: &mut Vec<Box<RtInstance>>,
) -> Result<usize> {
    let ctx = VMStoreContext {
        store,
        limits,
        epoch: &engine.inner.epoch,
    };
    let memory_config = memory_config(engine);
    let id = instances.len();
    // SAFETY: the imports were type-checked by the caller and point into
    // objects owned by the same store as `store`, which outlives instances.
    let instance = unsafe {
        RtInstance::new(
            module.clone(),
            imports,
            ctx,
            &memory_config,
            &engine.inner.allocator,
            id,
        )
        .map_err(instantiation_error)?
    };
    instances.push(instance);
    instances[id].initialize().map_err(instantiation_error)?;
    Ok(id)
}

fn memory_config(engine: &Engine) -> MemoryConfig {
    MemoryConfig {
        bounds_checks: engine.config().bounds_checks,
    }
}

fn instantiation_error(e: InstantiationError) -> Error {
    match e {
        InstantiationError::Trap(t) => Error::new(t),
        other => Error::msg(other.to_string()),
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
        ValRaw {
            bytes: unsafe { self.raw.as_ref().bytes },
        }
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

/// Engine-wide wasm-to-array trampolines for host functions that enter a
/// table or a global without being imported by a module.
#[derive(Default)]
pub(crate) struct HostTrampolines {
    by_type: Mutex<HashMap<u32, (Arc<CodeMemory>, usize)>>,
}

impl HostTrampolines {
    pub(crate) fn get(&self, engine: &Engine, type_id: u32) -> Result<*const u8> {
        #[cfg_attr(not(feature = "compiler"), allow(unused_mut))]
        let mut map = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, ptr)) = map.get(&type_id) {
            return Ok(*ptr as *const u8);
        }
        #[cfg(feature = "compiler")]
        {
            let ty = engine.lookup_type(VMSharedTypeIndex::from_u32(type_id));
            let compiled = engine
                .inner
                .compiler
                .compile_trampolines(std::slice::from_ref(&ty))
                .map_err(Error::new)?;
            let code = load_code(&compiled, Arc::new(ModuleInfo::default()))?;
            let ptr = code.wasm_to_array_trampoline(0);
            map.insert(type_id, (code, ptr as usize));
            Ok(ptr)
        }
        #[cfg(not(feature = "compiler"))]
        {
            let _ = engine;
            Err(Error::msg(
                "host functions in tables need the `compiler` feature",
            ))
        }
    }
}

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

use hayate_environ::{CompiledModule, MemoryType, ModuleInfo};
use hayate_runtime::code_memory::CodeMemory;
use hayate_runtime::memory::{LinearMemory, MemoryConfig};
use hayate_runtime::traphandlers::{Backtrace, UnwindReason};
use hayate_runtime::{
    ExportMemory, ExportTable, Imports, Instance as RtInstance, InstantiationError,
    ModuleRuntimeInfo, TableElement, VMFuncRef, VMGlobalDefinition, VMMemoryDefinition,
    VMRuntimeLimits, VMStore, VMStoreContext, ValRaw,
};

use crate::engine::Engine;
use crate::error::{Error, FrameInfo, Result, WasmBacktrace};
use crate::module::Module;
use crate::store::StoreInner;

/// Installs the trap handlers (idempotent).
pub(crate) fn init() {
    hayate_runtime::traphandlers::init_traps();
}

/// Loads compiled code into executable memory.
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

    pub(crate) fn type_id(self) -> u32 {
        // SAFETY: the function reference is live while its store is.
        unsafe { self.0.as_ref().type_id }
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

/// The store a host function of store type `T` was called with.
///
/// Host functions are only reachable from instances of the store that made
/// them (imports, tables and values are all checked against the store's id),
/// and that store is a `StoreInner<T>`, so the cast is exact; debug builds
/// check it.
pub(crate) fn store_inner<T: 'static>(vmstore: &mut dyn VMStore) -> &mut StoreInner<T> {
    debug_assert!(
        vmstore
            .as_any_mut()
            .downcast_mut::<StoreInner<T>>()
            .is_some()
    );
    // SAFETY: see above: the object behind `vmstore` is a `StoreInner<T>`,
    // and the returned borrow is the caller's borrow of it.
    unsafe { &mut *(vmstore as *mut dyn VMStore).cast::<StoreInner<T>>() }
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
        if let Some(callback) = hayate_runtime::host_callback(func.0.as_ptr()) {
            return callback(&mut *store, None, values).map_err(host_error);
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
        bounds_checks: engine.config().tunables.bounds_checks,
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

    pub(crate) fn export(&mut self) -> MemoryPtr {
        MemoryPtr(ExportMemory {
            memory: &mut *self.memory,
            definition: &mut *self.definition,
        })
    }
}

/// A memory owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryPtr(pub(crate) ExportMemory);

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for MemoryPtr {}
// SAFETY: as above.
unsafe impl Sync for MemoryPtr {}

impl MemoryPtr {
    /// The memory's bytes, borrowed for as long as the caller borrows the store.
    pub(crate) fn data<'a>(self) -> &'a [u8] {
        // SAFETY: the memory is live while its store is, and the caller
        // ties `'a` to a shared borrow of that store.
        unsafe {
            let m = &*self.0.memory;
            std::slice::from_raw_parts(m.base(), m.byte_size())
        }
    }

    /// The memory's bytes, mutably, for as long as the caller borrows the store.
    pub(crate) fn data_mut<'a>(self) -> &'a mut [u8] {
        // SAFETY: as `data`, with an exclusive borrow of the store.
        unsafe {
            let m = &*self.0.memory;
            std::slice::from_raw_parts_mut(m.base(), m.byte_size())
        }
    }

    /// The old size in pages, `None` if the memory cannot grow, or the
    /// limiter's error for a growth it allowed that failed.
    pub(crate) fn grow(self, store: &mut dyn VMStore, delta: u64) -> Result<Option<u64>> {
        // SAFETY: live while its store is, which the caller borrows mutably.
        unsafe { hayate_runtime::grow_memory(self.0, store, delta) }.map_err(host_error)
    }
}

/// A table owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TablePtr(pub(crate) ExportTable);

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for TablePtr {}
// SAFETY: as above.
unsafe impl Sync for TablePtr {}

impl TablePtr {
    fn table<'a>(self) -> &'a mut hayate_runtime::Table {
        // SAFETY: live while its store is; callers hold a borrow of it.
        unsafe { &mut *self.0.table }
    }

    pub(crate) fn ty(self) -> hayate_environ::TableType {
        self.table().ty()
    }
    pub(crate) fn size(self) -> u64 {
        self.table().size()
    }
    pub(crate) fn get(self, index: u64) -> Option<*mut c_void> {
        self.table().get(index).map(|e| e.0)
    }
    pub(crate) fn set(self, index: u64, value: *mut c_void) -> bool {
        self.table().set(index, TableElement(value))
    }
    pub(crate) fn grow(
        self,
        store: &mut dyn VMStore,
        delta: u64,
        init: *mut c_void,
    ) -> Result<Option<u64>> {
        // SAFETY: live while its store is, which the caller borrows mutably.
        unsafe { hayate_runtime::grow_table(self.0, store, delta, TableElement(init)) }
            .map_err(host_error)
    }
}

/// Makes a host-owned table.
pub(crate) fn new_table(
    ty: hayate_environ::TableType,
    init: *mut c_void,
) -> Result<(
    Box<hayate_runtime::Table>,
    Box<hayate_runtime::VMTableDefinition>,
    TablePtr,
)> {
    let mut table =
        Box::new(hayate_runtime::Table::new(ty, TableElement(init)).map_err(Error::new)?);
    let mut def = Box::new(table.vmtable());
    let ptr = TablePtr(ExportTable {
        table: &mut *table,
        definition: &mut *def,
    });
    Ok((table, def, ptr))
}

/// A global's storage, owned by some store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GlobalPtr(pub(crate) NonNull<VMGlobalDefinition>);

// SAFETY: only dereferenced through a borrow of the owning store.
unsafe impl Send for GlobalPtr {}
// SAFETY: as above.
unsafe impl Sync for GlobalPtr {}

impl GlobalPtr {
    pub(crate) fn get(self) -> ValRaw {
        // SAFETY: live while its store is; callers hold a borrow of it.
        ValRaw {
            bytes: unsafe { self.0.as_ref().bytes },
        }
    }
    pub(crate) fn set(self, value: ValRaw, width: usize) {
        // SAFETY: live while its store is; callers hold an exclusive borrow.
        unsafe {
            let g = &mut *self.0.as_ptr();
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
        let mut map = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, ptr)) = map.get(&type_id) {
            return Ok(*ptr as *const u8);
        }
        let compiler = engine.compiler()?;
        let ty = engine.lookup_type(type_id);
        let compiled = compiler
            .compile_trampolines(std::slice::from_ref(&ty))
            .map_err(Error::new)?;
        let code = load_code(&compiled, Arc::new(ModuleInfo::default()))?;
        let ptr = code.wasm_to_array_trampoline(0);
        map.insert(type_id, (code, ptr as usize));
        Ok(ptr)
    }
}

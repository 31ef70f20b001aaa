//! Instances: the VMContext allocation, the memories and tables an instance
//! owns, and access to everything compiled code reaches through the VMContext.
//! Initialisation (globals, segments) lives in `instance/init.rs`.

mod init;

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Arc;

use hayate_environ::{
    DataIndex, DefinedFuncIndex, DefinedMemoryIndex, DefinedTableIndex, DefinedTagIndex, ElemIndex,
    EntityIndex, EntityRef, FuncIndex, GlobalIndex, MemoryIndex, ModuleInfo, TableIndex, TagIndex,
    TypeIndex, VMOffsets, VMSharedTypeIndex,
};

use crate::builtins::BUILTINS;
use crate::code_memory::CodeMemory;
use crate::cow::ModuleImages;
use crate::late_code::LateCode;
use crate::lazy::LazyFunctions;
use crate::lazy_table::{LazyInit, ModuleTableImages};
use crate::memory::{LinearMemory, MemoryConfig};
use crate::pooling::{InstanceAllocator, VMContextSlot};
use crate::store::VMStore;
use crate::table::{Table, TableElement};
use crate::vmcontext::{
    EpochCounter, VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMMemoryDefinition,
    VMRuntimeLimits, VMTableDefinition, VMTagDefinition,
};

pub use init::InstantiationError;

/// What the runtime needs of a compiled module to instantiate it.
#[derive(Debug)]
#[repr(align(128))]
pub struct ModuleRuntimeInfo {
    /// The module's description.
    pub info: Arc<ModuleInfo>,
    /// Its loaded machine code.
    pub code: Arc<CodeMemory>,
    /// Its VMContext layout.
    pub offsets: VMOffsets,
    /// Engine-wide type id of each type of the type section (the raw
    /// `u32`s compiled code reads through the VMContext; see
    /// [`ModuleRuntimeInfo::shared_type`]).
    pub type_ids: Box<[u32]>,
    /// Copy-on-write images of the defined memories' data segments
    /// ([`ModuleImages::none`] to copy every segment at instantiation).
    pub images: ModuleImages,
    /// Element-segment images of the defined funcref tables initialised
    /// lazily ([`ModuleTableImages::none`] to write every segment at
    /// instantiation).
    pub table_images: ModuleTableImages,
    /// With lazy compilation, the functions compiled so far (`code` then
    /// holds only the wasm-to-array trampolines).
    pub lazy: Option<LazyFunctions>,
    /// Code compiled for lazy compilation but loaded whole (serialized,
    /// cached): the address of each defined function in `code`, which the
    /// VMContext's lazy entries point to instead of a [`LazyFunctions`]'
    /// (its `call_indirect` reads entries by defined index). See
    /// [`ModuleRuntimeInfo::entries_of_code`].
    pub code_entries: Option<Box<[usize]>>,
}

impl ModuleRuntimeInfo {
    /// The address of each defined function of `code`, for
    /// [`ModuleRuntimeInfo::code_entries`].
    pub fn entries_of_code(info: &ModuleInfo, code: &CodeMemory) -> Box<[usize]> {
        (0..info.num_defined_funcs() as usize)
            .map(|i| code.function_ptr(DefinedFuncIndex::new(i)) as usize)
            .collect()
    }

    /// The engine-wide id of type `type_index` of the module's type section.
    pub fn shared_type(&self, type_index: TypeIndex) -> VMSharedTypeIndex {
        VMSharedTypeIndex::from_u32(self.type_ids[type_index.index()])
    }

    /// Value type `ty` of this module in engine form (its concrete type
    /// indices mapped to engine ids).
    pub fn engine_val_type(&self, ty: hayate_environ::WasmValType) -> hayate_environ::WasmValType {
        crate::TypeRegistry::canonical_val(ty, &self.type_ids)
    }

    /// Reference type `ty` of this module in engine form.
    pub fn engine_ref_type(&self, ty: hayate_environ::RefType) -> hayate_environ::RefType {
        match self.engine_val_type(hayate_environ::WasmValType::Ref(ty)) {
            hayate_environ::WasmValType::Ref(r) => r,
            _ => unreachable!("a reference type stays one"),
        }
    }
}

/// A memory as other instances import it.
#[derive(Debug, Clone, Copy)]
pub struct ExportMemory {
    /// The memory.
    pub memory: *mut LinearMemory,
    /// Its definition, updated whenever it grows.
    pub definition: *mut VMMemoryDefinition,
}

/// A table as other instances import it.
#[derive(Debug, Clone, Copy)]
pub struct ExportTable {
    /// The table.
    pub table: *mut Table,
    /// Its definition, updated whenever it grows.
    pub definition: *mut VMTableDefinition,
}

/// Everything a module imports, per kind in import order.
#[derive(Debug, Default)]
pub struct Imports {
    /// Function references.
    pub functions: Vec<*const VMFuncRef>,
    /// Tables.
    pub tables: Vec<ExportTable>,
    /// Memories.
    pub memories: Vec<ExportMemory>,
    /// Global storage.
    pub globals: Vec<*mut VMGlobalDefinition>,
    /// Tag definitions.
    pub tags: Vec<*const VMTagDefinition>,
}

/// Per-store context every instance of the store shares.
#[derive(Debug, Clone, Copy)]
pub struct VMStoreContext {
    /// The store, for builtins and host calls.
    pub store: *mut dyn VMStore,
    /// The store's runtime limits.
    pub limits: *const VMRuntimeLimits,
    /// The engine's epoch counter.
    pub epoch: *const EpochCounter,
}

/// A live instance. Boxed so its address (recorded in the VMContext) is stable.
pub struct Instance {
    module: Arc<ModuleRuntimeInfo>,
    vmctx: NonNull<VMContext>,
    /// The pool slot holding the VMContext; `None` when it is on the heap.
    vmctx_slot: Option<VMContextSlot>,
    memories: Vec<LinearMemory>,
    tables: Vec<Table>,
    imported_memories: Vec<ExportMemory>,
    imported_tables: Vec<ExportTable>,
    dropped_elements: Vec<bool>,
    dropped_data: Vec<bool>,
    /// The values of element segments whose expressions allocate GC
    /// objects, computed once at instantiation: every `table.init` or
    /// `array.new_elem` of the segment sees the same objects.
    pub(crate) allocated_elements:
        std::collections::HashMap<ElemIndex, Box<[crate::table::TableElement]>>,
    /// Code loaded after the module that some of this instance's function
    /// references point to (see [`Instance::replace_function_code`]).
    late_code: Vec<Arc<LateCode>>,
    /// The defined functions whose references were filled in, for a pooled
    /// VMContext slot to clear just those when released.
    filled_func_refs: std::cell::RefCell<Vec<FuncIndex>>,
    id: usize,
}

// SAFETY: the raw pointers an instance holds point into its own allocation
// or into objects owned by the same store, which moves between threads as a
// whole; nothing is shared with other stores.
unsafe impl Send for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Instance {
    fn vmctx_layout(offsets: &VMOffsets) -> Layout {
        Layout::from_size_align(offsets.size().max(16) as usize, 16).expect("vmctx layout")
    }

    /// Allocates an instance: creates its memories and tables and fills its
    /// VMContext. No guest-visible state changes until `initialize`.
    ///
    /// # Safety
    /// Every pointer in `imports` and `store` must stay valid for the
    /// instance's lifetime (the store owns everything it points to), and the
    /// imports must match the module's import types. `allocator` must
    /// outlive the instance: its slots and reservations point back to it
    /// without a reference count, so that threads instantiating at once do
    /// not all write one shared count (the store keeps its engine, which
    /// owns the allocator, until its instances are gone).
    pub unsafe fn new(
        module: &Arc<ModuleRuntimeInfo>,
        imports: Imports,
        store: VMStoreContext,
        memory_config: &MemoryConfig,
        allocator: &InstanceAllocator,
        id: usize,
    ) -> Result<Box<Instance>, InstantiationError> {
        // Imported Wasm functions compiled lazily get their code now: the
        // importer calls them through a copy of their entry.
        for &func_ref in &imports.functions {
            // SAFETY: import pointers are live (the caller's promise); a
            // reference whose `vmctx` is not an instance's is a host
            // function's, which has no Wasm entry by design.
            unsafe {
                let f = func_ref.cast_mut();
                let magic = (*f).vmctx.cast::<u32>().read();
                if (*f).wasm_call.is_null() && magic == VMOffsets::MAGIC {
                    crate::lazy::ensure_compiled(f).map_err(InstantiationError::Compile)?;
                }
            }
        }
        let info = &*module.info;
        let offsets = module.offsets;
        let layout = Self::vmctx_layout(&offsets);
        let (pool, reservations) = match allocator {
            InstanceAllocator::OnDemand(reservations) => (None, Some(&**reservations)),
            InstanceAllocator::Pooling(pool) => {
                pool.check_module(info, layout.size())?;
                (Some(pool), None)
            }
        };
        let resource = |e: &dyn std::fmt::Display| InstantiationError::Resource(e.to_string());
        let mut memories = Vec::new();
        for (index, ty) in info.memories.iter() {
            let Some(def) = info.defined_memory(index) else {
                continue;
            };
            let image = module.images.get(def);
            memories.push(match pool {
                // SAFETY: the allocator outlives the instance, and so its
                // memories (the caller's promise).
                Some(pool) => unsafe { pool.memories.allocate(ty, image)? },
                // SAFETY: as above.
                None => unsafe { LinearMemory::reusing(ty, memory_config, image, reservations) }
                    .map_err(|e| resource(&e))?,
            });
        }
        let mut tables = Vec::new();
        for ty in info.tables.values().skip(info.num_imported_tables as usize) {
            // Tables hold their type in engine form: it is compared with
            // other modules' types when the table is imported.
            let ty = &hayate_environ::TableType {
                element: module.engine_ref_type(ty.element),
                ..*ty
            };
            tables.push(match pool {
                // SAFETY: as for memories.
                Some(pool) => unsafe { pool.tables.allocate(*ty, TableElement::NULL)? },
                None => Table::new(*ty, TableElement::NULL).map_err(|e| resource(&e))?,
            });
        }
        let (vmctx, vmctx_slot) = match pool {
            Some(pool) => {
                // SAFETY: as for memories.
                let slot = unsafe { pool.allocate_vmctx(layout.size())? };
                (slot.as_ptr().cast::<VMContext>(), Some(slot))
            }
            None => {
                // SAFETY: the layout has a non-zero size.
                let raw = unsafe { std::alloc::alloc_zeroed(layout) };
                let Some(vmctx) = NonNull::new(raw.cast::<VMContext>()) else {
                    std::alloc::handle_alloc_error(layout)
                };
                (vmctx, None)
            }
        };
        let mut instance = Box::new(Instance {
            vmctx_slot,
            dropped_elements: vec![false; info.elements.len()],
            allocated_elements: Default::default(),
            dropped_data: vec![false; info.data.len()],
            late_code: Vec::new(),
            filled_func_refs: Default::default(),
            imported_memories: imports.memories.clone(),
            imported_tables: imports.tables.clone(),
            module: module.clone(),
            vmctx,
            memories,
            tables,
            id,
        });
        // SAFETY: the VMContext was just allocated with this module's layout;
        // the caller vouches for the imports and store pointers.
        unsafe { instance.fill_vmctx(module, &imports, store) };
        let vmctx = instance.vmctx.as_ptr().cast::<u8>();
        for (def, table) in instance.tables.iter_mut().enumerate() {
            if let Some(image) = module.table_images.get(DefinedTableIndex::new(def)) {
                // SAFETY: the image belongs to this instance's module,
                // which the instance keeps alive, and the VMContext
                // outlives the table, which the instance owns.
                let lazy = unsafe { LazyInit::new(image, vmctx) };
                table.set_lazy_init(Some(lazy));
            }
        }
        Ok(instance)
    }

    /// Writes every field of the VMContext.
    ///
    /// # Safety
    /// `module` must be the instance's own module (passed apart from `self`
    /// so that it is read while the instance is written, without touching
    /// its shared reference count). The VMContext must have been allocated
    /// with this module's layout (`vmctx_layout`), and every pointer in `imports` and `store` must be
    /// live for the instance's lifetime and match the module's import
    /// types, as [`Instance::new`] requires.
    unsafe fn fill_vmctx(
        &mut self,
        module: &ModuleRuntimeInfo,
        imports: &Imports,
        store: VMStoreContext,
    ) {
        debug_assert!(std::ptr::eq(module, &*self.module));
        let o = &module.offsets;
        let info = &module.info;
        let self_ptr: *mut Instance = self;
        // SAFETY: every offset comes from this module's VMOffsets, which the
        // allocation was sized by; every value written has the type the
        // layout documents.
        unsafe {
            self.write(o.magic(), VMOffsets::MAGIC);
            self.write(o.store(), store.store);
            self.write(o.runtime_limits(), store.limits);
            self.write(o.builtins(), &BUILTINS as *const _ as *const u8);
            self.write(o.type_ids(), module.type_ids.as_ptr());
            self.write(o.instance(), self_ptr);
            self.write(o.epoch_counter(), store.epoch);
            let lazy_entries = match (&module.lazy, &module.code_entries) {
                (Some(lazy), _) => LazyFunctions::entries_ptr(lazy).cast::<u8>(),
                (None, Some(entries)) => entries.as_ptr().cast::<u8>(),
                (None, None) => std::ptr::null(),
            };
            self.write(o.lazy_entries(), lazy_entries);
            for (i, &func_ref) in imports.functions.iter().enumerate() {
                let i = FuncIndex::new(i);
                let mut f = *func_ref;
                if f.wasm_call.is_null() {
                    // A host function: call it through this module's
                    // trampoline for the import's type.
                    f.wasm_call = module.code.wasm_to_array_trampoline(info.functions[i]);
                }
                self.write(
                    o.imported_function(i),
                    VMFunctionImport {
                        wasm_call: f.wasm_call,
                        vmctx: f.vmctx,
                    },
                );
                self.write(o.func_ref(i), f);
            }
            for (i, t) in imports.tables.iter().enumerate() {
                self.write(o.imported_table(TableIndex::new(i)), t.definition);
            }
            for (i, m) in imports.memories.iter().enumerate() {
                self.write(o.imported_memory(MemoryIndex::new(i)), m.definition);
            }
            for (i, g) in imports.globals.iter().enumerate() {
                self.write(o.imported_global(GlobalIndex::new(i)), *g);
            }
            for (i, t) in imports.tags.iter().enumerate() {
                self.write(o.imported_tag(TagIndex::new(i)), *t);
            }
            for def in 0..info.num_defined_tags() {
                let def = DefinedTagIndex::from_u32(def);
                let ty = info.tags[info.tag_index(def)];
                let type_id = module.type_ids[ty.index()];
                self.write(o.defined_tag(def), VMTagDefinition { type_id });
            }
            for i in 0..self.memories.len() {
                let def = self.memories[i].vmmemory();
                self.write(o.defined_memory(DefinedMemoryIndex::new(i)), def);
            }
            for i in 0..self.tables.len() {
                let def = self.tables[i].vmtable();
                self.write(o.defined_table(DefinedTableIndex::new(i)), def);
            }
            // Defined functions' references are filled in on first use
            // (`func_ref`, and the `ref_func` builtin for compiled code):
            // CPython has 11,000, most never referenced by an instance.
        }
    }

    /// The function reference of defined function `def` of this instance.
    fn defined_func_ref(&self, def: DefinedFuncIndex) -> VMFuncRef {
        let module = &self.module;
        let index = module.info.func_index(def);
        let (wasm_call, array_call) = match &module.lazy {
            // Null until compiled: callers check (see `crate::lazy`).
            Some(lazy) => (lazy.wasm_entry(def), lazy.array_entry(def)),
            None => (
                module.code.function_ptr(def),
                module
                    .code
                    .array_to_wasm_trampoline(def)
                    .unwrap_or(std::ptr::null()),
            ),
        };
        VMFuncRef {
            wasm_call,
            array_call,
            vmctx: self.vmctx.as_ptr(),
            type_id: module.type_ids[module.info.functions[index].index()],
            defined_index: def.as_u32(),
        }
    }

    /// Writes `value` at byte `offset` of the VMContext.
    ///
    /// # Safety
    /// `offset` must be a field of type `T` in this module's layout.
    unsafe fn write<T>(&mut self, offset: u32, value: T) {
        // SAFETY: guaranteed by the caller; fields are naturally aligned.
        unsafe { self.vmctx_plus(offset).cast::<T>().write(value) }
    }

    fn vmctx_plus(&self, offset: u32) -> *mut u8 {
        debug_assert!(offset < self.module.offsets.size());
        // SAFETY: the offset lies inside the VMContext allocation.
        unsafe { self.vmctx.as_ptr().cast::<u8>().add(offset as usize) }
    }

    /// The instance owning `vmctx`, as a raw pointer: callers borrow it
    /// for as short a time as they can, and never while they also borrow
    /// its store (which owns the instance).
    ///
    /// # Safety
    /// `vmctx` must be the VMContext of a live instance.
    pub unsafe fn from_vmctx(vmctx: *mut VMContext) -> *mut Instance {
        // SAFETY: the back pointer at `instance()` is written at allocation
        // and the instance is boxed, so it does not move.
        unsafe {
            let offset = VMOffsets::INSTANCE as usize;
            *vmctx.cast::<u8>().add(offset).cast::<*mut Instance>()
        }
    }

    /// The store this instance belongs to. Dereferencing it is up to the
    /// caller, who must not hold a borrow of this instance meanwhile.
    pub fn store_ptr(&self) -> *mut dyn VMStore {
        // SAFETY: written at allocation with the store's fat pointer.
        unsafe {
            self.vmctx_plus(self.module.offsets.store())
                .cast::<*mut dyn VMStore>()
                .read()
        }
    }

    /// The store's runtime limits.
    pub fn limits(&self) -> *const VMRuntimeLimits {
        // SAFETY: written at allocation.
        unsafe {
            self.vmctx_plus(self.module.offsets.runtime_limits())
                .cast::<*const VMRuntimeLimits>()
                .read()
        }
    }

    /// The id the store gave this instance.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The VMContext pointer.
    pub fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr()
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &Arc<ModuleRuntimeInfo> {
        &self.module
    }

    /// The function reference of function `index` (imported or defined),
    /// filled in first if it is a defined function's not used before.
    pub fn func_ref(&self, index: FuncIndex) -> *mut VMFuncRef {
        let ptr: *mut VMFuncRef = self.vmctx_plus(self.module.offsets.func_ref(index)).cast();
        if let Some(def) = self.module.info.defined_func(index) {
            // SAFETY: the slot is this instance's reference of a defined
            // function, inside its VMContext, which starts zeroed; a null
            // `vmctx` field means it was never filled in. Nothing else
            // reads or writes it meanwhile: an instance is used by one
            // thread at a time, and compiled code only reads references
            // that were filled in (through this or the `ref_func` builtin).
            unsafe {
                if (*ptr).vmctx.is_null() {
                    ptr.write(self.defined_func_ref(def));
                    self.filled_func_refs.borrow_mut().push(index);
                }
            }
        }
        ptr
    }

    /// The function whose reference in this instance's VMContext is at
    /// `func_ref`, if it is one of them.
    pub fn func_index_of_ref(&self, func_ref: *const VMFuncRef) -> Option<FuncIndex> {
        let n = self.module.info.functions.len();
        if n == 0 {
            return None;
        }
        let first = self.func_ref_address(FuncIndex::from_u32(0));
        let size = hayate_environ::vm_func_ref::SIZE as usize;
        let delta = (func_ref as usize).checked_sub(first)?;
        (delta % size == 0 && delta / size < n).then(|| FuncIndex::new(delta / size))
    }

    fn func_ref_address(&self, index: FuncIndex) -> usize {
        self.vmctx_plus(self.module.offsets.func_ref(index)) as usize
    }

    /// Memory `index` and its definition.
    pub fn memory(&mut self, index: MemoryIndex) -> ExportMemory {
        match self.module.info.defined_memory(index) {
            None => self.imported_memories[index.index()],
            Some(def) => ExportMemory {
                memory: &mut self.memories[def.index()],
                definition: self
                    .vmctx_plus(self.module.offsets.defined_memory(def))
                    .cast(),
            },
        }
    }

    /// Table `index` and its definition.
    pub fn table(&mut self, index: TableIndex) -> ExportTable {
        match self.module.info.defined_table(index) {
            None => self.imported_tables[index.index()],
            Some(def) => ExportTable {
                table: &mut self.tables[def.index()],
                definition: self
                    .vmctx_plus(self.module.offsets.defined_table(def))
                    .cast(),
            },
        }
    }

    /// Storage of global `index`.
    pub fn global(&self, index: GlobalIndex) -> *mut VMGlobalDefinition {
        let o = &self.module.offsets;
        match self.module.info.defined_global(index) {
            // SAFETY: imported global pointers are written at allocation.
            None => unsafe {
                self.vmctx_plus(o.imported_global(index))
                    .cast::<*mut VMGlobalDefinition>()
                    .read()
            },
            Some(def) => self.vmctx_plus(o.defined_global(def)).cast(),
        }
    }

    /// The definition of tag `index` (its identity).
    pub fn tag(&self, index: TagIndex) -> *const VMTagDefinition {
        let o = &self.module.offsets;
        match self.module.info.defined_tag(index) {
            // SAFETY: imported tag pointers are written at allocation.
            None => unsafe {
                self.vmctx_plus(o.imported_tag(index))
                    .cast::<*const VMTagDefinition>()
                    .read()
            },
            Some(def) => self.vmctx_plus(o.defined_tag(def)).cast(),
        }
    }

    /// Calls `f` with every word of this instance's own storage that may
    /// hold a GC reference: its defined globals, its defined tables, and
    /// the element segments it evaluated at instantiation.
    pub fn visit_gc_roots(&self, f: &mut dyn FnMut(usize)) {
        let info = &self.module.info;
        for def in 0..info.num_defined_globals() {
            let index = info.global_index(hayate_environ::DefinedGlobalIndex::from_u32(def));
            // SAFETY: defined global storage lies inside the VMContext.
            let word = unsafe { (*self.global(index)).bytes };
            f(usize::from_le_bytes(word[..8].try_into().expect("8 bytes")));
        }
        self.tables.iter().for_each(|t| t.visit_words(f));
        for values in self.allocated_elements.values() {
            values.iter().for_each(|e| f(e.0 as usize));
        }
    }

    /// An export by name, as raw runtime parts.
    pub fn export(&mut self, name: &str) -> Option<VMExport> {
        let index = self.module.info.export(name)?;
        Some(self.entity(index))
    }

    /// Entity `index` as raw runtime parts.
    pub fn entity(&mut self, index: EntityIndex) -> VMExport {
        match index {
            EntityIndex::Function(f) => VMExport::Function(self.func_ref(f)),
            EntityIndex::Table(t) => VMExport::Table(self.table(t)),
            EntityIndex::Memory(m) => VMExport::Memory(self.memory(m)),
            EntityIndex::Global(g) => VMExport::Global(self.global(g)),
            EntityIndex::Tag(t) => VMExport::Tag(self.tag(t)),
        }
    }

    /// Makes defined function `defined` run function `position` of `code`
    /// from now on whenever it is reached through its function reference:
    /// `call_indirect`/`call_ref` through any table holding it, calls of
    /// its export from the host, and instances that import it from now on.
    /// Direct `call`s from the module's other eagerly compiled functions
    /// stay linked to the code compiled at load (see
    /// [`crate::late_code`]). The instance keeps `code` alive.
    ///
    /// Fails, changing nothing, if `code` is not for this instance's
    /// module, its function `position` is not `defined`, or it has no
    /// array-call entry although the function has one now (it escapes).
    pub fn replace_function_code(
        &mut self,
        defined: DefinedFuncIndex,
        code: &Arc<LateCode>,
        position: usize,
    ) -> Result<(), ReplaceCodeError> {
        if !Arc::ptr_eq(code.info(), &self.module.info) {
            return Err(ReplaceCodeError::OtherModule);
        }
        if position >= code.num_functions() || code.defined_function(position) != defined {
            return Err(ReplaceCodeError::OtherFunction {
                position,
                defined: defined.index(),
            });
        }
        let slot = self.func_ref(self.module.info.func_index(defined));
        // SAFETY: the slot is this instance's function reference of a
        // defined function, written at instantiation; no reference to it
        // is live (this instance is borrowed mutably).
        let current = unsafe { *slot };
        let array_call = match code.array_to_wasm_trampoline(position) {
            Some(entry) => entry,
            None if current.array_call.is_null() => std::ptr::null(),
            None => return Err(ReplaceCodeError::NoArrayCallEntry),
        };
        // SAFETY: as above. The new entries are the same function (same
        // module, same defined index, so the same signature and VMContext
        // layout) in code that `self.late_code` keeps alive.
        unsafe {
            (*slot).wasm_call = code.function_ptr(position);
            (*slot).array_call = array_call;
        }
        if !self.late_code.iter().any(|c| Arc::ptr_eq(c, code)) {
            self.late_code.push(code.clone());
        }
        Ok(())
    }

    /// Whether element segment `index` was dropped.
    pub(crate) fn element_dropped(&self, index: ElemIndex) -> bool {
        self.dropped_elements[index.index()]
    }

    /// Whether data segment `index` was dropped.
    pub(crate) fn data_dropped(&self, index: DataIndex) -> bool {
        self.dropped_data[index.index()]
    }

    pub(crate) fn drop_element(&mut self, index: ElemIndex) {
        self.dropped_elements[index.index()] = true;
    }

    pub(crate) fn drop_data(&mut self, index: DataIndex) {
        self.dropped_data[index.index()] = true;
    }
}

/// Why [`Instance::replace_function_code`] refused late code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceCodeError {
    /// The late code was compiled for another module.
    #[error("the late code is for another module")]
    OtherModule,
    /// The late code's function at `position` is not the function asked for.
    #[error("function {position} of the late code is not defined function {defined}")]
    OtherFunction {
        /// The position in the late code.
        position: usize,
        /// The defined function it was to replace.
        defined: usize,
    },
    /// The function escapes (it has an array-call entry) but the late code
    /// has no array-call trampoline for it.
    #[error("the late code has no array-call entry for a function that needs one")]
    NoArrayCallEntry,
}

/// An exported entity as raw runtime parts.
#[derive(Debug, Clone, Copy)]
pub enum VMExport {
    /// A function reference.
    Function(*mut VMFuncRef),
    /// A table.
    Table(ExportTable),
    /// A memory.
    Memory(ExportMemory),
    /// Global storage.
    Global(*mut VMGlobalDefinition),
    /// A tag's definition (its identity).
    Tag(*const VMTagDefinition),
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(slot) = &mut self.vmctx_slot {
            // The slot is zeroed and freed when the field drops: only its
            // part before the defined functions' references (written at
            // instantiation) and the references filled in since, not the
            // (CPython: 350 KiB of) references never used.
            let info = &self.module.info;
            let offsets = &self.module.offsets;
            let defined_start = match self.module.info.num_defined_funcs() {
                0 => offsets.size(),
                _ => offsets.func_ref(FuncIndex::from_u32(info.num_imported_funcs)),
            };
            for &index in self.filled_func_refs.get_mut().iter() {
                let at = self.module.offsets.func_ref(index) as usize;
                // SAFETY: a defined function's reference inside this
                // instance's VMContext, which nothing uses any more.
                unsafe {
                    self.vmctx
                        .as_ptr()
                        .cast::<u8>()
                        .add(at)
                        .write_bytes(0, hayate_environ::vm_func_ref::SIZE as usize)
                };
            }
            slot.clear_only(defined_start as usize);
            return;
        }
        let layout = Self::vmctx_layout(&self.module.offsets);
        // SAFETY: allocated in `new` with this layout; nothing references
        // the VMContext once its store drops its instances.
        unsafe { std::alloc::dealloc(self.vmctx.as_ptr().cast(), layout) };
    }
}

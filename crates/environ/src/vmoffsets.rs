//! The VMContext layout: the one place that says where each field of an
//! instance's VMContext lives. The compiler emits loads at these offsets;
//! the runtime's `#[repr(C)]` structs are checked against them.
//!
//! ```text
//! header (fixed)
//!   0  magic: u32                       "HYVM"
//!   8  store: *mut dyn VMStore          (fat pointer, 16 bytes)
//!  24  runtime_limits: *const VMRuntimeLimits
//!  32  builtins: *const [*const u8; Builtin::ALL.len()]
//!  40  type_ids: *const u32             engine-wide id of each module type
//!  48  instance: *mut Instance          runtime-private back pointer
//!  56  epoch_counter: *const AtomicU64  engine-wide epoch
//!  64  lazy_entries: *const *const u8   lazy compilation: each defined
//!                                       function's Wasm entry, null until
//!                                       compiled (null without lazy compilation)
//! arrays (sizes from the module)
//!  imported_functions  [VMFunctionImport { wasm_call, vmctx }]      16 bytes each
//!  imported_tables     [*mut VMTableDefinition]                      8 bytes each
//!  imported_memories   [*mut VMMemoryDefinition]                     8 bytes each
//!  imported_globals    [*mut VMGlobalDefinition]                     8 bytes each
//!  imported_tags       [*const VMTagDefinition]                      8 bytes each
//!  defined_tables      [VMTableDefinition { base, current_elements }] 16 bytes each
//!  defined_memories    [VMMemoryDefinition { base, current_length }] 16 bytes each
//!  defined_globals     [VMGlobalDefinition]        16 bytes each, 16-aligned
//!  defined_tags        [VMTagDefinition { type_id: u32 }]  8 bytes each: a tag's
//!                                       identity is its definition's address
//!  func_refs           [VMFuncRef { wasm_call, array_call, vmctx, type_id, defined_index }] 32 bytes each
//! ```
//!
//! Calling conventions:
//! * A Wasm function (and a wasm-to-array trampoline) uses the *Wasm
//!   convention*, with signature `(callee_vmctx, caller_vmctx, params...) ->
//!   results`. Only code of one compiler ever calls it (the artifact header
//!   records the compiler, and a module's code is all made by one), so the
//!   convention is the backend's choice as long as it allows tail calls and
//!   any number of results; Cranelift's is its `tail` convention. The
//!   runtime never calls a Wasm-convention entry itself: it goes through
//!   the array-to-wasm trampoline the same compiler made.
//! * An array-call function uses the C convention with signature
//!   `(callee_vmctx, caller_vmctx, values: *mut ValRaw, len: usize) -> u8`:
//!   parameters are read from `values` (16 bytes each), results are written
//!   back there, and the result is 1 on success, 0 if a host function failed.
//! * A host function's `vmctx` points to a `VMHostFuncContext` whose
//!   array-call entry is at [`host_func_ctx::ARRAY_CALL`].

use crate::entity::{
    DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex, DefinedTagIndex, FuncIndex,
    GlobalIndex, MemoryIndex, TableIndex, TagIndex, TypeIndex,
};
use crate::module::ModuleInfo;

/// Size of a pointer on the targets Hayate supports (64-bit).
pub const POINTER_SIZE: u32 = 8;

/// Size of one engine-wide type id in the array at [`VMOffsets::type_ids`].
pub const TYPE_ID_SIZE: u32 = 4;

/// Offsets inside a `VMFuncRef`.
pub mod vm_func_ref {
    /// Entry with the Wasm calling convention.
    pub const WASM_CALL: u32 = 0;
    /// Entry with the array calling convention.
    pub const ARRAY_CALL: u32 = 8;
    /// The callee's vmctx (or host function context).
    pub const VMCTX: u32 = 16;
    /// Engine-wide type id of the function's signature (u32).
    pub const TYPE_ID: u32 = 24;
    /// For a function defined by the module of the instance at `VMCTX`:
    /// its defined-function index (u32); unspecified for others. Lazily
    /// compiled code calling through a reference of its own instance reads
    /// the function's current entry through it (`VMOffsets::lazy_entries`),
    /// so it follows the function to better code compiled later, where
    /// `WASM_CALL` keeps the code current when the reference was filled in.
    pub const DEFINED_INDEX: u32 = 28;
    /// Size of a `VMFuncRef`.
    pub const SIZE: u32 = 32;
}

/// Offsets inside a `VMException`, an exception object (what an `exnref`
/// points to).
pub mod vm_exception {
    /// The tag's identity (`*const VMTagDefinition`).
    pub const TAG: u32 = 0;
    /// Pointer to the payload: `ValRaw`s, 16 bytes each, 16-aligned.
    pub const PAYLOAD: u32 = 8;
    /// Nonzero once the object was visible as a value (u32).
    pub const ESCAPED: u32 = 20;
}

/// Offsets inside a `VMHostFuncContext`, the vmctx of host functions.
pub mod host_func_ctx {
    /// Magic value (u32) distinguishing it from an instance vmctx.
    pub const MAGIC: u32 = 0;
    /// The array-call entry of the host function.
    pub const ARRAY_CALL: u32 = 8;
}

/// Offsets inside the per-store `VMRuntimeLimits`.
#[derive(Debug, Clone, Copy)]
pub struct VMRuntimeLimitsOffsets;

impl VMRuntimeLimitsOffsets {
    /// Lowest address the stack pointer may reach (usize).
    pub const STACK_LIMIT: u32 = 0;
    /// Fuel consumed, counting up towards zero from minus the fuel left (i64).
    pub const FUEL_CONSUMED: u32 = 8;
    /// Epoch at which to interrupt (u64).
    pub const EPOCH_DEADLINE: u32 = 16;
    /// Frame pointer of the last Wasm frame before calling out to the host.
    pub const LAST_WASM_EXIT_FP: u32 = 24;
    /// Return address of the last Wasm frame before calling out to the host.
    pub const LAST_WASM_EXIT_PC: u32 = 32;
    /// Frame pointer of the entry trampoline's caller when entering Wasm.
    pub const LAST_WASM_ENTRY_FP: u32 = 40;
    /// Size of the struct.
    pub const SIZE: u32 = 48;
}

/// The VMContext layout of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMOffsets {
    /// Pointer size in bytes (8 on every supported host).
    pub ptr: u32,
    num_imported_funcs: u32,
    num_imported_tables: u32,
    num_imported_memories: u32,
    num_imported_globals: u32,
    num_defined_tables: u32,
    num_defined_memories: u32,
    num_defined_globals: u32,
    num_imported_tags: u32,
    num_defined_tags: u32,
    num_funcs: u32,
    imported_functions: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    imported_tags: u32,
    defined_tags: u32,
    func_refs: u32,
    size: u32,
}

/// The magic number at offset 0 of every instance VMContext ("HYVM").
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"HYVM");

impl VMOffsets {
    /// Magic value at `magic()`.
    pub const MAGIC: u32 = VMCTX_MAGIC;

    /// Computes the layout for `module`.
    pub fn new(module: &ModuleInfo) -> Self {
        let mut o = VMOffsets {
            ptr: 8,
            num_imported_funcs: module.num_imported_funcs,
            num_imported_tables: module.num_imported_tables,
            num_imported_memories: module.num_imported_memories,
            num_imported_globals: module.num_imported_globals,
            num_defined_tables: module.num_defined_tables(),
            num_defined_memories: module.num_defined_memories(),
            num_defined_globals: module.num_defined_globals(),
            num_imported_tags: module.num_imported_tags,
            num_defined_tags: module.num_defined_tags(),
            num_funcs: module.functions.len() as u32,
            imported_functions: 0,
            imported_tables: 0,
            imported_memories: 0,
            imported_globals: 0,
            defined_tables: 0,
            defined_memories: 0,
            defined_globals: 0,
            imported_tags: 0,
            defined_tags: 0,
            func_refs: 0,
            size: 0,
        };
        let mut at = Self::HEADER_SIZE;
        let mut next = |count: u32, each: u32, align: u32| {
            at = at.next_multiple_of(align);
            let start = at;
            at += count * each;
            start
        };
        o.imported_functions = next(o.num_imported_funcs, 16, 8);
        o.imported_tables = next(o.num_imported_tables, 8, 8);
        o.imported_memories = next(o.num_imported_memories, 8, 8);
        o.imported_globals = next(o.num_imported_globals, 8, 8);
        o.defined_tables = next(o.num_defined_tables, 16, 8);
        o.defined_memories = next(o.num_defined_memories, 16, 8);
        o.defined_globals = next(o.num_defined_globals, 16, 16);
        o.imported_tags = next(o.num_imported_tags, 8, 8);
        o.defined_tags = next(o.num_defined_tags, 8, 8);
        o.func_refs = next(o.num_funcs, vm_func_ref::SIZE, 16);
        o.size = next(0, 0, 16);
        o
    }

    /// Size of the fixed header.
    pub const HEADER_SIZE: u32 = 72;

    /// Offset of the magic number (u32).
    pub const fn magic(&self) -> u32 {
        0
    }
    /// Offset of the `*mut dyn VMStore` fat pointer.
    pub const fn store(&self) -> u32 {
        8
    }
    /// Offset of the `*const VMRuntimeLimits` pointer.
    pub const fn runtime_limits(&self) -> u32 {
        Self::RUNTIME_LIMITS
    }

    /// Offset of the `*const VMRuntimeLimits` pointer (the same in every
    /// module's layout).
    pub const RUNTIME_LIMITS: u32 = 24;
    /// Offset of the pointer to the builtin function table.
    pub const fn builtins(&self) -> u32 {
        32
    }
    /// Offset of the pointer to the array of engine-wide type ids (u32 each),
    /// indexed by the module's type index.
    pub const fn type_ids(&self) -> u32 {
        40
    }
    /// Offset, in the type id array, of module type `type_index`'s id.
    pub fn type_id_entry(type_index: TypeIndex) -> u32 {
        type_index.as_u32() * TYPE_ID_SIZE
    }
    /// Offset of the runtime's back pointer to its `Instance`.
    pub const fn instance(&self) -> u32 {
        Self::INSTANCE
    }

    /// Offset of the runtime's back pointer to its `Instance` (the same in
    /// every module's layout).
    pub const INSTANCE: u32 = 48;
    /// Offset of the pointer to the engine's epoch counter (`AtomicU64`).
    pub const fn epoch_counter(&self) -> u32 {
        56
    }
    /// Offset of the pointer to the module's array of lazily compiled
    /// entries, one `*const u8` per defined function (see
    /// `Tunables::lazy_compilation`).
    pub const fn lazy_entries(&self) -> u32 {
        64
    }

    /// Offset of `VMFunctionImport` for imported function `index`.
    pub fn imported_function(&self, index: FuncIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_imported_funcs);
        self.imported_functions + index * 16
    }
    /// Offset of the `wasm_call` field of imported function `index`.
    pub fn imported_function_wasm_call(&self, index: FuncIndex) -> u32 {
        self.imported_function(index)
    }
    /// Offset of the `vmctx` field of imported function `index`.
    pub fn imported_function_vmctx(&self, index: FuncIndex) -> u32 {
        self.imported_function(index) + 8
    }
    /// Offset of the pointer to imported table `index`'s definition.
    pub fn imported_table(&self, index: TableIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_imported_tables);
        self.imported_tables + index * 8
    }
    /// Offset of the pointer to imported memory `index`'s definition.
    pub fn imported_memory(&self, index: MemoryIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_imported_memories);
        self.imported_memories + index * 8
    }
    /// Offset of the pointer to imported global `index`'s storage.
    pub fn imported_global(&self, index: GlobalIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_imported_globals);
        self.imported_globals + index * 8
    }
    /// Offset of defined table `index`'s `VMTableDefinition`.
    pub fn defined_table(&self, index: DefinedTableIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_defined_tables);
        self.defined_tables + index * 16
    }
    /// Offset of defined memory `index`'s `VMMemoryDefinition`.
    pub fn defined_memory(&self, index: DefinedMemoryIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_defined_memories);
        self.defined_memories + index * 16
    }
    /// Offset of defined global `index`'s 16-byte storage.
    pub fn defined_global(&self, index: DefinedGlobalIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_defined_globals);
        self.defined_globals + index * 16
    }
    /// Offset of the pointer to imported tag `index`'s definition.
    pub fn imported_tag(&self, index: TagIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_imported_tags);
        self.imported_tags + index * 8
    }
    /// Offset of defined tag `index`'s `VMTagDefinition`.
    pub fn defined_tag(&self, index: DefinedTagIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_defined_tags);
        self.defined_tags + index * 8
    }
    /// Offset of function `index`'s `VMFuncRef` (any function, imported or defined).
    pub fn func_ref(&self, index: FuncIndex) -> u32 {
        let index = index.as_u32();
        assert!(index < self.num_funcs);
        self.func_refs + index * vm_func_ref::SIZE
    }
    /// Total size of the VMContext in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of `base` inside a `VMTableDefinition` or `VMMemoryDefinition`.
    pub const DEFINITION_BASE: u32 = 0;
    /// Offset of `current_elements` (u64) in a `VMTableDefinition` and of
    /// `current_length` (bytes, usize) in a `VMMemoryDefinition`.
    pub const DEFINITION_LENGTH: u32 = 8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_ordered_and_aligned() {
        let wasm = wat::parse_str(
            r#"(module
                (import "m" "f" (func))
                (import "m" "g" (global i32))
                (memory 1) (table 2 funcref)
                (global (mut i64) (i64.const 0))
                (func) (func))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm, crate::features_for(None)).unwrap();
        let o = VMOffsets::new(&info);
        assert_eq!(
            o.imported_function(FuncIndex::from_u32(0)),
            VMOffsets::HEADER_SIZE
        );
        assert!(
            o.imported_global(GlobalIndex::from_u32(0))
                >= o.imported_function(FuncIndex::from_u32(0)) + 16
        );
        assert_eq!(o.defined_global(DefinedGlobalIndex::from_u32(0)) % 16, 0);
        assert_eq!(
            o.func_ref(FuncIndex::from_u32(2)) - o.func_ref(FuncIndex::from_u32(0)),
            2 * vm_func_ref::SIZE
        );
        assert_eq!(o.size() % 16, 0);
        assert!(o.size() >= o.func_ref(FuncIndex::from_u32(2)) + vm_func_ref::SIZE);
    }
}

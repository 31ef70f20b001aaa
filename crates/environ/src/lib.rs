//! The static side of Hayate: decoding and validating a module with
//! `wasmparser`, the module's description (`ModuleInfo`), and the vocabulary
//! shared by the compiler and the runtime, defined once here: the VMContext
//! layout (`VMOffsets`), trap codes (`Trap`), runtime builtins (`Builtin`),
//! typed entity indices (`FuncIndex`, `VMSharedTypeIndex`, ...), the
//! settings code depends on (`Tunables`), the compiler seam (`Compiler`,
//! `CompiledBody`) with the backend-neutral linker (`link`), the shape of
//! compiled code (`CompiledModule`) and of precompiled artifacts
//! (`artifact`).

#![forbid(unsafe_code)]

mod address_map;
mod bytes;
mod compile;
mod compiled;
mod entity;
mod error;
mod features;
mod inline_map;
mod module;
mod trap;
mod trap_table;
mod tunables;
mod types;
mod vmoffsets;

pub mod artifact;
pub mod builtins;
pub mod encode;
pub mod exception_table;
pub mod fuel;
pub mod image;
pub mod link;
pub mod stack_maps;

pub use address_map::AddressMap;
pub use bytes::{ByteOwner, SharedBytes};
pub use compile::{Architecture, CompileJob, Compiler, ModuleInput, Target};
pub use compiled::{
    BodyRelocation, CompiledBody, CompiledFunction, CompiledModule, FloatLibcall, FunctionLoc,
    Relocation, RelocationKind, RelocationTarget,
};
pub use cranelift_entity::packed_option::PackedOption;
pub use cranelift_entity::{EntityRef, PrimaryMap, SecondaryMap};
pub use entity::{
    DataIndex, DefinedFuncIndex, DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex,
    DefinedTagIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TagIndex,
    TypeIndex, VMSharedTypeIndex,
};
pub use error::{CompileError, WasmError};
pub use features::{SpecVersion, features_for};
pub use inline_map::{InlineMap, InlinedRange};
pub use module::{
    DataSegment, DataSegmentKind, ElemItems, ElemSegment, ElemSegmentKind, EntityIndex, Export,
    Import, ModuleInfo,
};
pub use trap::Trap;
pub use trap_table::TrapTable;
pub use tunables::{BoundsChecks, Tunables};
pub use types::{
    ArrayType, CompositeType, ConstExpr, ConstOp, EntityType, FieldType, FuncType, GC_HEADER_SIZE,
    GlobalType, HeapType, MemoryType, RefType, StorageType, StructType, SubType, TableType,
    TypeRef, WasmValType, gc_header,
};
pub use vmoffsets::{VMOffsets, VMRuntimeLimitsOffsets, host_func_ctx, vm_exception, vm_func_ref};
pub use wasmparser;
pub use wasmparser::WasmFeatures;

/// Tag of an initialised element of a `funcref` table: elements are stored
/// as `ptr | FUNCREF_INIT_BIT` (null as the bit alone), and a stored 0 is
/// an element not initialised yet, whose value the runtime computes on
/// first access (the `TableGetLazyInitFuncRef` builtin).
pub const FUNCREF_INIT_BIT: usize = 1;

/// Size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Largest number of pages a 32-bit memory may have.
pub const WASM32_MAX_PAGES: u64 = 65536;

/// Size in bytes of one `ValRaw` slot in the array calling convention.
pub const VAL_RAW_SIZE: u32 = 16;

/// Address space reserved for a 32-bit linear memory in guard-page mode:
/// 4 GiB of addressable memory followed by a 4 GiB (plus one page) guard
/// region, so any 32-bit access `index + offset + size` either lands in
/// memory or faults in the guard, and compiled code needs no bounds check.
pub const MEMORY32_RESERVATION: u64 = (8 << 30) + WASM_PAGE_SIZE;

/// Inaccessible address space that follows every 64-bit linear memory in
/// guard-page mode, wherever its end moves: an access whose offset plus
/// size is at most this needs only `index <= length` checked (anything
/// past the end faults in the guard), not `index + offset + size <=
/// length` with its two overflow checks.
pub const MEMORY64_GUARD_SIZE: u64 = 32 << 20;

//! Typed indices of a module's entities, defined once and used from the
//! decoder to the public API, so that an index of one kind can never be
//! passed where another is expected (a module's type index where an
//! engine-wide type id belongs, a function index where a defined
//! function's index belongs).
//!
//! Each is a `u32` newtype implementing `cranelift_entity::EntityRef`, so
//! it indexes a `PrimaryMap`/`SecondaryMap` directly.

pub use cranelift_entity::EntityRef;
use cranelift_entity::entity_impl;

/// Index of a function in the module's function index space: imported
/// functions first, then defined ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FuncIndex(u32);
entity_impl!(FuncIndex, "func");

/// Index of a function defined (not imported) by the module: its position
/// in the code section.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DefinedFuncIndex(u32);
entity_impl!(DefinedFuncIndex, "defined_func");

/// Index of a type in the module's type section.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TypeIndex(u32);
entity_impl!(TypeIndex, "type");

/// Index of a table in the module's table index space (imported first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TableIndex(u32);
entity_impl!(TableIndex, "table");

/// Index of a table defined by the module.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DefinedTableIndex(u32);
entity_impl!(DefinedTableIndex, "defined_table");

/// Index of a memory in the module's memory index space (imported first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MemoryIndex(u32);
entity_impl!(MemoryIndex, "memory");

/// Index of a memory defined by the module.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DefinedMemoryIndex(u32);
entity_impl!(DefinedMemoryIndex, "defined_memory");

/// Index of a global in the module's global index space (imported first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct GlobalIndex(u32);
entity_impl!(GlobalIndex, "global");

/// Index of a global defined by the module.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DefinedGlobalIndex(u32);
entity_impl!(DefinedGlobalIndex, "defined_global");

/// Index of a tag (exception handling) in the module's tag index space
/// (imported first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TagIndex(u32);
entity_impl!(TagIndex, "tag");

/// Index of a tag defined by the module.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DefinedTagIndex(u32);
entity_impl!(DefinedTagIndex, "defined_tag");

/// Index of an element segment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ElemIndex(u32);
entity_impl!(ElemIndex, "elem");

/// Index of a data segment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DataIndex(u32);
entity_impl!(DataIndex, "data");

/// An engine-wide type id: the index of a function type in the engine's
/// type registry, shared by every module and host function of the engine.
/// Compiled code compares these (never a module's [`TypeIndex`]) in
/// `call_indirect` signature checks; it is what a `VMFuncRef` carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VMSharedTypeIndex(u32);
entity_impl!(VMSharedTypeIndex, "shared_type");

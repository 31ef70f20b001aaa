//! Value, function, table, memory and global types, and constant expressions,
//! in Hayate's own form (independent of `wasmparser`'s lifetimes).

use std::fmt;

use crate::entity::{FuncIndex, GlobalIndex, TypeIndex, VMSharedTypeIndex};

/// Where a concrete heap type's definition is: the same type appears in
/// three index spaces as it travels from a module to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeRef {
    /// A type of the module's type section, as the decoder produces it.
    Module(TypeIndex),
    /// The `n`th type of the recursion group being canonicalised: the
    /// form the engine's registry interns groups in, so that two modules'
    /// structurally identical groups get the same ids.
    RecGroup(u32),
    /// A type registered in the engine: the form every type the runtime
    /// and the public API hold is in.
    Engine(VMSharedTypeIndex),
}

/// A heap type: what a reference points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// `func`: any function.
    Func,
    /// `nofunc`: the bottom of the function hierarchy (only null).
    NoFunc,
    /// A function of one declared type.
    ConcreteFunc(TypeRef),
    /// A structure of one declared type.
    ConcreteStruct(TypeRef),
    /// An array of one declared type.
    ConcreteArray(TypeRef),
    /// `extern`: any host reference.
    Extern,
    /// `noextern`: the bottom of the external hierarchy (only null).
    NoExtern,
    /// `any`: the top of the internal (GC) hierarchy.
    Any,
    /// `eq`: references comparable with `ref.eq`.
    Eq,
    /// `i31`: unboxed 31-bit integers.
    I31,
    /// `struct`: any structure.
    Struct,
    /// `array`: any array.
    Array,
    /// `none`: the bottom of the internal hierarchy (only null).
    None,
    /// `exn`: any exception.
    Exn,
    /// `noexn`: the bottom of the exception hierarchy (only null).
    NoExn,
}

impl HeapType {
    /// The top of this type's hierarchy: `func`, `extern`, `any` or `exn`.
    /// Two heap types are related by subtyping only if their tops agree,
    /// and the top says how the runtime represents the reference.
    pub fn top(self) -> HeapType {
        match self {
            HeapType::Func | HeapType::NoFunc | HeapType::ConcreteFunc(_) => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::ConcreteStruct(_)
            | HeapType::ConcreteArray(_)
            | HeapType::None => HeapType::Any,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
        }
    }

    /// The bottom of this type's hierarchy, the type of its null.
    pub fn bottom(self) -> HeapType {
        match self.top() {
            HeapType::Func => HeapType::NoFunc,
            HeapType::Extern => HeapType::NoExtern,
            HeapType::Exn => HeapType::NoExn,
            _ => HeapType::None,
        }
    }

    /// The concrete type this heap type names, if it names one.
    pub fn concrete(self) -> Option<TypeRef> {
        match self {
            HeapType::ConcreteFunc(r)
            | HeapType::ConcreteStruct(r)
            | HeapType::ConcreteArray(r) => Some(r),
            _ => None,
        }
    }

    /// This heap type with its concrete index, if any, mapped by `f`
    /// (from one index space to another).
    pub fn map_concrete(self, f: impl FnOnce(TypeRef) -> TypeRef) -> HeapType {
        match self {
            HeapType::ConcreteFunc(r) => HeapType::ConcreteFunc(f(r)),
            HeapType::ConcreteStruct(r) => HeapType::ConcreteStruct(f(r)),
            HeapType::ConcreteArray(r) => HeapType::ConcreteArray(f(r)),
            other => other,
        }
    }

    /// Whether `self <: other` for two heap types of which at most one
    /// relation between concrete types is needed: `concrete_sub(a, b)`
    /// answers whether concrete type `a` is a subtype of concrete `b`
    /// (declared subtyping, which only the type registry knows).
    pub fn is_subtype_with(
        self,
        other: HeapType,
        concrete_sub: impl FnOnce(TypeRef, TypeRef) -> bool,
    ) -> bool {
        use HeapType as H;
        if self == other {
            return true;
        }
        if self.top() != other.top() {
            return false;
        }
        match (self, other) {
            (H::ConcreteFunc(a), H::ConcreteFunc(b))
            | (H::ConcreteStruct(a), H::ConcreteStruct(b))
            | (H::ConcreteArray(a), H::ConcreteArray(b)) => concrete_sub(a, b),
            // Bottoms are below everything of their hierarchy.
            (H::NoFunc | H::NoExtern | H::None | H::NoExn, _) => true,
            (_, H::NoFunc | H::NoExtern | H::None | H::NoExn) => false,
            // Tops are above everything of their hierarchy.
            (_, H::Func | H::Extern | H::Any | H::Exn) => true,
            (H::I31 | H::Struct | H::Array, H::Eq) => true,
            (H::ConcreteStruct(_), H::Struct | H::Eq) => true,
            (H::ConcreteArray(_), H::Array | H::Eq) => true,
            _ => false,
        }
    }

    /// Converts from `wasmparser`'s heap type; a concrete type comes out
    /// as a function type of the module (`ModuleInfo::retag` corrects it).
    pub fn from_wasmparser_module(hty: wasmparser::HeapType) -> Result<HeapType, String> {
        HeapType::from_wasmparser(hty, &module_func_type)
    }

    fn from_wasmparser(
        hty: wasmparser::HeapType,
        resolve: &dyn Fn(u32) -> Result<HeapType, String>,
    ) -> Result<HeapType, String> {
        use wasmparser::AbstractHeapType as A;
        use wasmparser::HeapType as W;
        Ok(match hty {
            W::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::NoFunc => HeapType::NoFunc,
                A::Extern => HeapType::Extern,
                A::NoExtern => HeapType::NoExtern,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                other => return Err(format!("heap type {other:?}")),
            },
            W::Concrete(wasmparser::UnpackedIndex::Module(i)) => resolve(i)?,
            other => return Err(format!("heap type {other:?}")),
        })
    }
}

/// A reference type: a heap type, and whether null is a value of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a value of this type.
    pub nullable: bool,
    /// What a non-null reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`, that is `(ref null func)`.
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    /// `externref`, that is `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);

    /// The reference type `(ref null? heap)`.
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType { nullable, heap }
    }

    /// Whether references of this type are function references (the
    /// runtime stores them as `VMFuncRef` pointers).
    pub fn is_func(self) -> bool {
        self.heap.top() == HeapType::Func
    }

    /// Whether references of this type are host (`extern`) references.
    pub fn is_extern(self) -> bool {
        self.heap.top() == HeapType::Extern
    }

    /// Whether `self <: other`, given the relation between concrete types.
    pub fn is_subtype_with(
        self,
        other: RefType,
        concrete_sub: impl FnOnce(TypeRef, TypeRef) -> bool,
    ) -> bool {
        (!self.nullable || other.nullable) && self.heap.is_subtype_with(other.heap, concrete_sub)
    }

    /// This type with its concrete index, if any, mapped by `f`.
    pub fn map_concrete(self, f: impl FnOnce(TypeRef) -> TypeRef) -> RefType {
        RefType::new(self.nullable, self.heap.map_concrete(f))
    }

    /// Converts from `wasmparser`'s reference type; concrete indices are
    /// the module's.
    pub fn from_wasmparser(r: wasmparser::RefType) -> Result<Self, String> {
        Self::from_wasmparser_with(r, &module_func_type)
    }

    /// Converts from `wasmparser`'s reference type, resolving concrete
    /// indices with `resolve` (which may refuse kinds not implemented).
    pub fn from_wasmparser_with(
        r: wasmparser::RefType,
        resolve: &dyn Fn(u32) -> Result<HeapType, String>,
    ) -> Result<Self, String> {
        Ok(RefType::new(
            r.is_nullable(),
            HeapType::from_wasmparser(r.heap_type(), resolve)?,
        ))
    }
}

/// The default resolver of a module's concrete type indices: every
/// concrete type is a function type (true until GC types are decoded).
fn module_func_type(index: u32) -> Result<HeapType, String> {
    Ok(HeapType::ConcreteFunc(TypeRef::Module(
        TypeIndex::from_u32(index),
    )))
}

/// A WebAssembly value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl WasmValType {
    /// `funcref`
    pub const FUNCREF: WasmValType = WasmValType::Ref(RefType::FUNCREF);
    /// `externref`
    pub const EXTERNREF: WasmValType = WasmValType::Ref(RefType::EXTERNREF);

    /// Bytes a value of this type occupies in a global or a `ValRaw` slot
    /// (references are pointers).
    pub fn byte_width(self) -> usize {
        match self {
            WasmValType::I32 | WasmValType::F32 => 4,
            WasmValType::V128 => 16,
            WasmValType::I64 | WasmValType::F64 | WasmValType::Ref(_) => 8,
        }
    }

    /// Whether a value of this type may name a GC object: an internal
    /// reference, or an `externref` (which may hold one, made by
    /// `extern.convert_any`). The collector traces such fields, and the
    /// embedding layer keeps alive such values it hands to the host.
    pub fn may_hold_gc(self) -> bool {
        matches!(self, WasmValType::Ref(r) if matches!(r.heap.top(), HeapType::Any | HeapType::Extern))
    }

    /// Whether a local of this type has a default value (every type but a
    /// non-nullable reference).
    pub fn is_defaultable(self) -> bool {
        !matches!(self, WasmValType::Ref(r) if !r.nullable)
    }

    /// This type with its concrete index, if any, mapped by `f`.
    pub fn map_concrete(self, f: impl FnOnce(TypeRef) -> TypeRef) -> WasmValType {
        match self {
            WasmValType::Ref(r) => WasmValType::Ref(r.map_concrete(f)),
            other => other,
        }
    }

    /// Whether `self <: other`, given the relation between concrete types.
    pub fn is_subtype_with(
        self,
        other: WasmValType,
        concrete_sub: impl FnOnce(TypeRef, TypeRef) -> bool,
    ) -> bool {
        match (self, other) {
            (WasmValType::Ref(a), WasmValType::Ref(b)) => a.is_subtype_with(b, concrete_sub),
            (a, b) => a == b,
        }
    }

    /// Converts from `wasmparser`'s value type; concrete indices are the
    /// module's.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, String> {
        Self::from_wasmparser_with(ty, &module_func_type)
    }

    /// Converts from `wasmparser`'s value type, resolving concrete indices
    /// with `resolve`.
    pub fn from_wasmparser_with(
        ty: wasmparser::ValType,
        resolve: &dyn Fn(u32) -> Result<HeapType, String>,
    ) -> Result<Self, String> {
        use wasmparser::ValType as V;
        Ok(match ty {
            V::I32 => Self::I32,
            V::I64 => Self::I64,
            V::F32 => Self::F32,
            V::F64 => Self::F64,
            V::V128 => Self::V128,
            V::Ref(r) => Self::Ref(RefType::from_wasmparser_with(r, resolve)?),
        })
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Module(i) => write!(f, "{}", i.as_u32()),
            TypeRef::RecGroup(i) => write!(f, "rec.{i}"),
            TypeRef::Engine(i) => write!(f, "engine.{}", i.as_u32()),
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeapType::Func => "func",
            HeapType::NoFunc => "nofunc",
            HeapType::ConcreteFunc(r)
            | HeapType::ConcreteStruct(r)
            | HeapType::ConcreteArray(r) => {
                return r.fmt(f);
            }
            HeapType::Extern => "extern",
            HeapType::NoExtern => "noextern",
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::None => "none",
            HeapType::Exn => "exn",
            HeapType::NoExn => "noexn",
        })
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, h) if h.concrete().is_none() => write!(f, "{h}ref"),
            (true, h) => write!(f, "(ref null {h})"),
            (false, h) => write!(f, "(ref {h})"),
        }
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmValType::I32 => f.write_str("i32"),
            WasmValType::I64 => f.write_str("i64"),
            WasmValType::F32 => f.write_str("f32"),
            WasmValType::F64 => f.write_str("f64"),
            WasmValType::V128 => f.write_str("v128"),
            WasmValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[WasmValType]>,
    /// Result types.
    pub results: Box<[WasmValType]>,
}

impl FuncType {
    /// Builds a signature from parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmValType>,
        results: impl IntoIterator<Item = WasmValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// This signature with every concrete type index mapped by `f`.
    pub fn map_concrete(&self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> FuncType {
        FuncType {
            params: self
                .params
                .iter()
                .map(|t| t.map_concrete(&mut *f))
                .collect(),
            results: self
                .results
                .iter()
                .map(|t| t.map_concrete(&mut *f))
                .collect(),
        }
    }

    /// Number of `ValRaw` slots the array calling convention needs.
    pub fn array_len(&self) -> usize {
        self.params.len().max(self.results.len())
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// A type definition as the type section declares it: a composite type,
/// whether it may have subtypes, and its declared supertype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubType {
    /// Whether no type may declare this one as its supertype (every type
    /// written without `sub` is final).
    pub is_final: bool,
    /// The declared supertype, if any.
    pub supertype: Option<TypeRef>,
    /// What the type describes.
    pub composite: CompositeType,
}

/// What a defined type describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompositeType {
    /// A function signature.
    Func(FuncType),
    /// A structure (GC).
    Struct(StructType),
    /// An array (GC).
    Array(ArrayType),
}

/// How a field or array element is stored: a value type, or a packed
/// integer that reads as an `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// An 8-bit integer.
    I8,
    /// A 16-bit integer.
    I16,
    /// A value of this type.
    Val(WasmValType),
}

impl StorageType {
    /// Bytes a field of this type occupies (also its alignment).
    pub fn byte_size(self) -> u32 {
        match self {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(v) => v.byte_width() as u32,
        }
    }

    /// The type of the value a read of this field produces.
    pub fn unpacked(self) -> WasmValType {
        match self {
            StorageType::I8 | StorageType::I16 => WasmValType::I32,
            StorageType::Val(v) => v,
        }
    }

    fn map_concrete(self, f: impl FnOnce(TypeRef) -> TypeRef) -> StorageType {
        match self {
            StorageType::Val(v) => StorageType::Val(v.map_concrete(f)),
            packed => packed,
        }
    }
}

/// A field of a structure, or the element of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// How it is stored.
    pub storage: StorageType,
    /// Whether it may be written after allocation.
    pub mutable: bool,
}

/// A structure type: its fields, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructType {
    /// The fields.
    pub fields: Box<[FieldType]>,
}

/// An array type: its element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayType {
    /// The element.
    pub element: FieldType,
}

/// Size of every GC object's header: its type id (u32), its kind (u32: 0
/// for a structure, 1 for an array), an array's length (u32) and a word
/// for the collector (u32). Fields and elements start after it.
pub const GC_HEADER_SIZE: u32 = 16;

/// Offsets in a GC object's header.
pub mod gc_header {
    /// Engine-wide type id (u32).
    pub const TYPE_ID: u32 = 0;
    /// 0 for a structure, 1 for an array (u32).
    pub const KIND: u32 = 4;
    /// An array's number of elements (u32).
    pub const LENGTH: u32 = 8;
    /// The collector's mark (u32).
    pub const MARK: u32 = 12;
}

impl StructType {
    /// The offset of each field from the object's start (fields in order,
    /// each at its natural alignment, after the header), and the object's
    /// size in bytes.
    pub fn layout(&self) -> (Vec<u32>, u32) {
        let mut at = GC_HEADER_SIZE;
        let offsets = self
            .fields
            .iter()
            .map(|f| {
                let size = f.storage.byte_size();
                at = at.next_multiple_of(size);
                let offset = at;
                at += size;
                offset
            })
            .collect();
        (offsets, at.next_multiple_of(8))
    }
}

impl SubType {
    /// A final function type with no supertype: what every type of a
    /// module without GC is.
    pub fn func(ty: FuncType) -> SubType {
        SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Func(ty),
        }
    }

    /// The function signature this type describes, if it describes one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The structure type this type describes, if it describes one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match &self.composite {
            CompositeType::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The array type this type describes, if it describes one.
    pub fn as_array(&self) -> Option<&ArrayType> {
        match &self.composite {
            CompositeType::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The heap type of references to this type, naming it by `r`.
    pub fn heap_type(&self, r: TypeRef) -> HeapType {
        match self.composite {
            CompositeType::Func(_) => HeapType::ConcreteFunc(r),
            CompositeType::Struct(_) => HeapType::ConcreteStruct(r),
            CompositeType::Array(_) => HeapType::ConcreteArray(r),
        }
    }

    /// This type with every concrete type index (its supertype's and
    /// those inside the composite type) mapped by `f`.
    pub fn map_concrete(&self, mut f: impl FnMut(TypeRef) -> TypeRef) -> SubType {
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut f),
            composite: match &self.composite {
                CompositeType::Func(ty) => CompositeType::Func(ty.map_concrete(&mut f)),
                CompositeType::Struct(s) => CompositeType::Struct(StructType {
                    fields: s
                        .fields
                        .iter()
                        .map(|field| FieldType {
                            storage: field.storage.map_concrete(&mut f),
                            mutable: field.mutable,
                        })
                        .collect(),
                }),
                CompositeType::Array(a) => CompositeType::Array(ArrayType {
                    element: FieldType {
                        storage: a.element.storage.map_concrete(&mut f),
                        mutable: a.element.mutable,
                    },
                }),
            },
        }
    }
}

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if bounded.
    pub maximum: Option<u64>,
    /// Whether the table is indexed by 64-bit numbers (memory64's tables).
    pub table64: bool,
}

/// A linear memory type. Sizes are in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if bounded.
    pub maximum: Option<u64>,
    /// Whether the memory is indexed by 64-bit addresses.
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
}

/// A global's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Type of the value.
    pub content: WasmValType,
    /// Whether the global may be written.
    pub mutable: bool,
}

/// The type of an importable or exportable entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityType {
    /// A function with this signature.
    Function(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag, with its payload's types as a function type's parameters.
    Tag(FuncType),
}

/// One operation of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    /// Push an `i32`.
    I32Const(i32),
    /// Push an `i64`.
    I64Const(i64),
    /// Push an `f32` given by its bits.
    F32Const(u32),
    /// Push an `f64` given by its bits.
    F64Const(u64),
    /// Push a `v128`.
    V128Const(u128),
    /// Push the value of a global (by global index).
    GlobalGet(GlobalIndex),
    /// Push a null reference.
    RefNull(RefType),
    /// Push a reference to a function (by function index).
    RefFunc(FuncIndex),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub`
    I32Sub,
    /// `i32.mul`
    I32Mul,
    /// `i64.add`
    I64Add,
    /// `i64.sub`
    I64Sub,
    /// `i64.mul`
    I64Mul,
    /// `ref.i31` (GC).
    RefI31,
    /// `struct.new` of a module type (GC): pops its fields.
    StructNew(TypeIndex),
    /// `struct.new_default` of a module type (GC).
    StructNewDefault(TypeIndex),
    /// `array.new` of a module type (GC): pops the value and the length.
    ArrayNew(TypeIndex),
    /// `array.new_default` of a module type (GC): pops the length.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed` of a module type and length (GC): pops the elements.
    ArrayNewFixed(TypeIndex, u32),
    /// `any.convert_extern` (GC): the encoding is shared, nothing changes.
    AnyConvertExtern,
    /// `extern.convert_any` (GC): likewise.
    ExternConvertAny,
}

/// A constant expression, evaluated at instantiation by a small stack
/// machine. Nearly every one is a single operation (CPython has 24,000
/// data segment offsets), kept inline rather than in an allocation of its
/// own.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstExpr {
    /// One operation.
    One(ConstOp),
    /// Any other number of operations, in order.
    Many(Box<[ConstOp]>),
}

impl Default for ConstExpr {
    fn default() -> ConstExpr {
        ConstExpr::Many(Box::new([]))
    }
}

impl From<Vec<ConstOp>> for ConstExpr {
    fn from(ops: Vec<ConstOp>) -> ConstExpr {
        match <[ConstOp; 1]>::try_from(ops) {
            Ok([op]) => ConstExpr::One(op),
            Err(ops) => ConstExpr::Many(ops.into_boxed_slice()),
        }
    }
}

impl ConstExpr {
    /// The operations, in order; the expression leaves one value.
    pub fn ops(&self) -> &[ConstOp] {
        match self {
            ConstExpr::One(op) => std::slice::from_ref(op),
            ConstExpr::Many(ops) => ops,
        }
    }

    /// Converts from `wasmparser`'s constant expression.
    pub fn from_wasmparser(expr: &wasmparser::ConstExpr<'_>) -> Result<Self, String> {
        use wasmparser::Operator as O;
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read().map_err(|e| e.to_string())?;
            ops.push(match op {
                O::I32Const { value } => ConstOp::I32Const(value),
                O::I64Const { value } => ConstOp::I64Const(value),
                O::F32Const { value } => ConstOp::F32Const(value.bits()),
                O::F64Const { value } => ConstOp::F64Const(value.bits()),
                O::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                O::GlobalGet { global_index } => {
                    ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
                }
                O::RefNull { hty } => ConstOp::RefNull(heap_type_to_ref(hty)?),
                O::RefFunc { function_index } => {
                    ConstOp::RefFunc(FuncIndex::from_u32(function_index))
                }
                O::I32Add => ConstOp::I32Add,
                O::I32Sub => ConstOp::I32Sub,
                O::I32Mul => ConstOp::I32Mul,
                O::I64Add => ConstOp::I64Add,
                O::I64Sub => ConstOp::I64Sub,
                O::I64Mul => ConstOp::I64Mul,
                O::RefI31 => ConstOp::RefI31,
                O::StructNew { struct_type_index } => {
                    ConstOp::StructNew(TypeIndex::from_u32(struct_type_index))
                }
                O::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(TypeIndex::from_u32(struct_type_index))
                }
                O::ArrayNew { array_type_index } => {
                    ConstOp::ArrayNew(TypeIndex::from_u32(array_type_index))
                }
                O::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(TypeIndex::from_u32(array_type_index))
                }
                O::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(TypeIndex::from_u32(array_type_index), array_size),
                O::AnyConvertExtern => ConstOp::AnyConvertExtern,
                O::ExternConvertAny => ConstOp::ExternConvertAny,
                O::End => continue,
                other => return Err(format!("constant expression operator {other:?}")),
            });
        }
        Ok(ConstExpr::from(ops))
    }

    /// If this expression is a single `i32.const` or `i64.const`, its value.
    pub fn as_const_offset(&self) -> Option<u64> {
        match self.ops() {
            [ConstOp::I32Const(v)] => Some(*v as u32 as u64),
            [ConstOp::I64Const(v)] => Some(*v as u64),
            _ => None,
        }
    }
}

fn heap_type_to_ref(hty: wasmparser::HeapType) -> Result<RefType, String> {
    Ok(RefType::new(
        true,
        HeapType::from_wasmparser(hty, &module_func_type)?,
    ))
}

//! Value, function, table, memory and global types, and constant expressions,
//! in Hayate's own form (independent of `wasmparser`'s lifetimes).

use std::fmt;

use crate::entity::{FuncIndex, GlobalIndex};

/// A reference type. Wasm 1.0 and 2.0 only have the two nullable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefType {
    /// `funcref`
    Func,
    /// `externref`
    Extern,
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
    /// Bytes a value of this type occupies in a global or a `ValRaw` slot
    /// (references are pointers).
    pub fn byte_width(self) -> usize {
        match self {
            WasmValType::I32 | WasmValType::F32 => 4,
            WasmValType::V128 => 16,
            WasmValType::I64 | WasmValType::F64 | WasmValType::Ref(_) => 8,
        }
    }

    /// Converts from `wasmparser`'s value type.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, String> {
        use wasmparser::ValType as V;
        Ok(match ty {
            V::I32 => Self::I32,
            V::I64 => Self::I64,
            V::F32 => Self::F32,
            V::F64 => Self::F64,
            V::V128 => Self::V128,
            V::Ref(r) => Self::Ref(RefType::from_wasmparser(r)?),
        })
    }
}

impl RefType {
    /// Converts from `wasmparser`'s reference type.
    pub fn from_wasmparser(r: wasmparser::RefType) -> Result<Self, String> {
        if r == wasmparser::RefType::FUNCREF {
            Ok(RefType::Func)
        } else if r == wasmparser::RefType::EXTERNREF {
            Ok(RefType::Extern)
        } else {
            Err(format!("reference type {r:?}"))
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefType::Func => "funcref",
            RefType::Extern => "externref",
        })
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
    use wasmparser::{AbstractHeapType, HeapType};
    match hty {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        } => Ok(RefType::Func),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern,
        } => Ok(RefType::Extern),
        other => Err(format!("heap type {other:?}")),
    }
}

//! Public type descriptions: value, function, global, memory and table
//! types, and the types of a module's imports and exports.

use std::fmt;

use hayate_environ as env;

/// A WebAssembly value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// Nullable function reference.
    FuncRef,
    /// Nullable external reference.
    ExternRef,
}

impl ValType {
    pub(crate) fn from_env(ty: env::WasmValType) -> ValType {
        match ty {
            env::WasmValType::I32 => ValType::I32,
            env::WasmValType::I64 => ValType::I64,
            env::WasmValType::F32 => ValType::F32,
            env::WasmValType::F64 => ValType::F64,
            env::WasmValType::V128 => ValType::V128,
            env::WasmValType::Ref(env::RefType::Func) => ValType::FuncRef,
            env::WasmValType::Ref(env::RefType::Extern) => ValType::ExternRef,
        }
    }

    pub(crate) fn to_env(self) -> env::WasmValType {
        match self {
            ValType::I32 => env::WasmValType::I32,
            ValType::I64 => env::WasmValType::I64,
            ValType::F32 => env::WasmValType::F32,
            ValType::F64 => env::WasmValType::F64,
            ValType::V128 => env::WasmValType::V128,
            ValType::FuncRef => env::WasmValType::Ref(env::RefType::Func),
            ValType::ExternRef => env::WasmValType::Ref(env::RefType::Extern),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_env().fmt(f)
    }
}

/// A reference type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefType {
    /// `funcref`
    FuncRef,
    /// `externref`
    ExternRef,
}

impl RefType {
    pub(crate) fn from_env(r: env::RefType) -> RefType {
        match r {
            env::RefType::Func => RefType::FuncRef,
            env::RefType::Extern => RefType::ExternRef,
        }
    }

    pub(crate) fn to_env(self) -> env::RefType {
        match self {
            RefType::FuncRef => env::RefType::Func,
            RefType::ExternRef => env::RefType::Extern,
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub(crate) inner: env::FuncType,
}

impl FuncType {
    /// A signature with these parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            inner: env::FuncType::new(
                params.into_iter().map(ValType::to_env),
                results.into_iter().map(ValType::to_env),
            ),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.inner.params.iter().map(|t| ValType::from_env(*t))
    }

    /// Result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.inner.results.iter().map(|t| ValType::from_env(*t))
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Whether a global can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// A global's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutability,
        }
    }

    /// The value type.
    pub fn content(&self) -> ValType {
        self.content
    }

    /// The mutability.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_env(g: env::GlobalType) -> GlobalType {
        GlobalType {
            content: ValType::from_env(g.content),
            mutability: if g.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
        }
    }
}

/// A memory type, in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub(crate) inner: env::MemoryType,
}

impl MemoryType {
    /// A 32-bit memory of `minimum` pages, at most `maximum`.
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            inner: env::MemoryType {
                minimum: minimum.into(),
                maximum: maximum.map(Into::into),
                memory64: false,
                shared: false,
            },
        }
    }

    /// Minimum size in pages.
    pub fn minimum(&self) -> u64 {
        self.inner.minimum
    }

    /// Maximum size in pages.
    pub fn maximum(&self) -> Option<u64> {
        self.inner.maximum
    }
}

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    pub(crate) inner: env::TableType,
}

impl TableType {
    /// A table of `element`s, `minimum` initially, at most `maximum`.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            inner: env::TableType {
                element: element.to_env(),
                minimum: minimum.into(),
                maximum: maximum.map(Into::into),
            },
        }
    }

    /// Element type.
    pub fn element(&self) -> RefType {
        RefType::from_env(self.inner.element)
    }

    /// Minimum number of elements.
    pub fn minimum(&self) -> u64 {
        self.inner.minimum
    }

    /// Maximum number of elements.
    pub fn maximum(&self) -> Option<u64> {
        self.inner.maximum
    }
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
}

impl ExternType {
    pub(crate) fn from_env(ty: env::EntityType) -> ExternType {
        match ty {
            env::EntityType::Function(f) => ExternType::Func(FuncType { inner: f }),
            env::EntityType::Global(g) => ExternType::Global(GlobalType::from_env(g)),
            env::EntityType::Table(t) => ExternType::Table(TableType { inner: t }),
            env::EntityType::Memory(m) => ExternType::Memory(MemoryType { inner: m }),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone)]
pub struct ImportType<'a> {
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl<'a> ImportType<'a> {
    /// Module name.
    pub fn module(&self) -> &'a str {
        self.module
    }
    /// Field name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// Expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Debug, Clone)]
pub struct ExportType<'a> {
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl<'a> ExportType<'a> {
    /// Export name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// Type of the exported item.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

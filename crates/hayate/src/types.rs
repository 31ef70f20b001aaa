//! Public type descriptions: value, function, global, memory and table
//! types, and the types of a module's imports and exports.

use std::fmt;
use std::sync::Arc;

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

/// A function signature. Cheap to clone, and cloning writes nothing that
/// other threads share: a signature of up to 14 types is held
/// inline (most are), a longer one shares the engine registry's copy.
#[derive(Clone)]
pub struct FuncType {
    repr: FuncTypeRepr,
}

/// How many parameter and result types a [`FuncType`] holds inline.
const INLINE_TYPES: usize = 14;

#[derive(Clone)]
enum FuncTypeRepr {
    /// Parameters then results, `len` types in all.
    Inline {
        params: u8,
        len: u8,
        types: [env::WasmValType; INLINE_TYPES],
    },
    /// A signature too long to hold inline. An `Arc` is shared, but
    /// every thread that clones it writes its count: not for the common
    /// case.
    Shared(Arc<env::FuncType>),
}

impl FuncType {
    /// A signature with these parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType::from_env(&Arc::new(env::FuncType::new(
            params.into_iter().map(ValType::to_env),
            results.into_iter().map(ValType::to_env),
        )))
    }

    /// The signature `ty`, copied inline if it fits.
    pub(crate) fn from_env(ty: &Arc<env::FuncType>) -> FuncType {
        let len = ty.params.len() + ty.results.len();
        if len > INLINE_TYPES {
            return FuncType {
                repr: FuncTypeRepr::Shared(ty.clone()),
            };
        }
        let mut types = [env::WasmValType::I32; INLINE_TYPES];
        for (slot, t) in types.iter_mut().zip(ty.params.iter().chain(&*ty.results)) {
            *slot = *t;
        }
        FuncType {
            repr: FuncTypeRepr::Inline {
                params: ty.params.len() as u8,
                len: len as u8,
                types,
            },
        }
    }

    /// The parameter types, in the shared vocabulary.
    pub(crate) fn params_env(&self) -> &[env::WasmValType] {
        match &self.repr {
            FuncTypeRepr::Inline { params, types, .. } => &types[..usize::from(*params)],
            FuncTypeRepr::Shared(ty) => &ty.params,
        }
    }

    /// The result types, in the shared vocabulary.
    pub(crate) fn results_env(&self) -> &[env::WasmValType] {
        match &self.repr {
            FuncTypeRepr::Inline { params, len, types } => {
                &types[usize::from(*params)..usize::from(*len)]
            }
            FuncTypeRepr::Shared(ty) => &ty.results,
        }
    }

    /// The signature in the shared vocabulary (a copy), to register it.
    pub(crate) fn to_env(&self) -> env::FuncType {
        env::FuncType::new(
            self.params_env().iter().copied(),
            self.results_env().iter().copied(),
        )
    }

    /// Parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.params_env().iter().map(|t| ValType::from_env(*t))
    }

    /// Result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.results_env().iter().map(|t| ValType::from_env(*t))
    }
}

impl PartialEq for FuncType {
    fn eq(&self, other: &FuncType) -> bool {
        self.params_env() == other.params_env() && self.results_env() == other.results_env()
    }
}

impl Eq for FuncType {}

impl std::hash::Hash for FuncType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.params_env().hash(state);
        self.results_env().hash(state);
    }
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuncType")
            .field("params", &self.params_env())
            .field("results", &self.results_env())
            .finish()
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_env().fmt(f)
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

    /// A 64-bit memory (the memory64 proposal) of `minimum` pages, at most
    /// `maximum`. Panics if the minimum is above the maximum or either is
    /// above the 2^48 pages a 64-bit memory may have (use
    /// [`MemoryType::builder`] for an error instead).
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryTypeBuilder::new()
            .memory64(true)
            .min(minimum)
            .max(maximum)
            .build()
            .expect("a valid 64-bit memory type")
    }

    /// Minimum size in pages.
    pub fn minimum(&self) -> u64 {
        self.inner.minimum
    }

    /// Maximum size in pages.
    pub fn maximum(&self) -> Option<u64> {
        self.inner.maximum
    }

    /// A builder for memory types with every option, as in Wasmtime.
    pub fn builder() -> MemoryTypeBuilder {
        MemoryTypeBuilder::default()
    }

    /// Whether this is a 64-bit memory (`memory64`).
    pub fn is_64(&self) -> bool {
        self.inner.memory64
    }

    /// Whether this is a shared memory (threads proposal).
    pub fn is_shared(&self) -> bool {
        self.inner.shared
    }

    /// The page size in bytes: always 64 KiB here (Hayate does not
    /// implement the custom-page-sizes proposal).
    pub fn page_size(&self) -> u64 {
        env::WASM_PAGE_SIZE
    }

    /// The base-2 logarithm of [`MemoryType::page_size`]: 16.
    pub fn page_size_log2(&self) -> u8 {
        WASM_PAGE_SIZE_LOG2
    }
}

const WASM_PAGE_SIZE_LOG2: u8 = 16;

/// Most pages a 32-bit memory of 64 KiB pages may have (4 GiB).
const MAX_PAGES_32: u64 = 1 << 16;

/// Most pages a 64-bit memory of 64 KiB pages may have (2^64 bytes).
const MAX_PAGES_64: u64 = 1 << 48;

/// Builds a [`MemoryType`], checking it as Wasmtime's `MemoryTypeBuilder`
/// does. Hayate implements unshared memories with 64 KiB pages: asking
/// for a shared memory or another page size makes
/// [`MemoryTypeBuilder::build`] fail saying so.
#[derive(Debug, Clone)]
pub struct MemoryTypeBuilder {
    min: u64,
    max: Option<u64>,
    memory64: bool,
    shared: bool,
    page_size_log2: u8,
}

impl Default for MemoryTypeBuilder {
    fn default() -> Self {
        MemoryTypeBuilder {
            min: 0,
            max: None,
            memory64: false,
            shared: false,
            page_size_log2: WASM_PAGE_SIZE_LOG2,
        }
    }
}

impl MemoryTypeBuilder {
    /// A builder for a 32-bit memory of 0 pages, unbounded.
    pub fn new() -> MemoryTypeBuilder {
        MemoryTypeBuilder::default()
    }

    /// The minimum size, in pages.
    pub fn min(&mut self, minimum: u64) -> &mut Self {
        self.min = minimum;
        self
    }

    /// The maximum size, in pages (`None`: no maximum).
    pub fn max(&mut self, maximum: Option<u64>) -> &mut Self {
        self.max = maximum;
        self
    }

    /// Whether the memory is 64-bit (the memory64 proposal).
    pub fn memory64(&mut self, memory64: bool) -> &mut Self {
        self.memory64 = memory64;
        self
    }

    /// Whether the memory is shared. Not supported: `build` fails if set.
    pub fn shared(&mut self, shared: bool) -> &mut Self {
        self.shared = shared;
        self
    }

    /// The base-2 logarithm of the page size. Only 16 (64 KiB pages, the
    /// default) is supported: `build` fails for any other value.
    pub fn page_size_log2(&mut self, page_size_log2: u8) -> &mut Self {
        self.page_size_log2 = page_size_log2;
        self
    }

    /// The memory type, or an error if it is invalid (the minimum above
    /// the maximum, either above the 65536 pages of a 32-bit memory or the
    /// 2^48 of a 64-bit one) or uses what Hayate does not implement.
    pub fn build(&self) -> crate::Result<MemoryType> {
        use crate::error::bail;
        if self.shared {
            bail!("shared memories (the threads proposal) are not supported");
        }
        if self.page_size_log2 != WASM_PAGE_SIZE_LOG2 {
            bail!(
                "a page size of 2^{} bytes is not supported: only 64 KiB pages (page_size_log2 = 16)",
                self.page_size_log2
            );
        }
        let (limit, bits) = match self.memory64 {
            true => (MAX_PAGES_64, 64),
            false => (MAX_PAGES_32, 32),
        };
        if self.min > limit {
            bail!(
                "memory minimum of {} pages exceeds the {bits}-bit limit of {limit} pages",
                self.min
            );
        }
        if let Some(max) = self.max {
            if max > limit {
                bail!(
                    "memory maximum of {max} pages exceeds the {bits}-bit limit of {limit} pages"
                );
            }
            if self.min > max {
                bail!(
                    "memory minimum of {} pages is greater than its maximum of {max}",
                    self.min
                );
            }
        }
        Ok(MemoryType {
            inner: env::MemoryType {
                minimum: self.min,
                maximum: self.max,
                memory64: self.memory64,
                shared: false,
            },
        })
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
                table64: false,
            },
        }
    }

    /// A table indexed by 64-bit numbers (memory64's tables) of
    /// `element`s, `minimum` initially, at most `maximum`.
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            inner: env::TableType {
                element: element.to_env(),
                minimum,
                maximum,
                table64: true,
            },
        }
    }

    /// Whether the table is indexed by 64-bit numbers.
    pub fn is_64(&self) -> bool {
        self.inner.table64
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
            env::EntityType::Function(f) => ExternType::Func(FuncType::from_env(&Arc::new(f))),
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

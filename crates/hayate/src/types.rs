//! Public type descriptions: value, function, global, memory and table
//! types, and the types of a module's imports and exports.

use std::fmt;
use std::sync::Arc;

use hayate_environ as env;
use hayate_environ::VMSharedTypeIndex;

use crate::{Engine, Error, Result};

/// A WebAssembly value type.
///
/// A concrete reference type holds its [`FuncType`] by value, which keeps
/// signatures inline (see there) and makes this type large; values of it
/// are short-lived descriptions, not stored per WebAssembly value.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// A reference.
    Ref(RefType),
}

impl ValType {
    /// `funcref`: a nullable reference to any function.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`: a nullable host reference.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `nullfuncref`: only the null function reference.
    pub const NULLFUNCREF: ValType = ValType::Ref(RefType::NULLFUNCREF);
    /// `nullexternref`: only the null host reference.
    pub const NULLEXTERNREF: ValType = ValType::Ref(RefType::NULLEXTERNREF);
    /// `exnref`: a nullable exception reference.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);
    /// `anyref`: a nullable internal (GC) reference.
    pub const ANYREF: ValType = ValType::Ref(RefType::ANYREF);

    /// Whether this is a reference type.
    pub fn is_ref(&self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(&self) -> Option<&RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a value of this type may be used where `other` is expected
    /// (WebAssembly subtyping).
    pub fn matches(&self, other: &ValType) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }

    /// This type from its engine-form description (see
    /// `hayate_runtime::type_registry`).
    pub(crate) fn from_env(engine: &Engine, ty: env::WasmValType) -> ValType {
        ValType::from_env_with(ty, |r| RefType::from_env(engine, r))
    }

    /// `ty`, its reference type (if it is one) described by `reference`.
    fn from_env_with(
        ty: env::WasmValType,
        reference: impl FnOnce(env::RefType) -> RefType,
    ) -> ValType {
        match ty {
            env::WasmValType::I32 => ValType::I32,
            env::WasmValType::I64 => ValType::I64,
            env::WasmValType::F32 => ValType::F32,
            env::WasmValType::F64 => ValType::F64,
            env::WasmValType::V128 => ValType::V128,
            env::WasmValType::Ref(r) => ValType::Ref(reference(r)),
        }
    }

    /// This type in engine form for `engine`. Fails only for a concrete
    /// reference type that names a type of another engine.
    pub(crate) fn to_env(&self, engine: &Engine) -> Result<env::WasmValType> {
        Ok(match self {
            ValType::I32 => env::WasmValType::I32,
            ValType::I64 => env::WasmValType::I64,
            ValType::F32 => env::WasmValType::F32,
            ValType::F64 => env::WasmValType::F64,
            ValType::V128 => env::WasmValType::V128,
            ValType::Ref(r) => env::WasmValType::Ref(r.to_env(engine)?),
        })
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A reference type: a heap type, and whether null is a value of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefType {
    nullable: bool,
    heap_type: HeapType,
}

impl RefType {
    /// `funcref`
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    /// `externref`
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);
    /// `nullfuncref`
    pub const NULLFUNCREF: RefType = RefType::new(true, HeapType::NoFunc);
    /// `nullexternref`
    pub const NULLEXTERNREF: RefType = RefType::new(true, HeapType::NoExtern);
    /// `exnref`
    pub const EXNREF: RefType = RefType::new(true, HeapType::Exn);
    /// `anyref`
    pub const ANYREF: RefType = RefType::new(true, HeapType::Any);

    /// The type `(ref null? heap_type)`.
    pub const fn new(nullable: bool, heap_type: HeapType) -> RefType {
        RefType {
            nullable,
            heap_type,
        }
    }

    /// Whether null is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// What a non-null reference of this type points to.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap_type
    }

    /// Whether a reference of this type may be used where `other` is
    /// expected.
    pub fn matches(&self, other: &RefType) -> bool {
        (!self.nullable || other.nullable) && self.heap_type.matches(&other.heap_type)
    }

    pub(crate) fn from_env(engine: &Engine, r: env::RefType) -> RefType {
        RefType::new(r.nullable, HeapType::from_env(engine, r.heap))
    }

    pub(crate) fn to_env(&self, engine: &Engine) -> Result<env::RefType> {
        Ok(env::RefType::new(
            self.nullable,
            self.heap_type.to_env(engine)?,
        ))
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abstract_name = |h: &HeapType| -> Option<&'static str> {
            Some(match h {
                HeapType::Func => "func",
                HeapType::NoFunc => "nofunc",
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
                HeapType::ConcreteFunc(_)
                | HeapType::ConcreteStruct(_)
                | HeapType::ConcreteArray(_) => return None,
            })
        };
        match (self.nullable, abstract_name(&self.heap_type)) {
            (true, Some("nofunc")) => f.write_str("nullfuncref"),
            (true, Some("noextern")) => f.write_str("nullexternref"),
            (true, Some("none")) => f.write_str("nullref"),
            (true, Some("noexn")) => f.write_str("nullexnref"),
            (true, Some(name)) => write!(f, "{name}ref"),
            (false, Some(name)) => write!(f, "(ref {name})"),
            (nullable, None) => {
                let null = if nullable { "null " } else { "" };
                match &self.heap_type {
                    HeapType::ConcreteFunc(ty) => write!(f, "(ref {null}{ty})"),
                    HeapType::ConcreteStruct(ty) => write!(f, "(ref {null}(struct {:?}))", ty.0),
                    HeapType::ConcreteArray(ty) => write!(f, "(ref {null}(array {:?}))", ty.0),
                    _ => unreachable!("only concrete types have no name"),
                }
            }
        }
    }
}

/// What a reference points to.
#[allow(clippy::large_enum_variant)] // see `ValType`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function.
    Func,
    /// No function: only null.
    NoFunc,
    /// A function of this type (or a declared subtype of it). The type
    /// comes from an engine ([`Func::ty`](crate::Func::ty), a module's
    /// imports and exports), and is only meaningful there.
    ConcreteFunc(FuncType),
    /// Any host reference.
    Extern,
    /// No host reference: only null.
    NoExtern,
    /// A structure of this type (or a declared subtype of it).
    ConcreteStruct(StructType),
    /// An array of this type (or a declared subtype of it).
    ConcreteArray(ArrayType),
    /// Any internal (GC) reference.
    Any,
    /// A reference comparable with `ref.eq`.
    Eq,
    /// An unboxed 31-bit integer.
    I31,
    /// Any structure.
    Struct,
    /// Any array.
    Array,
    /// No internal reference: only null.
    None,
    /// Any exception.
    Exn,
    /// No exception: only null.
    NoExn,
}

impl HeapType {
    /// Whether every reference to `self` is a reference to `other`.
    pub fn matches(&self, other: &HeapType) -> bool {
        self.abstract_env()
            .is_subtype_with(other.abstract_env(), |_, _| match (self, other) {
                (HeapType::ConcreteFunc(a), HeapType::ConcreteFunc(b)) => a.matches(b),
                (HeapType::ConcreteStruct(a), HeapType::ConcreteStruct(b)) => a.0.matches(&b.0),
                (HeapType::ConcreteArray(a), HeapType::ConcreteArray(b)) => a.0.matches(&b.0),
                _ => false,
            })
    }

    /// The top of this type's hierarchy (`func`, `extern`, `any`, `exn`).
    pub(crate) fn abstract_top(&self) -> Option<env::HeapType> {
        Some(self.abstract_env().top())
    }

    /// The heap type with its concrete type replaced by a placeholder:
    /// enough to compare hierarchies and abstract types.
    fn abstract_env(&self) -> env::HeapType {
        match self {
            HeapType::Func => env::HeapType::Func,
            HeapType::NoFunc => env::HeapType::NoFunc,
            HeapType::ConcreteFunc(_) => env::HeapType::ConcreteFunc(env::TypeRef::RecGroup(0)),
            HeapType::ConcreteStruct(_) => env::HeapType::ConcreteStruct(env::TypeRef::RecGroup(0)),
            HeapType::ConcreteArray(_) => env::HeapType::ConcreteArray(env::TypeRef::RecGroup(0)),
            HeapType::Extern => env::HeapType::Extern,
            HeapType::NoExtern => env::HeapType::NoExtern,
            HeapType::Any => env::HeapType::Any,
            HeapType::Eq => env::HeapType::Eq,
            HeapType::I31 => env::HeapType::I31,
            HeapType::Struct => env::HeapType::Struct,
            HeapType::Array => env::HeapType::Array,
            HeapType::None => env::HeapType::None,
            HeapType::Exn => env::HeapType::Exn,
            HeapType::NoExn => env::HeapType::NoExn,
        }
    }

    pub(crate) fn from_env(engine: &Engine, h: env::HeapType) -> HeapType {
        match h {
            env::HeapType::ConcreteFunc(env::TypeRef::Engine(id)) => {
                HeapType::ConcreteFunc(FuncType::from_registry(engine, id))
            }
            env::HeapType::ConcreteStruct(env::TypeRef::Engine(id)) => {
                HeapType::ConcreteStruct(StructType(GcType::new(engine, id)))
            }
            env::HeapType::ConcreteArray(env::TypeRef::Engine(id)) => {
                HeapType::ConcreteArray(ArrayType(GcType::new(engine, id)))
            }
            abstract_type => HeapType::from_env_abstract(abstract_type)
                .unwrap_or_else(|| unreachable!("public types are made from engine types")),
        }
    }

    /// The public heap type of abstract engine heap type `h`; `None` for a
    /// concrete one, which only its engine can describe.
    fn from_env_abstract(h: env::HeapType) -> Option<HeapType> {
        Some(match h {
            env::HeapType::Func => HeapType::Func,
            env::HeapType::NoFunc => HeapType::NoFunc,
            env::HeapType::Extern => HeapType::Extern,
            env::HeapType::NoExtern => HeapType::NoExtern,
            env::HeapType::Any => HeapType::Any,
            env::HeapType::Eq => HeapType::Eq,
            env::HeapType::I31 => HeapType::I31,
            env::HeapType::Struct => HeapType::Struct,
            env::HeapType::Array => HeapType::Array,
            env::HeapType::None => HeapType::None,
            env::HeapType::Exn => HeapType::Exn,
            env::HeapType::NoExn => HeapType::NoExn,
            env::HeapType::ConcreteFunc(_)
            | env::HeapType::ConcreteStruct(_)
            | env::HeapType::ConcreteArray(_) => return None,
        })
    }

    /// For a concrete type: the serial number of the engine it belongs to
    /// and its engine form there, without registering anything. `None`
    /// for an abstract type, or a signature not taken from an engine.
    fn registered(&self) -> Option<(u64, env::HeapType)> {
        let engine_ref = env::TypeRef::Engine;
        Some(match self {
            HeapType::ConcreteFunc(f) => {
                let r = f.registered?;
                (r.engine, env::HeapType::ConcreteFunc(engine_ref(r.id)))
            }
            HeapType::ConcreteStruct(s) => (
                s.0.engine.serial(),
                env::HeapType::ConcreteStruct(engine_ref(s.0.id)),
            ),
            HeapType::ConcreteArray(a) => (
                a.0.engine.serial(),
                env::HeapType::ConcreteArray(engine_ref(a.0.id)),
            ),
            _ => return None,
        })
    }

    /// Whether this names a concrete type.
    fn is_concrete(&self) -> bool {
        matches!(
            self,
            HeapType::ConcreteFunc(_) | HeapType::ConcreteStruct(_) | HeapType::ConcreteArray(_)
        )
    }

    pub(crate) fn to_env(&self, engine: &Engine) -> Result<env::HeapType> {
        Ok(match self {
            HeapType::ConcreteStruct(ty) => {
                env::HeapType::ConcreteStruct(env::TypeRef::Engine(ty.0.id_in(engine)?))
            }
            HeapType::ConcreteArray(ty) => {
                env::HeapType::ConcreteArray(env::TypeRef::Engine(ty.0.id_in(engine)?))
            }
            HeapType::ConcreteFunc(ty) => {
                env::HeapType::ConcreteFunc(env::TypeRef::Engine(ty.type_id(engine)?))
            }
            other => other.abstract_env(),
        })
    }
}

/// A structure or array type of an engine: its id there, and the engine
/// to describe it.
#[derive(Clone)]
struct GcType {
    engine: Engine,
    id: VMSharedTypeIndex,
}

impl GcType {
    fn new(engine: &Engine, id: VMSharedTypeIndex) -> GcType {
        GcType {
            engine: engine.clone(),
            id,
        }
    }

    fn id_in(&self, engine: &Engine) -> Result<VMSharedTypeIndex> {
        match Engine::same(&self.engine, engine) {
            true => Ok(self.id),
            false => Err(Error::msg(
                "a concrete reference type names a type of another engine",
            )),
        }
    }

    fn matches(&self, other: &GcType) -> bool {
        Engine::same(&self.engine, &other.engine) && self.engine.is_subtype(self.id, other.id)
    }

    fn field(&self, f: env::FieldType) -> FieldType {
        FieldType {
            mutable: f.mutable,
            storage: match f.storage {
                env::StorageType::I8 => StorageType::I8,
                env::StorageType::I16 => StorageType::I16,
                env::StorageType::Val(v) => {
                    StorageType::ValType(ValType::from_env(&self.engine, v))
                }
            },
        }
    }
}

impl PartialEq for GcType {
    fn eq(&self, other: &GcType) -> bool {
        Engine::same(&self.engine, &other.engine) && self.id == other.id
    }
}

impl Eq for GcType {}

impl std::hash::Hash for GcType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.engine.serial().hash(state);
        self.id.hash(state);
    }
}

impl fmt::Debug for GcType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "type {}", self.id.as_u32())
    }
}

/// How a field or array element is stored.
#[allow(clippy::large_enum_variant)] // see `ValType`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer, read as an `i32`.
    I8,
    /// A packed 16-bit integer, read as an `i32`.
    I16,
    /// A value of this type.
    ValType(ValType),
}

/// A field of a structure, or an array's element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldType {
    mutable: bool,
    storage: StorageType,
}

impl FieldType {
    /// Whether it may be written.
    pub fn is_mutable(&self) -> bool {
        self.mutable
    }

    /// How it is stored.
    pub fn element_type(&self) -> &StorageType {
        &self.storage
    }
}

/// A structure type of an engine (from a module's types).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructType(GcType);

impl StructType {
    /// The fields, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        let fields = match &self.0.engine.sub_type(self.0.id).composite {
            env::CompositeType::Struct(s) => s.fields.clone(),
            _ => Box::new([]),
        };
        fields.into_vec().into_iter().map(|f| self.0.field(f))
    }
}

/// An array type of an engine (from a module's types).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArrayType(GcType);

impl ArrayType {
    /// The element type.
    pub fn field_type(&self) -> FieldType {
        match &self.0.engine.sub_type(self.0.id).composite {
            env::CompositeType::Array(a) => self.0.field(a.element),
            _ => unreachable!("an array type's id names an array type"),
        }
    }
}

/// A function signature. Cheap to clone, and cloning writes nothing that
/// other threads share: a signature of up to 14 types is held
/// inline (most are), a longer one shares the engine registry's copy.
///
/// The types are held in engine form: a concrete reference type among
/// them is an id in an engine's type registry, meaningful only there. A
/// signature that has one remembers which engine (and how to describe
/// the concrete type); one taken from an engine also remembers its own
/// id there, so that naming it costs no registration.
#[derive(Clone)]
pub struct FuncType {
    repr: FuncTypeRepr,
    /// The engine and id this signature came from, if it came from one.
    registered: Option<Registered>,
    /// How to describe the concrete types among the parameters and
    /// results (none if there are none).
    concrete: Option<Concrete>,
}

/// An engine's serial number (never reused, unlike its address) and the
/// id of a type there.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Registered {
    engine: u64,
    id: VMSharedTypeIndex,
}

/// What a signature with concrete reference types keeps to describe them.
#[derive(Clone)]
enum Concrete {
    /// Taken from this engine: its registry describes them.
    Engine(Engine),
    /// Made by [`FuncType::new`] from public types of the engine with
    /// this serial number, which describe themselves.
    Public(u64, Arc<[ValType]>),
}

impl Concrete {
    fn engine_serial(&self) -> u64 {
        match self {
            Concrete::Engine(e) => e.serial(),
            Concrete::Public(serial, _) => *serial,
        }
    }
}

/// How many parameter and result types a [`FuncType`] holds inline.
const INLINE_TYPES: usize = 14;

// Inline is the common case, and the point: no allocation, no shared count.
#[allow(clippy::large_enum_variant)]
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
    ///
    /// # Panics
    /// If a concrete reference type among them names a signature that
    /// did not come from an engine ([`Func::ty`](crate::Func::ty), a
    /// module's imports and exports, ...), or signatures of two engines:
    /// a concrete type is only meaningful in the engine that registered it.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        let params: Vec<ValType> = params.into_iter().collect();
        let results: Vec<ValType> = results.into_iter().collect();
        let mut serial = None;
        let mut env_ty = |t: &ValType| -> env::WasmValType {
            let ValType::Ref(r) = t else {
                return t.to_env_abstract().expect("not a reference");
            };
            if !r.heap_type().is_concrete() {
                return t.to_env_abstract().expect("not a concrete type");
            }
            let (engine, heap) = r
                .heap_type()
                .registered()
                .expect("a concrete reference type names a signature taken from an engine");
            assert!(
                serial.replace(engine).is_none_or(|s| s == engine),
                "the concrete types of a signature come from one engine"
            );
            env::WasmValType::Ref(env::RefType::new(r.is_nullable(), heap))
        };
        let params_env: Vec<env::WasmValType> = params.iter().map(&mut env_ty).collect();
        let results_env: Vec<env::WasmValType> = results.iter().map(&mut env_ty).collect();
        let ty = env::FuncType::new(params_env, results_env);
        let mut out = FuncType::from_env_unregistered(&Arc::new(ty));
        out.concrete = serial.map(|serial| {
            let all: Arc<[ValType]> = params.into_iter().chain(results).collect();
            Concrete::Public(serial, all)
        });
        out
    }

    /// The signature with id `id` in `engine`.
    pub(crate) fn from_registry(engine: &Engine, id: VMSharedTypeIndex) -> FuncType {
        let ty = engine.lookup_type(id);
        let mut out = FuncType::from_env_unregistered(ty);
        out.registered = Some(Registered {
            engine: engine.serial(),
            id,
        });
        let concrete = ty
            .params
            .iter()
            .chain(&*ty.results)
            .any(|t| matches!(t, env::WasmValType::Ref(r) if r.heap.concrete().is_some()));
        // Only a signature with concrete types holds the engine: others
        // (nearly all) stay free of its shared count.
        out.concrete = concrete.then(|| Concrete::Engine(engine.clone()));
        out
    }

    /// The signature `ty`, copied inline if it fits, not yet tied to an
    /// engine.
    fn from_env_unregistered(ty: &Arc<env::FuncType>) -> FuncType {
        let len = ty.params.len() + ty.results.len();
        let repr = if len > INLINE_TYPES {
            FuncTypeRepr::Shared(ty.clone())
        } else {
            let mut types = [env::WasmValType::I32; INLINE_TYPES];
            for (slot, t) in types.iter_mut().zip(ty.params.iter().chain(&*ty.results)) {
                *slot = *t;
            }
            FuncTypeRepr::Inline {
                params: ty.params.len() as u8,
                len: len as u8,
                types,
            }
        };
        FuncType {
            repr,
            registered: None,
            concrete: None,
        }
    }

    /// This signature's id in `engine`, registering it if needed. Fails if
    /// it has concrete types of another engine.
    pub(crate) fn type_id(&self, engine: &Engine) -> Result<VMSharedTypeIndex> {
        if let Some(r) = self.registered
            && r.engine == engine.serial()
        {
            return Ok(r.id);
        }
        match &self.concrete {
            Some(c) if c.engine_serial() != engine.serial() => Err(Error::msg(
                "a concrete reference type names a type of another engine",
            )),
            _ => Ok(engine.register_type(&self.to_env())),
        }
    }

    /// Whether a function of this signature may be used where one of
    /// `other` is expected.
    fn matches(&self, other: &FuncType) -> bool {
        match (self.registered, other.registered) {
            (Some(a), Some(b)) if a.engine == b.engine => {
                a.id == b.id
                    || match &self.concrete {
                        Some(Concrete::Engine(e)) => e.is_subtype(a.id, b.id),
                        _ => false,
                    }
            }
            _ => self == other,
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

    /// Public type number `i` of the parameters then results, whose
    /// engine form is `t`.
    fn public(&self, i: usize, t: &env::WasmValType) -> ValType {
        match &self.concrete {
            None => ValType::from_env_abstract(*t),
            Some(Concrete::Engine(engine)) => ValType::from_env(engine, *t),
            Some(Concrete::Public(_, all)) => all[i].clone(),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        let params = self.params_env();
        params.iter().enumerate().map(|(i, t)| self.public(i, t))
    }

    /// Result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        let n = self.params_env().len();
        let results = self.results_env();
        results
            .iter()
            .enumerate()
            .map(move |(i, t)| self.public(n + i, t))
    }
}

impl ValType {
    /// The value type of engine-form `ty` that has no concrete type.
    pub(crate) fn from_env_abstract(ty: env::WasmValType) -> ValType {
        ValType::from_env_with(ty, |r| {
            let heap = HeapType::from_env_abstract(r.heap)
                .unwrap_or_else(|| unreachable!("a concrete type is described through its engine"));
            RefType::new(r.nullable, heap)
        })
    }

    /// This type in engine form if it names no concrete type.
    pub(crate) fn to_env_abstract(&self) -> Option<env::WasmValType> {
        Some(match self {
            ValType::I32 => env::WasmValType::I32,
            ValType::I64 => env::WasmValType::I64,
            ValType::F32 => env::WasmValType::F32,
            ValType::F64 => env::WasmValType::F64,
            ValType::V128 => env::WasmValType::V128,
            ValType::Ref(r) if r.heap_type().is_concrete() => return None,
            ValType::Ref(r) => env::WasmValType::Ref(env::RefType::new(
                r.is_nullable(),
                r.heap_type().abstract_env(),
            )),
        })
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// The mutability.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_env(engine: &Engine, g: env::GlobalType) -> GlobalType {
        GlobalType {
            content: ValType::from_env(engine, g.content),
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableType {
    element: RefType,
    pub(crate) minimum: u64,
    pub(crate) maximum: Option<u64>,
    pub(crate) table64: bool,
}

impl TableType {
    /// A table of `element`s, `minimum` initially, at most `maximum`.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            element,
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            table64: false,
        }
    }

    /// A table indexed by 64-bit numbers (memory64's tables) of
    /// `element`s, `minimum` initially, at most `maximum`.
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element,
            minimum,
            maximum,
            table64: true,
        }
    }

    /// Whether the table is indexed by 64-bit numbers.
    pub fn is_64(&self) -> bool {
        self.table64
    }

    /// Element type.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// Minimum number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// Maximum number of elements.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub(crate) fn from_env(engine: &Engine, t: env::TableType) -> TableType {
        TableType {
            element: RefType::from_env(engine, t.element),
            minimum: t.minimum,
            maximum: t.maximum,
            table64: t.table64,
        }
    }

    pub(crate) fn to_env(&self, engine: &Engine) -> Result<env::TableType> {
        Ok(env::TableType {
            element: self.element.to_env(engine)?,
            minimum: self.minimum,
            maximum: self.maximum,
            table64: self.table64,
        })
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
    /// A tag.
    Tag(TagType),
}

/// A tag's type: a function type whose parameters are the types of the
/// payload of the exceptions thrown with the tag, and which has no results.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// The tag type of signature `ty`.
    pub fn new(ty: FuncType) -> TagType {
        TagType { ty }
    }

    /// The signature: the payload's types as parameters, no results.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

impl ExternType {
    /// The public description of `ty`, in engine form in `engine`
    /// (functions by their ids, since a module's signature is one of its
    /// types).
    pub(crate) fn from_env(engine: &Engine, ty: EngineEntityType) -> ExternType {
        match ty {
            EngineEntityType::Function(id) => ExternType::Func(FuncType::from_registry(engine, id)),
            EngineEntityType::Global(g) => ExternType::Global(GlobalType::from_env(engine, g)),
            EngineEntityType::Table(t) => ExternType::Table(TableType::from_env(engine, t)),
            EngineEntityType::Memory(m) => ExternType::Memory(MemoryType { inner: m }),
            EngineEntityType::Tag(id) => {
                ExternType::Tag(TagType::new(FuncType::from_registry(engine, id)))
            }
        }
    }
}

impl ExternType {
    /// This type in engine form for `engine`.
    pub(crate) fn to_engine(&self, engine: &Engine) -> Result<EngineEntityType> {
        Ok(match self {
            ExternType::Func(f) => EngineEntityType::Function(f.type_id(engine)?),
            ExternType::Global(g) => EngineEntityType::Global(env::GlobalType {
                content: g.content().to_env(engine)?,
                mutable: g.mutability() == Mutability::Var,
            }),
            ExternType::Table(t) => EngineEntityType::Table(t.to_env(engine)?),
            ExternType::Memory(m) => EngineEntityType::Memory(m.inner),
            ExternType::Tag(t) => EngineEntityType::Tag(t.ty().type_id(engine)?),
        })
    }
}

/// An import's or export's type in engine form: what a module's
/// `EntityType` becomes once its type indices are mapped to engine ids.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EngineEntityType {
    Function(VMSharedTypeIndex),
    Global(env::GlobalType),
    Table(env::TableType),
    Memory(env::MemoryType),
    Tag(VMSharedTypeIndex),
}

/// One import of a module. Its type is made when asked for: going over
/// the imports by name (as instantiating a component's core modules does)
/// builds none.
#[derive(Debug, Clone)]
pub struct ImportType<'a> {
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) engine: &'a crate::Engine,
    pub(crate) ty: EngineEntityType,
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
        ExternType::from_env(self.engine, self.ty)
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

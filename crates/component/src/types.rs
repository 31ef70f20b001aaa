//! Component value types, resolved from the validator's type information
//! into owned trees: what the canonical ABI lifts and lowers, what a
//! dynamic [`Val`](crate::Val) is checked against, and what the host sees
//! of a function's signature.

use std::sync::Arc;

/// A component-model value type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    Float32,
    /// `f64`.
    Float64,
    /// `char`: a Unicode scalar value.
    Char,
    /// `string`.
    String,
    /// `list<T>`.
    List(Arc<Type>),
    /// `record { name: T, ... }`, fields in order.
    Record(Arc<[(String, Type)]>),
    /// `tuple<T, ...>`.
    Tuple(Arc<[Type]>),
    /// `variant { name(T)?, ... }`, cases in order.
    Variant(Arc<VariantCases>),
    /// `enum { name, ... }`.
    Enum(Arc<[String]>),
    /// `option<T>`.
    Option(Arc<Type>),
    /// `result<T?, E?>`.
    Result {
        /// The `ok` payload, if any.
        ok: Option<Arc<Type>>,
        /// The `error` payload, if any.
        err: Option<Arc<Type>>,
    },
    /// `flags { name, ... }`.
    Flags(Arc<[String]>),
    /// `own<R>`: an owned handle to a resource of type `R`.
    Own(ResourceIndex),
    /// `borrow<R>`: a handle borrowed for the duration of a call.
    Borrow(ResourceIndex),
}

/// A resource type as a component names it: an index into the resource
/// types its instances bind (each instantiation binds them anew, to the
/// types it defines or is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceIndex(pub(crate) u32);

/// Resolves the validator's resource identities to the component's
/// resource indices.
pub(crate) type ResourceResolver<'a> =
    &'a dyn Fn(wasmparser::component_types::ResourceId) -> anyhow::Result<ResourceIndex>;

/// The cases of a `variant` type (a slice of names and payload types),
/// with the core types its payloads flatten to and its layout, computed
/// once (`wasi:http`'s `error-code` has 39 cases).
pub struct VariantCases {
    cases: Vec<(String, Option<Type>)>,
    joined: std::sync::OnceLock<Vec<hayate::ValType>>,
    /// Size and alignment in memory.
    layout: std::sync::OnceLock<(u32, u32)>,
}

impl VariantCases {
    /// The cases, in order.
    pub fn new(cases: Vec<(String, Option<Type>)>) -> VariantCases {
        VariantCases {
            cases,
            joined: std::sync::OnceLock::new(),
            layout: std::sync::OnceLock::new(),
        }
    }

    /// The joined flat types of the payloads, computed by `compute` the
    /// first time.
    pub(crate) fn joined(
        &self,
        compute: impl FnOnce() -> Vec<hayate::ValType>,
    ) -> &[hayate::ValType] {
        self.joined.get_or_init(compute)
    }

    /// The size and alignment in memory, computed by `compute` the first
    /// time.
    pub(crate) fn layout(&self, compute: impl FnOnce() -> (u32, u32)) -> (u32, u32) {
        *self.layout.get_or_init(compute)
    }
}

impl std::ops::Deref for VariantCases {
    type Target = [(String, Option<Type>)];
    fn deref(&self) -> &Self::Target {
        &self.cases
    }
}

impl std::fmt::Debug for VariantCases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cases.fmt(f)
    }
}

impl PartialEq for VariantCases {
    fn eq(&self, other: &Self) -> bool {
        self.cases == other.cases
    }
}

impl Eq for VariantCases {}

/// A component function's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncType {
    /// Parameter names and types, in order.
    pub params: Vec<(String, Type)>,
    /// The result type, if any.
    pub result: Option<Type>,
}

impl Type {
    /// Resolves `ty` in `types` (the validator's view of the component
    /// that names it).
    pub(crate) fn from_wasmparser(
        types: wasmparser::types::TypesRef<'_>,
        resources: ResourceResolver<'_>,
        ty: &wasmparser::component_types::ComponentValType,
    ) -> anyhow::Result<Type> {
        use wasmparser::PrimitiveValType as P;
        use wasmparser::component_types::{ComponentDefinedType as D, ComponentValType as V};
        let id = match ty {
            V::Primitive(p) => {
                return Ok(match p {
                    P::Bool => Type::Bool,
                    P::S8 => Type::S8,
                    P::U8 => Type::U8,
                    P::S16 => Type::S16,
                    P::U16 => Type::U16,
                    P::S32 => Type::S32,
                    P::U32 => Type::U32,
                    P::S64 => Type::S64,
                    P::U64 => Type::U64,
                    P::F32 => Type::Float32,
                    P::F64 => Type::Float64,
                    P::Char => Type::Char,
                    P::String => Type::String,
                    P::ErrorContext => anyhow::bail!("`error-context` is not supported yet"),
                });
            }
            V::Type(id) => *id,
        };
        let resolve = |t: &V| Type::from_wasmparser(types, resources, t);
        let names = |set: &wasmparser::collections::IndexSet<wasmparser::names::KebabString>| {
            set.iter().map(|n| n.to_string()).collect::<Vec<_>>().into()
        };
        Ok(match &types[id] {
            D::Primitive(p) => resolve(&V::Primitive(*p))?,
            D::Record(r) => Type::Record(
                r.fields
                    .iter()
                    .map(|(n, t)| Ok((n.to_string(), resolve(t)?)))
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into(),
            ),
            D::Variant(v) => Type::Variant(Arc::new(VariantCases::new(
                v.cases
                    .iter()
                    .map(|(n, c)| Ok((n.to_string(), c.ty.as_ref().map(resolve).transpose()?)))
                    .collect::<anyhow::Result<Vec<_>>>()?,
            ))),
            D::List { element, .. } => Type::List(Arc::new(resolve(element)?)),
            D::Tuple(t) => Type::Tuple(
                t.types
                    .iter()
                    .map(resolve)
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into(),
            ),
            D::Flags(f) => Type::Flags(names(f)),
            D::Enum(e) => Type::Enum(names(e)),
            D::Option { ty, .. } => Type::Option(Arc::new(resolve(ty)?)),
            D::Result { ok, err, .. } => Type::Result {
                ok: ok.as_ref().map(resolve).transpose()?.map(Arc::new),
                err: err.as_ref().map(resolve).transpose()?.map(Arc::new),
            },
            D::Own(r) => Type::Own(resources(r.resource())?),
            D::Borrow(r) => Type::Borrow(resources(r.resource())?),
            // The canonical ABI despecializes `map<K, V>` to
            // `list<tuple<K, V>>`: its values are lists of pairs.
            D::Map { key, value, .. } => Type::List(Arc::new(Type::Tuple(
                vec![resolve(key)?, resolve(value)?].into(),
            ))),
            D::FixedLengthList { .. } => anyhow::bail!("fixed-length lists are not supported yet"),
            D::Future { .. } | D::Stream { .. } => {
                anyhow::bail!("`future` and `stream` (async) are not supported yet")
            }
        })
    }
}

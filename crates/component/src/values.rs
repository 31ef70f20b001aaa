//! Dynamic component values ([`Val`]), in the shape of
//! `wasmtime::component::Val`, and their type check.

use crate::resources::ResourceAny;
use crate::types::Type;

/// A component-model value, for dynamic calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `bool`.
    Bool(bool),
    /// `s8`.
    S8(i8),
    /// `u8`.
    U8(u8),
    /// `s16`.
    S16(i16),
    /// `u16`.
    U16(u16),
    /// `s32`.
    S32(i32),
    /// `u32`.
    U32(u32),
    /// `s64`.
    S64(i64),
    /// `u64`.
    U64(u64),
    /// `f32`.
    Float32(f32),
    /// `f64`.
    Float64(f64),
    /// `char`.
    Char(char),
    /// `string`.
    String(String),
    /// `list<T>`.
    List(Vec<Val>),
    /// `record`: fields by name, in the type's order.
    Record(Vec<(String, Val)>),
    /// `tuple`.
    Tuple(Vec<Val>),
    /// `variant`: the case's name and payload.
    Variant(String, Option<Box<Val>>),
    /// `enum`: the case's name.
    Enum(String),
    /// `option<T>`.
    Option(Option<Box<Val>>),
    /// `result<T, E>`.
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags`: the names of the flags set.
    Flags(Vec<String>),
    /// `own<R>` or `borrow<R>`: a resource handle.
    Resource(ResourceAny),
}

impl Val {
    /// Checks that this value has type `ty`; the error names the first
    /// mismatch.
    pub fn type_check(&self, ty: &Type) -> anyhow::Result<()> {
        let ok = match (self, ty) {
            (Val::Bool(_), Type::Bool)
            | (Val::S8(_), Type::S8)
            | (Val::U8(_), Type::U8)
            | (Val::S16(_), Type::S16)
            | (Val::U16(_), Type::U16)
            | (Val::S32(_), Type::S32)
            | (Val::U32(_), Type::U32)
            | (Val::S64(_), Type::S64)
            | (Val::U64(_), Type::U64)
            | (Val::Float32(_), Type::Float32)
            | (Val::Float64(_), Type::Float64)
            | (Val::Char(_), Type::Char)
            | (Val::String(_), Type::String) => true,
            (Val::List(items), Type::List(t)) => {
                return items.iter().try_for_each(|v| v.type_check(t));
            }
            (Val::Record(fields), Type::Record(types)) => {
                if fields.len() == types.len()
                    && fields
                        .iter()
                        .zip(types.iter())
                        .all(|((a, _), (b, _))| a == b)
                {
                    return fields
                        .iter()
                        .zip(types.iter())
                        .try_for_each(|((_, v), (_, t))| v.type_check(t));
                }
                false
            }
            (Val::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => {
                return items
                    .iter()
                    .zip(types.iter())
                    .try_for_each(|(v, t)| v.type_check(t));
            }
            (Val::Variant(name, payload), Type::Variant(cases)) => {
                match cases.iter().find(|(n, _)| n == name) {
                    Some((_, case)) => match (payload, case) {
                        (None, None) => true,
                        (Some(v), Some(t)) => return v.type_check(t),
                        _ => false,
                    },
                    None => false,
                }
            }
            (Val::Enum(name), Type::Enum(names)) => names.contains(name),
            (Val::Option(v), Type::Option(t)) => match v {
                Some(v) => return v.type_check(t),
                None => true,
            },
            (Val::Result(r), Type::Result { ok, err }) => {
                let (v, t) = match r {
                    Ok(v) => (v, ok),
                    Err(v) => (v, err),
                };
                match (v, t) {
                    (None, None) => true,
                    (Some(v), Some(t)) => return v.type_check(t),
                    _ => false,
                }
            }
            (Val::Flags(set), Type::Flags(names)) => set.iter().all(|f| names.contains(f)),
            // The resource type itself is checked when the handle is
            // lowered into an instance, which knows what the index names.
            (Val::Resource(r), Type::Own(_)) => r.owned(),
            (Val::Resource(_), Type::Borrow(_)) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            anyhow::bail!("type mismatch: expected a value of type {ty:?}, found {self:?}")
        }
    }
}

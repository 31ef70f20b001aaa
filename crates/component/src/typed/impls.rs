//! [`ComponentType`] and [`ComponentList`] for Rust's own types, each
//! lowered into and lifted out of guest memory directly: scalars as
//! their little-endian bytes (a list of them in one bounds-checked pass),
//! strings through the canonical ABI's transcoding, `Vec`, `Option` and
//! `Result` by the layout of `list`, `option` and `result`, tuples by the
//! layout of `tuple`.

use anyhow::{Context, Result, bail};

use super::derive::field_ptr;
use super::{AbiContext, ComponentList, ComponentParams, ComponentType, Core, mismatch, next_type};
use crate::abi;
use crate::types::Type;
use crate::values::Val;

/// A scalar: one flat core value, stored as its little-endian bytes (its
/// size is its alignment).
trait Scalar: Copy {
    const SIZE: usize;
    fn to_core(self) -> Core;
    fn from_core(core: Option<Core>) -> Result<Self>;
    /// Writes the bytes into `out`, of exactly `SIZE` bytes.
    fn encode(self, out: &mut [u8]);
    /// The value from exactly `SIZE` bytes.
    fn decode(bytes: &[u8]) -> Result<Self>;
}

/// `N` bytes from a slice of exactly `N`.
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().context("a scalar of the wrong size")
}

fn core_mismatch<T>(core: Option<Core>) -> Result<T> {
    bail!(
        "expected a core value for a {}, found {core:?}",
        std::any::type_name::<T>()
    )
}

macro_rules! int_scalar {
    ($($rust:ty: $core:ident as $wide:ty;)*) => {$(
        impl Scalar for $rust {
            const SIZE: usize = std::mem::size_of::<$rust>();
            fn to_core(self) -> Core {
                Core::$core(self as $wide)
            }
            fn from_core(core: Option<Core>) -> Result<Self> {
                match core {
                    // Narrower integers take the low bits, as the spec lifts them.
                    Some(Core::$core(x)) => Ok(x as $rust),
                    other => core_mismatch(other),
                }
            }
            fn encode(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn decode(bytes: &[u8]) -> Result<Self> {
                Ok(<$rust>::from_le_bytes(array(bytes)?))
            }
        }
    )*};
}

int_scalar! {
    i8: I32 as i32;
    u8: I32 as i32;
    i16: I32 as i32;
    u16: I32 as i32;
    i32: I32 as i32;
    u32: I32 as i32;
    i64: I64 as i64;
    u64: I64 as i64;
}

impl Scalar for bool {
    const SIZE: usize = 1;
    fn to_core(self) -> Core {
        Core::I32(i32::from(self))
    }
    fn from_core(core: Option<Core>) -> Result<Self> {
        Ok(u32::from_core(core)? != 0)
    }
    fn encode(self, out: &mut [u8]) {
        out[0] = u8::from(self);
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(u8::decode(bytes)? != 0)
    }
}

impl Scalar for char {
    const SIZE: usize = 4;
    fn to_core(self) -> Core {
        Core::I32(u32::from(self) as i32)
    }
    fn from_core(core: Option<Core>) -> Result<Self> {
        abi::char_from(u32::from_core(core)?)
    }
    fn encode(self, out: &mut [u8]) {
        u32::from(self).encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        abi::char_from(u32::decode(bytes)?)
    }
}

impl Scalar for f32 {
    const SIZE: usize = 4;
    fn to_core(self) -> Core {
        Core::F32(abi::canonical_f32(self.to_bits()))
    }
    fn from_core(core: Option<Core>) -> Result<Self> {
        match core {
            Some(Core::F32(bits)) => Ok(f32::from_bits(abi::canonical_f32(bits))),
            other => core_mismatch(other),
        }
    }
    fn encode(self, out: &mut [u8]) {
        abi::canonical_f32(self.to_bits()).encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(f32::from_bits(abi::canonical_f32(u32::decode(bytes)?)))
    }
}

impl Scalar for f64 {
    const SIZE: usize = 8;
    fn to_core(self) -> Core {
        Core::F64(abi::canonical_f64(self.to_bits()))
    }
    fn from_core(core: Option<Core>) -> Result<Self> {
        match core {
            Some(Core::F64(bits)) => Ok(f64::from_bits(abi::canonical_f64(bits))),
            other => core_mismatch(other),
        }
    }
    fn encode(self, out: &mut [u8]) {
        abi::canonical_f64(self.to_bits()).encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(f64::from_bits(abi::canonical_f64(u64::decode(bytes)?)))
    }
}

/// Allocates a list of the scalars `items` of type `elem` and writes them
/// in one pass.
fn store_scalars<S: Scalar>(
    cx: &mut AbiContext<'_>,
    elem: &Type,
    items: &[S],
) -> Result<(u32, u32)> {
    let (ptr, len) = cx.allocate_list(elem, items.len())?;
    let bytes = abi::slice_mut(cx.mem, ptr, (items.len() * S::SIZE) as u64)?;
    for (chunk, x) in bytes.chunks_exact_mut(S::SIZE).zip(items) {
        x.encode(chunk);
    }
    Ok((ptr, len))
}

/// Reads the list of `len` scalars of type `elem` at `ptr` in one pass.
fn load_scalars<S: Scalar>(
    cx: &mut AbiContext<'_>,
    elem: &Type,
    ptr: u32,
    len: u32,
) -> Result<Vec<S>> {
    let byte_len = abi::check_list(cx.mem, elem, ptr, len)?;
    let bytes = abi::read_slice(cx.mem, ptr, byte_len)?;
    bytes.chunks_exact(S::SIZE).map(S::decode).collect()
}

macro_rules! scalar_types {
    ($($rust:ty => $variant:ident),* $(,)?) => {$(
        impl ComponentType for $rust {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::$variant => Ok(()),
                    other => mismatch::<$rust>(other),
                }
            }
            fn into_val(self) -> Val {
                Val::$variant(self)
            }
            fn from_val(val: Val) -> Result<Self> {
                match val {
                    Val::$variant(v) => Ok(v),
                    other => bail!("expected a {}, found {other:?}", stringify!($variant)),
                }
            }
            fn lower_flat(self, _: &mut AbiContext<'_>, _: &Type, out: &mut Vec<Core>) -> Result<()> {
                out.push(self.to_core());
                Ok(())
            }
            fn store(self, cx: &mut AbiContext<'_>, _: &Type, ptr: u32) -> Result<()> {
                let mut bytes = [0; 8];
                self.encode(&mut bytes[..Self::SIZE]);
                abi::write(cx.mem, ptr, &bytes[..Self::SIZE])
            }
            fn lift_flat(
                _: &mut AbiContext<'_>,
                _: &Type,
                flat: &mut dyn Iterator<Item = Core>,
            ) -> Result<Self> {
                Self::from_core(flat.next())
            }
            fn load(cx: &mut AbiContext<'_>, _: &Type, ptr: u32) -> Result<Self> {
                Self::decode(abi::read_slice(cx.mem, ptr, Self::SIZE as u64)?)
            }
            fn store_list(items: Vec<Self>, cx: &mut AbiContext<'_>, elem: &Type) -> Result<(u32, u32)> {
                store_scalars(cx, elem, &items)
            }
            fn load_list(cx: &mut AbiContext<'_>, elem: &Type, ptr: u32, len: u32) -> Result<Vec<Self>> {
                load_scalars(cx, elem, ptr, len)
            }
        }
    )*};
}

scalar_types! {
    bool => Bool,
    i8 => S8,
    u8 => U8,
    i16 => S16,
    u16 => U16,
    i32 => S32,
    u32 => U32,
    i64 => S64,
    u64 => U64,
    f32 => Float32,
    f64 => Float64,
    char => Char,
}

/// The flat `(pointer, length)` of a string or list.
fn lift_pair(flat: &mut dyn Iterator<Item = Core>) -> Result<(u32, u32)> {
    Ok((u32::from_core(flat.next())?, u32::from_core(flat.next())?))
}

fn lower_pair((ptr, len): (u32, u32), out: &mut Vec<Core>) {
    out.extend([ptr.to_core(), len.to_core()]);
}

impl ComponentType for String {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::String => Ok(()),
            other => mismatch::<String>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::String(self)
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::String(s) => Ok(s),
            other => bail!("expected a string, found {other:?}"),
        }
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, _: &Type, out: &mut Vec<Core>) -> Result<()> {
        lower_pair(abi::store_string(cx.mem, cx.enc, &self)?, out);
        Ok(())
    }
    fn store(self, cx: &mut AbiContext<'_>, _: &Type, ptr: u32) -> Result<()> {
        let (begin, len) = abi::store_string(cx.mem, cx.enc, &self)?;
        abi::store_pair(cx.mem, ptr, begin, len)
    }
    fn lift_flat(
        cx: &mut AbiContext<'_>,
        _: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        let (begin, len) = lift_pair(flat)?;
        abi::load_string(cx.mem, cx.enc, begin, len)
    }
    fn load(cx: &mut AbiContext<'_>, _: &Type, ptr: u32) -> Result<Self> {
        let (begin, len) = abi::load_pair(cx.mem, ptr)?;
        abi::load_string(cx.mem, cx.enc, begin, len)
    }
}

impl ComponentType for Val {
    fn typecheck(_: &Type) -> Result<()> {
        Ok(())
    }
    fn into_val(self) -> Val {
        self
    }
    fn from_val(val: Val) -> Result<Self> {
        Ok(val)
    }
}

/// The element type of list type `ty`.
fn list_elem(ty: &Type) -> Result<&Type> {
    match ty {
        Type::List(elem) => Ok(elem),
        other => bail!("type mismatch: {other:?} is not a list"),
    }
}

impl<T: ComponentType> ComponentType for Vec<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::List(t) => T::typecheck(t),
            other => mismatch::<Self>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::List(self.into_iter().map(T::into_val).collect())
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::List(items) => items.into_iter().map(T::from_val).collect(),
            other => bail!("expected a list, found {other:?}"),
        }
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        lower_pair(T::store_list(self, cx, list_elem(ty)?)?, out);
        Ok(())
    }
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        let (begin, len) = T::store_list(self, cx, list_elem(ty)?)?;
        abi::store_pair(cx.mem, ptr, begin, len)
    }
    fn lift_flat(
        cx: &mut AbiContext<'_>,
        ty: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        let (begin, len) = lift_pair(flat)?;
        T::load_list(cx, list_elem(ty)?, begin, len)
    }
    fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<Self> {
        let (begin, len) = abi::load_pair(cx.mem, ptr)?;
        T::load_list(cx, list_elem(ty)?, begin, len)
    }
}

/// The payload type of option type `ty`.
fn option_payload(ty: &Type) -> Result<&Type> {
    match ty {
        Type::Option(t) => Ok(t),
        other => bail!("type mismatch: {other:?} is not an option"),
    }
}

impl<T: ComponentType> ComponentType for Option<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Option(t) => T::typecheck(t),
            other => mismatch::<Self>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::Option(self.map(|v| Box::new(v.into_val())))
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::Option(v) => v.map(|v| T::from_val(*v)).transpose(),
            other => bail!("expected an option, found {other:?}"),
        }
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        let t = option_payload(ty)?;
        match self {
            None => abi::lower_case(ty, 0, out, |_| Ok(())),
            Some(v) => abi::lower_case(ty, 1, out, |out| v.lower_flat(cx, t, out)),
        }
    }
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        let t = option_payload(ty)?;
        let at = abi::store_case(cx.mem, ty, usize::from(self.is_some()), ptr)?;
        match self {
            Some(v) => v.store(cx, t, at),
            None => Ok(()),
        }
    }
    fn lift_flat(
        cx: &mut AbiContext<'_>,
        ty: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        let t = option_payload(ty)?;
        match abi::lift_case(ty, flat)? {
            (0, _) => Ok(None),
            (_, payload) => Ok(Some(T::lift_flat(cx, t, &mut payload.into_iter())?)),
        }
    }
    fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<Self> {
        let t = option_payload(ty)?;
        match abi::load_case(cx.mem, ty, ptr)? {
            (0, _) => Ok(None),
            (_, at) => Ok(Some(T::load(cx, t, at)?)),
        }
    }
}

/// Whether Rust type `T` is `()`, the payload of a `result` case without one.
fn is_unit<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>()
}

/// A `result` payload: `()` for none.
fn payload_typecheck<T: ComponentType>(ty: Option<&Type>) -> Result<()> {
    match ty {
        Some(t) => T::typecheck(t),
        None if is_unit::<T>() => Ok(()),
        None => bail!(
            "the WIT result has no payload where the Rust type has {}",
            std::any::type_name::<T>()
        ),
    }
}

impl ComponentType for () {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Tuple(t) if t.is_empty() => Ok(()),
            other => mismatch::<Self>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::Tuple(Vec::new())
    }
    fn from_val(_: Val) -> Result<Self> {
        Ok(())
    }
    fn lower_flat(self, _: &mut AbiContext<'_>, _: &Type, _: &mut Vec<Core>) -> Result<()> {
        Ok(())
    }
    fn store(self, _: &mut AbiContext<'_>, _: &Type, _: u32) -> Result<()> {
        Ok(())
    }
    fn lift_flat(
        _: &mut AbiContext<'_>,
        _: &Type,
        _: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        Ok(())
    }
    fn load(_: &mut AbiContext<'_>, _: &Type, _: u32) -> Result<Self> {
        Ok(())
    }
}

/// The payload of one side of a `result`: `None` for `()`.
fn into_payload<T: ComponentType>(v: T) -> Option<Box<Val>> {
    match is_unit::<T>() {
        true => None,
        false => Some(Box::new(v.into_val())),
    }
}

fn from_payload<T: ComponentType>(v: Option<Box<Val>>) -> Result<T> {
    match v {
        Some(v) => T::from_val(*v),
        None => T::from_val(Val::Tuple(Vec::new())),
    }
}

/// The `ok` and `error` payload types of result type `ty`.
fn result_payloads(ty: &Type) -> Result<(Option<&Type>, Option<&Type>)> {
    match ty {
        Type::Result { ok, err } => Ok((ok.as_deref(), err.as_deref())),
        other => bail!("type mismatch: {other:?} is not a result"),
    }
}

/// Lowers one side's payload `v`, of type `ty` (none for `()`).
fn lower_payload<T: ComponentType>(
    v: T,
    cx: &mut AbiContext<'_>,
    ty: Option<&Type>,
    out: &mut Vec<Core>,
) -> Result<()> {
    match ty {
        Some(t) => v.lower_flat(cx, t, out),
        None => Ok(()),
    }
}

fn store_payload<T: ComponentType>(
    v: T,
    cx: &mut AbiContext<'_>,
    ty: Option<&Type>,
    at: u32,
) -> Result<()> {
    match ty {
        Some(t) => v.store(cx, t, at),
        None => Ok(()),
    }
}

fn lift_payload<T: ComponentType>(
    cx: &mut AbiContext<'_>,
    ty: Option<&Type>,
    flat: Vec<Core>,
) -> Result<T> {
    match ty {
        Some(t) => T::lift_flat(cx, t, &mut flat.into_iter()),
        None => T::from_val(Val::Tuple(Vec::new())),
    }
}

fn load_payload<T: ComponentType>(
    cx: &mut AbiContext<'_>,
    ty: Option<&Type>,
    at: u32,
) -> Result<T> {
    match ty {
        Some(t) => T::load(cx, t, at),
        None => T::from_val(Val::Tuple(Vec::new())),
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for Result<T, E> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Result { ok, err } => {
                payload_typecheck::<T>(ok.as_deref())?;
                payload_typecheck::<E>(err.as_deref())
            }
            other => mismatch::<Self>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::Result(match self {
            Ok(v) => Ok(into_payload(v)),
            Err(e) => Err(into_payload(e)),
        })
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::Result(Ok(v)) => Ok(Ok(from_payload(v)?)),
            Val::Result(Err(e)) => Ok(Err(from_payload(e)?)),
            other => bail!("expected a result, found {other:?}"),
        }
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        let (ok, err) = result_payloads(ty)?;
        match self {
            Ok(v) => abi::lower_case(ty, 0, out, |out| lower_payload(v, cx, ok, out)),
            Err(e) => abi::lower_case(ty, 1, out, |out| lower_payload(e, cx, err, out)),
        }
    }
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        let (ok, err) = result_payloads(ty)?;
        let at = abi::store_case(cx.mem, ty, usize::from(self.is_err()), ptr)?;
        match self {
            Ok(v) => store_payload(v, cx, ok, at),
            Err(e) => store_payload(e, cx, err, at),
        }
    }
    fn lift_flat(
        cx: &mut AbiContext<'_>,
        ty: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        let (ok, err) = result_payloads(ty)?;
        match abi::lift_case(ty, flat)? {
            (0, payload) => Ok(Ok(lift_payload(cx, ok, payload)?)),
            (_, payload) => Ok(Err(lift_payload(cx, err, payload)?)),
        }
    }
    fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<Self> {
        let (ok, err) = result_payloads(ty)?;
        match abi::load_case(cx.mem, ty, ptr)? {
            (0, at) => Ok(Ok(load_payload(cx, ok, at)?)),
            (_, at) => Ok(Err(load_payload(cx, err, at)?)),
        }
    }
}

macro_rules! tuples {
    ($( ($($t:ident),*) ),* $(,)?) => {$(
        impl<$($t: ComponentType),*> ComponentList for ($($t,)*) {
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn from_vals(vals: Vec<Val>) -> Result<Self> {
                let mut vals = vals.into_iter();
                Ok(($( $t::from_val(vals.next().context("too few values")?)?, )*))
            }
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn lift_list(
                cx: &mut AbiContext<'_>,
                types: &[Type],
                flat: &mut dyn Iterator<Item = Core>,
            ) -> Result<Self> {
                let mut types = types.iter();
                Ok(($( $t::lift_flat(cx, next_type(&mut types)?, flat)?, )*))
            }
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn load_fields(cx: &mut AbiContext<'_>, types: &[Type], ptr: u32) -> Result<Self> {
                let (mut types, mut end) = (types.iter(), 0);
                Ok(($({
                    let ty = next_type(&mut types)?;
                    $t::load(cx, ty, field_ptr(ptr, &mut end, ty)?)?
                },)*))
            }
        }
    )*};
}

/// The element types of tuple type `ty`.
fn tuple_types(ty: &Type) -> Result<&[Type]> {
    match ty {
        Type::Tuple(types) => Ok(types),
        other => bail!("type mismatch: {other:?} is not a tuple"),
    }
}

/// Tuples are also values: WIT `tuple`s (`()` has its own, above).
macro_rules! tuple_types {
    ($( ($($t:ident),*) ),* $(,)?) => {$( tuple_type!($($t),*); )*};
}

macro_rules! tuple_type {
    () => {};
    ($($t:ident),+) => {
        impl<$($t: ComponentType),+> ComponentType for ($($t,)+) {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::Tuple(types) => {
                        Self::typecheck_params(&types.iter().collect::<Vec<_>>())
                    }
                    other => mismatch::<Self>(other),
                }
            }
            fn into_val(self) -> Val {
                Val::Tuple(self.into_vals())
            }
            fn from_val(val: Val) -> Result<Self> {
                match val {
                    Val::Tuple(items) => Self::from_vals(items),
                    other => bail!("expected a tuple, found {other:?}"),
                }
            }
            fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
                self.lower_params(cx, tuple_types(ty)?, out)
            }
            fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
                self.store_params(cx, tuple_types(ty)?, ptr)
            }
            fn lift_flat(
                cx: &mut AbiContext<'_>,
                ty: &Type,
                flat: &mut dyn Iterator<Item = Core>,
            ) -> Result<Self> {
                Self::lift_list(cx, tuple_types(ty)?, flat)
            }
            fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<Self> {
                Self::load_fields(cx, tuple_types(ty)?, ptr)
            }
        }
    };
}

for_tuples!(tuples);
for_tuples!(tuple_types);

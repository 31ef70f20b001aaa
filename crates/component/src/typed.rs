//! Rust types for WIT types: [`ComponentType`] (checked against a
//! component's type, lowered into and lifted out of the guest), parameter
//! and result lists as tuples ([`ComponentList`]), [`TypedFunc`] for
//! calling exports with them and `LinkerInstance::func_wrap` for host
//! functions taking them; a typed call's parameters may also borrow
//! (`params`: `&str`, `&[T]`). Built in (in `impls`): `bool`, the integers,
//! `f32`, `f64`, `char`, `String`, `Vec<T>`, `Option<T>`, `Result<T, E>`
//! (with `()` for a missing payload) and tuples; `Val` itself stands for
//! any type.
//!
//! The built-in types are lowered straight into guest memory and lifted
//! straight out of it, with the canonical ABI's checks but no [`Val`] in
//! between; any other type goes through its [`Val`].

#[cfg(test)]
mod tests;

use std::marker::PhantomData;

use anyhow::{Context, Result, bail};
use hayate::AsContextMut;

pub use params::{ComponentParams, Lower};

use crate::abi::{self, StringEncoding};
use crate::func::Func;
use crate::types::{FuncType, Type};
use crate::values::Val;

/// A core WebAssembly value.
type Core = hayate::Val;

/// A Rust type with a WIT type.
///
/// Implement the first three methods; the others, the canonical ABI of
/// the type, default to going through [`Val`] (the built-in types provide
/// their own).
pub trait ComponentType: Sized + Send + Sync + 'static {
    /// Checks that `ty` is this Rust type's WIT type.
    fn typecheck(ty: &Type) -> Result<()>;
    /// This value as a dynamic value.
    fn into_val(self) -> Val;
    /// The value `val` (of a type `typecheck` accepted) as this type.
    fn from_val(val: Val) -> Result<Self>;

    /// Appends the flat core values of this value of type `ty` (one
    /// `typecheck` accepted).
    #[doc(hidden)]
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        cx.lower_val(ty, &self.into_val(), out)
    }

    /// Stores this value of type `ty` at `ptr`, which is aligned for it.
    #[doc(hidden)]
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        cx.store_val(ty, &self.into_val(), ptr)
    }

    /// Lifts a value of type `ty` from the flat core values `flat`.
    #[doc(hidden)]
    fn lift_flat(
        cx: &mut AbiContext<'_>,
        ty: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self> {
        Self::from_val(cx.lift_val(ty, flat)?)
    }

    /// Loads a value of type `ty` from `ptr`, which is aligned for it.
    #[doc(hidden)]
    fn load(cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<Self> {
        Self::from_val(cx.load_val(ty, ptr)?)
    }

    /// Allocates a list of `items` of type `elem` in the guest and stores
    /// them there, returning its pointer and length.
    #[doc(hidden)]
    fn store_list(items: Vec<Self>, cx: &mut AbiContext<'_>, elem: &Type) -> Result<(u32, u32)> {
        let (ptr, len) = cx.allocate_list(elem, items.len())?;
        let size = u64::from(abi::size(elem));
        for (i, item) in (0u64..).zip(items) {
            item.store(cx, elem, abi::offset(ptr, i * size)?)?;
        }
        Ok((ptr, len))
    }

    /// Loads the list of `len` elements of type `elem` at `ptr`.
    #[doc(hidden)]
    fn load_list(cx: &mut AbiContext<'_>, elem: &Type, ptr: u32, len: u32) -> Result<Vec<Self>> {
        abi::check_list(cx.mem, elem, ptr, len)?;
        let size = u64::from(abi::size(elem));
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..u64::from(len) {
            out.push(Self::load(cx, elem, abi::offset(ptr, i * size)?)?);
        }
        Ok(out)
    }
}

/// The guest side of one call, where typed values are lowered to and
/// lifted from: its memory, `realloc`, string encoding and handle table.
/// Only the runtime makes one.
pub struct AbiContext<'a> {
    pub(crate) mem: &'a mut dyn abi::Memory,
    pub(crate) enc: StringEncoding,
}

impl<'a> AbiContext<'a> {
    pub(crate) fn new(mem: &'a mut dyn abi::Memory, enc: StringEncoding) -> Self {
        AbiContext { mem, enc }
    }

    pub(crate) fn lower_val(&mut self, ty: &Type, val: &Val, out: &mut Vec<Core>) -> Result<()> {
        abi::lower_flat(self.mem, self.enc, ty, val, out)
    }

    pub(crate) fn store_val(&mut self, ty: &Type, val: &Val, ptr: u32) -> Result<()> {
        abi::store_at(self.mem, self.enc, ty, val, ptr)
    }

    pub(crate) fn lift_val(
        &mut self,
        ty: &Type,
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Val> {
        abi::lift_flat(self.mem, self.enc, ty, flat)
    }

    pub(crate) fn load_val(&mut self, ty: &Type, ptr: u32) -> Result<Val> {
        abi::load_at(self.mem, self.enc, ty, ptr)
    }

    /// Allocates room for `count` elements of type `elem`: the list's
    /// pointer and length.
    pub(crate) fn allocate_list(&mut self, elem: &Type, count: usize) -> Result<(u32, u32)> {
        abi::allocate_list(self.mem, elem, count)
    }
}

/// A list of values of Rust types that can also be lifted: the results of
/// a typed call, and the parameters and results of a `func_wrap` host
/// function, as a tuple (`()`, `(A,)`, `(A, B)`, ...). Its lowering and
/// type check are those of [`ComponentParams`].
pub trait ComponentList: ComponentParams + Send + Sync + 'static {
    /// The list from `vals` (checked by `typecheck_params`).
    fn from_vals(vals: Vec<Val>) -> Result<Self>;
    /// Lifts the list, of types `types`, from flat core values.
    #[doc(hidden)]
    fn lift_list(
        cx: &mut AbiContext<'_>,
        types: &[Type],
        flat: &mut dyn Iterator<Item = Core>,
    ) -> Result<Self>;
    /// Loads the list, of types `types`, as a tuple at `ptr`.
    #[doc(hidden)]
    fn load_fields(cx: &mut AbiContext<'_>, types: &[Type], ptr: u32) -> Result<Self>;
}

/// The next of a list's types, for a tuple checked against them.
fn next_type<'t>(types: &mut std::slice::Iter<'t, Type>) -> Result<&'t Type> {
    types.next().context("fewer WIT types than Rust values")
}

/// Invokes `$m!` with every tuple of up to 16 type parameters, `()` first.
macro_rules! for_tuples {
    ($m:ident) => {
        $m! {
            (),
            (A),
            (A, B),
            (A, B, C),
            (A, B, C, D),
            (A, B, C, D, E),
            (A, B, C, D, E, F),
            (A, B, C, D, E, F, G),
            (A, B, C, D, E, F, G, H),
            (A, B, C, D, E, F, G, H, I),
            (A, B, C, D, E, F, G, H, I, J),
            (A, B, C, D, E, F, G, H, I, J, K),
            (A, B, C, D, E, F, G, H, I, J, K, L),
            (A, B, C, D, E, F, G, H, I, J, K, L, M),
            (A, B, C, D, E, F, G, H, I, J, K, L, M, N),
            (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O),
            (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P),
        }
    };
}

#[doc(hidden)]
pub mod derive;
mod impls;
mod params;

/// Checks `P -> R` against function type `ty`.
pub(crate) fn typecheck_func<P: ComponentList, R: ComponentList>(ty: &FuncType) -> Result<()> {
    let params: Vec<&Type> = ty.params.iter().map(|(_, t)| t).collect();
    P::typecheck_params(&params).context("parameters")?;
    let results: Vec<&Type> = ty.result.iter().collect();
    R::typecheck_params(&results).context("result")
}

/// A component function with Rust parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        TypedFunc {
            func: self.func.clone(),
            _types: PhantomData,
        }
    }
}

impl<P: ComponentParams, R: ComponentList> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call<T: 'static>(&self, store: impl AsContextMut<Data = T>, params: P) -> Result<R> {
        self.func.call_typed(store, params)
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

impl Func {
    /// This function with Rust types: checks `P -> R` against its type.
    /// The parameters may borrow (`&str`, `&[T]`).
    pub fn typed<P: ComponentParams, R: ComponentList>(&self) -> Result<TypedFunc<P, R>> {
        let ty = self
            .ty()
            .context("a host function has no component type to check")?;
        let params: Vec<&Type> = ty.params.iter().map(|(_, t)| t).collect();
        P::typecheck_params(&params).context("parameters")?;
        let results: Vec<&Type> = ty.result.iter().collect();
        R::typecheck_params(&results).context("result")?;
        Ok(TypedFunc {
            func: self.clone(),
            _types: PhantomData,
        })
    }
}

/// The error for Rust type `R` checked against WIT type `ty`.
fn mismatch<R>(ty: &Type) -> Result<()> {
    bail!(
        "type mismatch: the Rust type {} is not the WIT type {ty:?}",
        std::any::type_name::<R>()
    )
}

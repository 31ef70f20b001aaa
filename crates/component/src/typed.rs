//! Rust types for WIT types: [`ComponentType`] (checked against a
//! component's type, converted to and from [`Val`]), parameter and result
//! lists as tuples ([`ComponentList`]), [`TypedFunc`] for calling exports
//! with them and `LinkerInstance::func_wrap` for host functions taking
//! them. Built in: `bool`, the integers, `f32`, `f64`, `char`, `String`,
//! `Vec<T>`, `Option<T>`, `Result<T, E>` (with `()` for a missing
//! payload) and tuples; `Val` itself stands for any type.
//!
//! Values go through [`Val`] on their way across the boundary; the
//! canonical ABI does the rest.

use std::marker::PhantomData;

use anyhow::{Context, Result, bail, ensure};
use hayate::AsContextMut;

use crate::func::Func;
use crate::types::{FuncType, Type};
use crate::values::Val;

/// A Rust type with a WIT type.
pub trait ComponentType: Sized + Send + Sync + 'static {
    /// Checks that `ty` is this Rust type's WIT type.
    fn typecheck(ty: &Type) -> Result<()>;
    /// This value as a dynamic value.
    fn into_val(self) -> Val;
    /// The value `val` (of a type `typecheck` accepted) as this type.
    fn from_val(val: Val) -> Result<Self>;
}

/// The error for Rust type `R` checked against WIT type `ty`.
fn mismatch<R>(ty: &Type) -> Result<()> {
    bail!(
        "type mismatch: the Rust type {} is not the WIT type {ty:?}",
        std::any::type_name::<R>()
    )
}

macro_rules! scalar {
    ($($rust:ty => $variant:ident / $ty:ident),* $(,)?) => {$(
        impl ComponentType for $rust {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::$ty => Ok(()),
                    other => mismatch::<$rust>(other),
                }
            }
            fn into_val(self) -> Val {
                Val::$variant(self)
            }
            fn from_val(val: Val) -> Result<Self> {
                match val {
                    Val::$variant(v) => Ok(v),
                    other => bail!("expected a {}, found {other:?}", stringify!($ty)),
                }
            }
        }
    )*};
}

scalar! {
    bool => Bool / Bool,
    i8 => S8 / S8,
    u8 => U8 / U8,
    i16 => S16 / S16,
    u16 => U16 / U16,
    i32 => S32 / S32,
    u32 => U32 / U32,
    i64 => S64 / S64,
    u64 => U64 / U64,
    f32 => Float32 / Float32,
    f64 => Float64 / Float64,
    char => Char / Char,
    String => String / String,
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
}

/// A `result` payload: `()` for none.
fn payload_typecheck<T: ComponentType>(ty: Option<&Type>) -> Result<()> {
    match ty {
        Some(t) => T::typecheck(t),
        None if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() => Ok(()),
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
}

/// The payload of one side of a `result`: `None` for `()`.
fn into_payload<T: ComponentType>(v: T) -> Option<Box<Val>> {
    match std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
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
}

/// A list of values of Rust types: the parameters or the results of a
/// function, as a tuple (`()`, `(A,)`, `(A, B)`, ...).
pub trait ComponentList: Sized + Send + Sync + 'static {
    /// The number of values.
    const LEN: usize;
    /// Checks the list against `types`.
    fn typecheck_list(types: &[&Type]) -> Result<()>;
    /// The values, in order.
    fn into_vals(self) -> Vec<Val>;
    /// The list from `vals` (checked by `typecheck_list`).
    fn from_vals(vals: Vec<Val>) -> Result<Self>;
}

/// The number of identifiers given.
macro_rules! count {
    () => { 0 };
    ($head:ident $(, $tail:ident)*) => { 1 + count!($($tail),*) };
}

macro_rules! tuples {
    ($( ($($t:ident),*) ),* $(,)?) => {$(
        impl<$($t: ComponentType),*> ComponentList for ($($t,)*) {
            const LEN: usize = count!($($t),*);
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn typecheck_list(types: &[&Type]) -> Result<()> {
                let n = Self::LEN;
                ensure!(types.len() == n, "expected {n} values, the WIT type has {}", types.len());
                let mut types = types.iter();
                $( $t::typecheck(types.next().expect("counted"))?; )*
                Ok(())
            }
            #[allow(non_snake_case)]
            fn into_vals(self) -> Vec<Val> {
                let ($($t,)*) = self;
                vec![$($t.into_val()),*]
            }
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn from_vals(vals: Vec<Val>) -> Result<Self> {
                let mut vals = vals.into_iter();
                Ok(($( $t::from_val(vals.next().context("too few values")?)?, )*))
            }
        }
    )*};
}

tuples! {
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
}

/// Checks `P -> R` against function type `ty`.
pub(crate) fn typecheck_func<P: ComponentList, R: ComponentList>(ty: &FuncType) -> Result<()> {
    let params: Vec<&Type> = ty.params.iter().map(|(_, t)| t).collect();
    P::typecheck_list(&params).context("parameters")?;
    let results: Vec<&Type> = ty.result.iter().collect();
    R::typecheck_list(&results).context("result")
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

impl<P: ComponentList, R: ComponentList> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call<T: 'static>(&self, store: impl AsContextMut<Data = T>, params: P) -> Result<R> {
        let mut results = vec![Val::Bool(false); R::LEN];
        self.func
            .call_checking(store, &params.into_vals(), &mut results, false)?;
        R::from_vals(results)
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

impl Func {
    /// This function with Rust types: checks `P -> R` against its type.
    pub fn typed<P: ComponentList, R: ComponentList>(&self) -> Result<TypedFunc<P, R>> {
        let ty = self
            .ty()
            .context("a host function has no component type to check")?;
        typecheck_func::<P, R>(ty)?;
        Ok(TypedFunc {
            func: self.clone(),
            _types: PhantomData,
        })
    }
}

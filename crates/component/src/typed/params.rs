//! Parameters of a [`TypedFunc`](crate::TypedFunc) call, which are only
//! lowered: [`Lower`] is every [`ComponentType`] and also the borrowed
//! `&str` (a WIT `string`) and `&[T]` (a WIT `list<T>`), so that, as with
//! Wasmtime, `typed::<(&str,), (String,)>()` passes a string without the
//! caller owning a copy. [`ComponentParams`] is a tuple of them.

use anyhow::{Result, ensure};

use super::derive::field_ptr;
use super::{AbiContext, ComponentType, Core, mismatch, next_type};
use crate::abi;
use crate::types::Type;
use crate::values::Val;

/// A value that can be lowered into the guest as WIT type it checks.
pub trait Lower: Sized {
    /// Checks that `ty` is this Rust type's WIT type.
    fn typecheck(ty: &Type) -> Result<()>;
    /// This value as a dynamic value (for a call of a host function).
    fn into_val(self) -> Val;
    /// Appends the flat core values of this value of type `ty`.
    #[doc(hidden)]
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()>;
    /// Stores this value of type `ty` at `ptr`, aligned for it.
    #[doc(hidden)]
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()>;
}

impl<T: ComponentType> Lower for T {
    fn typecheck(ty: &Type) -> Result<()> {
        <T as ComponentType>::typecheck(ty)
    }
    fn into_val(self) -> Val {
        <T as ComponentType>::into_val(self)
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        <T as ComponentType>::lower_flat(self, cx, ty, out)
    }
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        <T as ComponentType>::store(self, cx, ty, ptr)
    }
}

impl Lower for &str {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::String => Ok(()),
            other => mismatch::<&str>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::String(self.to_owned())
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, _: &Type, out: &mut Vec<Core>) -> Result<()> {
        let (ptr, len) = abi::store_string(cx.mem, cx.enc, self)?;
        out.extend([Core::I32(ptr as i32), Core::I32(len as i32)]);
        Ok(())
    }
    fn store(self, cx: &mut AbiContext<'_>, _: &Type, ptr: u32) -> Result<()> {
        let (begin, len) = abi::store_string(cx.mem, cx.enc, self)?;
        abi::store_pair(cx.mem, ptr, begin, len)
    }
}

/// A borrowed list: its elements are copied once, then lowered as a
/// `Vec<T>` would be (a list of scalars in one pass).
impl<T: ComponentType + Clone> Lower for &[T] {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::List(elem) => <T as ComponentType>::typecheck(elem),
            other => mismatch::<&[T]>(other),
        }
    }
    fn into_val(self) -> Val {
        Val::List(self.iter().cloned().map(ComponentType::into_val).collect())
    }
    fn lower_flat(self, cx: &mut AbiContext<'_>, ty: &Type, out: &mut Vec<Core>) -> Result<()> {
        ComponentType::lower_flat(self.to_vec(), cx, ty, out)
    }
    fn store(self, cx: &mut AbiContext<'_>, ty: &Type, ptr: u32) -> Result<()> {
        ComponentType::store(self.to_vec(), cx, ty, ptr)
    }
}

/// The parameters of a typed call, as a tuple (`()`, `(A,)`, `(A, B)`,
/// ...) of [`Lower`] values.
pub trait ComponentParams: Sized {
    /// The number of values.
    const LEN: usize;
    /// Checks the list against `types`.
    fn typecheck_params(types: &[&Type]) -> Result<()>;
    /// The values, in order, as dynamic values.
    fn into_vals(self) -> Vec<Val>;
    /// Appends the flat core values of the list, of types `types`.
    #[doc(hidden)]
    fn lower_params(
        self,
        cx: &mut AbiContext<'_>,
        types: &[Type],
        out: &mut Vec<Core>,
    ) -> Result<()>;
    /// Stores the list, of types `types`, as a tuple at `ptr`.
    #[doc(hidden)]
    fn store_params(self, cx: &mut AbiContext<'_>, types: &[Type], ptr: u32) -> Result<()>;
}

macro_rules! params {
    ($( ($($t:ident),*) ),* $(,)?) => {$(
        impl<$($t: Lower),*> ComponentParams for ($($t,)*) {
            const LEN: usize = {
                let names: &[&str] = &[$(stringify!($t)),*];
                names.len()
            };
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn typecheck_params(types: &[&Type]) -> Result<()> {
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
            fn lower_params(
                self,
                cx: &mut AbiContext<'_>,
                types: &[Type],
                out: &mut Vec<Core>,
            ) -> Result<()> {
                let ($($t,)*) = self;
                let mut types = types.iter();
                $( $t.lower_flat(cx, next_type(&mut types)?, out)?; )*
                Ok(())
            }
            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn store_params(self, cx: &mut AbiContext<'_>, types: &[Type], ptr: u32) -> Result<()> {
                let ($($t,)*) = self;
                let (mut types, mut end) = (types.iter(), 0);
                $(
                    let ty = next_type(&mut types)?;
                    $t.store(cx, ty, field_ptr(ptr, &mut end, ty)?)?;
                )*
                Ok(())
            }
        }
    )*};
}

for_tuples!(params);

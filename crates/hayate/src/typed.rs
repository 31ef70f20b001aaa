//! Static typing at the API boundary: `WasmTy` for Rust types that are Wasm
//! values, `WasmParams`/`WasmResults` for tuples of them, `TypedFunc` for
//! calls without dynamic checks, and `IntoFunc` for closures that become
//! host functions.

use std::marker::PhantomData;

use hayate_runtime::ValRaw;

use crate::error::{Error, Result};
use crate::func::{Caller, Func, RawHostFn};
use crate::store::{AsContextMut, StoreId, StoreOpaque};
use crate::types::{FuncType, HeapType, RefType, ValType};
use crate::values::{AnyRef, ExternRef, Val};

/// A Rust type that is a WebAssembly value type.
pub trait WasmTy: Sized + Send + Sync + 'static {
    /// Whether a value of this type may name a GC object (which the store
    /// must then keep alive: the host holds it).
    #[doc(hidden)]
    const MAY_HOLD_GC: bool = false;
    /// The Wasm type.
    fn valtype() -> ValType;
    /// Converts to the raw form.
    #[doc(hidden)]
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw>;
    /// Converts from the raw form.
    #[doc(hidden)]
    fn from_raw(raw: ValRaw, store: StoreId) -> Self;
}

macro_rules! wasm_ty_num {
    ($($ty:ty => $vt:ident, $to:ident, $from:ident;)*) => {$(
        impl WasmTy for $ty {
            fn valtype() -> ValType { ValType::$vt }
            #[inline]
            fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> { Ok(ValRaw::$to(self as _)) }
            #[inline]
            fn from_raw(raw: ValRaw, _: StoreId) -> Self { raw.$from() as $ty }
        }
    )*};
}

wasm_ty_num! {
    i32 => I32, i32, get_i32;
    u32 => I32, u32, get_u32;
    i64 => I64, i64, get_i64;
    u64 => I64, u64, get_u64;
}

impl WasmTy for f32 {
    fn valtype() -> ValType {
        ValType::F32
    }
    #[inline]
    fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::u32(self.to_bits()))
    }
    #[inline]
    fn from_raw(raw: ValRaw, _: StoreId) -> Self {
        f32::from_bits(raw.get_u32())
    }
}

impl WasmTy for f64 {
    fn valtype() -> ValType {
        ValType::F64
    }
    #[inline]
    fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::u64(self.to_bits()))
    }
    #[inline]
    fn from_raw(raw: ValRaw, _: StoreId) -> Self {
        f64::from_bits(raw.get_u64())
    }
}

/// A `v128` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V128(pub u128);

impl WasmTy for V128 {
    fn valtype() -> ValType {
        ValType::V128
    }
    fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::v128(self.0))
    }
    fn from_raw(raw: ValRaw, _: StoreId) -> Self {
        V128(raw.get_v128())
    }
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FUNCREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Val::FuncRef(self).to_raw(store)
    }
    fn from_raw(raw: ValRaw, store: StoreId) -> Self {
        Func::from_raw(store, raw.get_ptr())
    }
}

impl WasmTy for Option<AnyRef> {
    const MAY_HOLD_GC: bool = true;
    fn valtype() -> ValType {
        ValType::ANYREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Val::AnyRef(self).to_raw(store)
    }
    fn from_raw(raw: ValRaw, store: StoreId) -> Self {
        AnyRef::from_raw(store, raw.get_ptr())
    }
}

/// A non-null function reference, `(ref func)`.
impl WasmTy for Func {
    fn valtype() -> ValType {
        ValType::Ref(RefType::new(false, HeapType::Func))
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Val::FuncRef(Some(self)).to_raw(store)
    }
    fn from_raw(raw: ValRaw, store: StoreId) -> Self {
        Func::from_raw(store, raw.get_ptr())
            .expect("a value typed as a non-null function reference is not null")
    }
}

impl WasmTy for Option<ExternRef> {
    // An `externref` may hold an internal reference (`extern.convert_any`).
    const MAY_HOLD_GC: bool = true;
    fn valtype() -> ValType {
        ValType::EXTERNREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Val::ExternRef(self).to_raw(store)
    }
    fn from_raw(raw: ValRaw, store: StoreId) -> Self {
        match Val::from_raw(raw, hayate_environ::WasmValType::EXTERNREF, store) {
            Val::ExternRef(e) => e,
            _ => unreachable!("externref converts to an externref"),
        }
    }
}

/// Parameters of a typed call: a `WasmTy` or a tuple of them.
pub trait WasmParams: Send + Sync + 'static {
    /// How many values.
    #[doc(hidden)]
    const COUNT: usize;
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// Writes the values into `out`.
    #[doc(hidden)]
    fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]) -> Result<()>;
}

/// Results of a typed call: a `WasmTy` or a tuple of them.
pub trait WasmResults: Sized + Send + Sync + 'static {
    /// How many values.
    #[doc(hidden)]
    const COUNT: usize;
    /// Whether a value may name a GC object (see `WasmTy::MAY_HOLD_GC`).
    #[doc(hidden)]
    const MAY_HOLD_GC: bool;
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// Reads the values from `values`.
    #[doc(hidden)]
    fn load_raw(values: &[ValRaw], store: StoreId) -> Self;
}

impl<A: WasmTy> WasmParams for A {
    const COUNT: usize = 1;
    fn types() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]) -> Result<()> {
        out[0] = self.into_raw(store)?;
        Ok(())
    }
}

impl<A: WasmTy> WasmResults for A {
    const COUNT: usize = 1;
    const MAY_HOLD_GC: bool = A::MAY_HOLD_GC;
    fn types() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn load_raw(values: &[ValRaw], store: StoreId) -> Self {
        A::from_raw(values[0], store)
    }
}

macro_rules! tuples {
    ($($name:ident)*) => {
        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments)]
        impl<$($name: WasmTy),*> WasmParams for ($($name,)*) {
            const COUNT: usize = { let names: &[&str] = &[$(stringify!($name)),*]; names.len() };
            fn types() -> Vec<ValType> { vec![$($name::valtype()),*] }
            fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]) -> Result<()> {
                let ($($name,)*) = self;
                let mut i = 0;
                $( out[i] = $name.into_raw(store)?; i += 1; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments, clippy::unused_unit)]
        impl<$($name: WasmTy),*> WasmResults for ($($name,)*) {
            const COUNT: usize = { let names: &[&str] = &[$(stringify!($name)),*]; names.len() };
            const MAY_HOLD_GC: bool = false $(|| $name::MAY_HOLD_GC)*;
            fn types() -> Vec<ValType> { vec![$($name::valtype()),*] }
            fn load_raw(values: &[ValRaw], store: StoreId) -> Self {
                let mut i = 0;
                ($({ let v = $name::from_raw(values[i], store); i += 1; v },)*)
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments)]
        impl<T: 'static, F, R, $($name: WasmTy),*> IntoFunc<T, ($($name,)*), R> for F
        where
            F: Fn($($name),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_func(self) -> (FuncType, Box<RawHostFn<T>>) {
                let ty = FuncType::new(vec![$($name::valtype()),*], R::Results::types());
                let body = move |caller: Caller<'_, T>, values: &mut [ValRaw]| -> Result<()> {
                    let store = caller.store.opaque.id;
                    let mut i = 0;
                    $(
                        if $name::MAY_HOLD_GC {
                            caller.store.opaque.gc.pin(values[i].get_ptr() as usize);
                        }
                        let $name = $name::from_raw(values[i], store);
                        i += 1;
                    )*
                    let results = self($($name),*).into_result()?;
                    results.store_results(&caller.store.opaque, values)
                };
                (ty, Box::new(body))
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments)]
        impl<T: 'static, F, R, $($name: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($name,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($name),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_func(self) -> (FuncType, Box<RawHostFn<T>>) {
                let ty = FuncType::new(vec![$($name::valtype()),*], R::Results::types());
                let body = move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| -> Result<()> {
                    let store = caller.store.opaque.id;
                    let mut i = 0;
                    $(
                        if $name::MAY_HOLD_GC {
                            caller.store.opaque.gc.pin(values[i].get_ptr() as usize);
                        }
                        let $name = $name::from_raw(values[i], store);
                        i += 1;
                    )*
                    let results = self(caller.reborrow(), $($name),*).into_result()?;
                    results.store_results(&caller.store.opaque, values)
                };
                (ty, Box::new(body))
            }
        }
    };
}

tuples!();
tuples!(A1);
tuples!(A1 A2);
tuples!(A1 A2 A3);
tuples!(A1 A2 A3 A4);
tuples!(A1 A2 A3 A4 A5);
tuples!(A1 A2 A3 A4 A5 A6);
tuples!(A1 A2 A3 A4 A5 A6 A7);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
tuples!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);

/// What a host closure may return: results, or a `Result` of them.
pub trait WasmRet {
    /// The results.
    type Results: WasmResults + StoreResults;
    /// Splits off the error, if any.
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmResults + StoreResults> WasmRet for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults + StoreResults> WasmRet for Result<R, Error> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// Writes results into the raw array (same layout as parameters).
#[doc(hidden)]
pub trait StoreResults {
    /// Writes the values into `out`.
    fn store_results(self, store: &StoreOpaque, out: &mut [ValRaw]) -> Result<()>;
}

impl<P: WasmParams> StoreResults for P {
    fn store_results(self, store: &StoreOpaque, out: &mut [ValRaw]) -> Result<()> {
        self.store_raw(store, out)
    }
}

/// A closure that can become a host function.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The signature and the raw body.
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, Box<RawHostFn<T>>);
}

/// A function with a statically known signature.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub(crate) fn new(func: Func) -> Self {
        TypedFunc {
            func,
            _marker: PhantomData,
        }
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function.
    #[inline]
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let store = store.as_context_mut().0;
        store.opaque.check(self.func.store)?;
        // Tuples have at most 12 elements, so the values fit on the stack:
        // a typed call allocates nothing. Most calls take a few values,
        // and a small buffer is cheaper to clear (the branch is decided at
        // compile time).
        if P::COUNT <= 4 && R::COUNT <= 4 {
            self.call_in(store, params, &mut [ValRaw::default(); 4])
        } else {
            self.call_in(store, params, &mut [ValRaw::default(); 12])
        }
    }

    #[inline]
    fn call_in<T: 'static>(
        &self,
        store: &mut crate::store::StoreInner<T>,
        params: P,
        buffer: &mut [ValRaw],
    ) -> Result<R> {
        let values = &mut buffer[..P::COUNT.max(R::COUNT).max(1)];
        params.store_raw(&store.opaque, values)?;
        self.func.call_raw(store, values)?;
        if R::MAY_HOLD_GC {
            for v in &values[..R::COUNT] {
                store.opaque.gc.pin(v.get_ptr() as usize);
            }
        }
        Ok(R::load_raw(values, self.func.store))
    }
}

//! `Func`: a function of a store, Wasm or host, callable from the host with
//! dynamically typed values; `Caller`, the view of the store a host function
//! gets while Wasm calls it.

use std::ffi::c_void;
use std::sync::Arc;

use hayate_environ::VMSharedTypeIndex;
use hayate_runtime::{HostFunc, HostState, VMStore, ValRaw};

use crate::error::{Error, Result};
use crate::externals::Extern;
use crate::store::{AsContext, AsContextMut, CallHook, StoreId, StoreInner};
use crate::typed::{IntoFunc, TypedFunc, WasmParams, WasmResults};
use crate::types::{FuncType, ValType};
use crate::values::Val;
use crate::vm::{self, FuncRefPtr};

/// A function: a Wasm function of an instance or a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) ptr: FuncRefPtr,
}

/// A host function's body at the raw level: arguments in, results out.
pub(crate) type RawHostFn<T> =
    dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static;

/// A host function's body as a linker shares it with every store it
/// instantiates into: each instantiation counts a reference, so its
/// reference count sits alone on its cache lines, where no other data a
/// thread reads or writes is invalidated by another thread's count.
#[repr(align(128))]
pub(crate) struct SharedHostFn<T>(pub(crate) Box<RawHostFn<T>>);

impl<T> SharedHostFn<T> {
    /// Shares `body`.
    pub(crate) fn new(body: Box<RawHostFn<T>>) -> Arc<SharedHostFn<T>> {
        Arc::new(SharedHostFn(body))
    }
}

impl Func {
    pub(crate) fn from_raw(store: StoreId, raw: *mut c_void) -> Option<Func> {
        FuncRefPtr::from_raw(raw).map(|ptr| Func { store, ptr })
    }

    /// A host function with dynamically typed parameters and results.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let body = dynamic_host_fn(ty.clone(), f);
        Func::new_raw(store.as_context_mut().0, ty, SharedHostFn::new(body))
    }

    /// A host function from a closure with Wasm-typed parameters and results,
    /// optionally taking a `Caller` first.
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, body) = f.into_func();
        Func::new_raw(store.as_context_mut().0, ty, SharedHostFn::new(body))
    }

    /// A host function around `body`. The body is shared (a linker defines
    /// one body for every store it instantiates into) and called with a
    /// single dynamic call from the runtime's host entry.
    pub(crate) fn new_raw<T: 'static>(
        store: &mut StoreInner<T>,
        ty: FuncType,
        body: Arc<SharedHostFn<T>>,
    ) -> Func {
        let type_id = ty
            .type_id(&store.opaque.engine)
            .expect("a host function's signature names types of the store's engine");
        Func::new_raw_typed(store, type_id, body)
    }

    /// `new_raw` with the signature's engine-wide id already known.
    pub(crate) fn new_raw_typed<T: 'static>(
        store: &mut StoreInner<T>,
        type_id: VMSharedTypeIndex,
        body: Arc<SharedHostFn<T>>,
    ) -> Func {
        let owner = store.opaque.id;
        let mut host = HostFunc::new(type_id, Box::new(HostBody { owner, body }));
        let ptr = FuncRefPtr::new(host.func_ref()).expect("non-null");
        store.opaque.host_funcs.push(host);
        Func {
            store: store.opaque.id,
            ptr,
        }
    }

    /// The function's signature. Panics if `store` is not the function's
    /// store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        FuncType::from_registry(&store.engine, self.ptr.type_id(self.store, store))
    }

    /// Calls the function. `params` must match its parameter types and
    /// `results` must have one slot per result.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check(self.store)?;
        // The signature is borrowed from the engine's registry (no lock,
        // no copy), and the raw values of a call with few of them live on
        // the stack: an untyped call shares nothing writable with other
        // threads and allocates nothing.
        let type_id = self.ptr.type_id(self.store, &store.opaque);
        let ty = store.opaque.engine.lookup_type(type_id);
        if params.len() != ty.params.len() || results.len() != ty.results.len() {
            return Err(Error::msg(format!(
                "function {ty} called with {} arguments and {} result slots",
                params.len(),
                results.len()
            )));
        }
        let len = ty.params.len().max(ty.results.len());
        let mut on_stack = [ValRaw::default(); 8];
        let mut on_heap = Vec::new();
        let values = if len <= on_stack.len() {
            &mut on_stack[..len]
        } else {
            on_heap.resize(len, ValRaw::default());
            &mut on_heap[..]
        };
        for (i, (p, t)) in params.iter().zip(&ty.params).enumerate() {
            if !p.matches(&store.opaque, *t) {
                return Err(Error::msg(format!(
                    "argument {i} has type {} but the function expects {}",
                    p.ty(),
                    ValType::from_env(&store.opaque.engine, *t)
                )));
            }
            values[i] = p.to_raw(&store.opaque)?;
        }
        self.call_raw(store, values)?;
        let ty = store.opaque.engine.lookup_type(type_id);
        for (i, t) in ty.results.iter().enumerate() {
            store.opaque.pin_if_gc(*t, values[i]);
            results[i] = Val::from_raw(values[i], *t, self.store);
        }
        Ok(())
    }

    /// Calls with raw values already converted and type-checked.
    #[inline]
    pub(crate) fn call_raw<T: 'static>(
        &self,
        store: &mut StoreInner<T>,
        values: &mut [ValRaw],
    ) -> Result<()> {
        if store.call_hook.is_some() {
            store.invoke_call_hook(CallHook::CallingWasm)?;
            let result = self.call_raw_unhooked(store, values);
            store.invoke_call_hook(CallHook::ReturningFromWasm)?;
            return result;
        }
        self.call_raw_unhooked(store, values)
    }

    #[inline(always)]
    fn call_raw_unhooked<T: 'static>(
        &self,
        store: &mut StoreInner<T>,
        values: &mut [ValRaw],
    ) -> Result<()> {
        let limits: *const _ = &*store.opaque.limits;
        let max_stack = store.opaque.engine.config().max_wasm_stack;
        let vmstore: *mut dyn VMStore = store as *mut StoreInner<T>;
        vm::call_raw(vmstore, self.store, limits, max_stack, self.ptr, values)
    }

    /// A statically typed view of this function, if the types match.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let store = &store.as_context().0.opaque;
        let ty = store
            .engine
            .lookup_type(self.ptr.type_id(self.store, store));
        // Every value of a Rust parameter type must be one of the
        // function's parameter type, and every result of the function a
        // value of the Rust result type.
        let engine = &store.engine;
        let fits = |from: &[hayate_environ::WasmValType],
                    to: &[hayate_environ::WasmValType],
                    params: bool| {
            from.len() == to.len()
                && from.iter().zip(to).all(|(f, t)| match params {
                    true => engine.is_val_subtype(*t, *f),
                    false => engine.is_val_subtype(*f, *t),
                })
        };
        let env_types = |types: Vec<ValType>| -> Vec<hayate_environ::WasmValType> {
            types.iter().filter_map(ValType::to_env_abstract).collect()
        };
        if !fits(&ty.params, &env_types(P::types()), true)
            || !fits(&ty.results, &env_types(R::types()), false)
        {
            return Err(Error::msg(format!(
                "type mismatch: function is {ty}, requested params {:?} results {:?}",
                P::types(),
                R::types()
            )));
        }
        Ok(TypedFunc::new(*self))
    }
}

/// What a store of data type `T` keeps for one host function (the
/// runtime's [`HostState`]): the store it belongs to and its body, shared
/// with the linker that defined it. Every host state this crate makes is
/// one of these (`Func::new_raw_typed` is the only maker); `owner` comes
/// first, at the same offset for every `T`, so `vm::host_body` can check
/// it before trusting `T` (see there).
#[repr(C)]
pub(crate) struct HostBody<T> {
    pub(crate) owner: StoreId,
    pub(crate) body: Arc<SharedHostFn<T>>,
}

/// Runs the host function described by `host` for `store`: the store's
/// half of `VMStore::call_host`. `caller` is the calling instance's id
/// (`None` when the host calls the function directly).
///
/// A host function is only reachable from the store that made it, which
/// is a `StoreInner<T>`, so `host` is a `HostBody<T>`; `vm::host_body`
/// checks the store id it records (one comparison) and panics on a
/// mismatch, which would be a bug in this crate.
#[inline]
pub(crate) fn call_host<T: 'static>(
    store: &mut StoreInner<T>,
    host: &HostState,
    caller: Option<usize>,
    values: &mut [ValRaw],
) -> Result<()> {
    let body = &*vm::host_body::<T>(host, store.opaque.id).body.0;
    let instance = caller.unwrap_or(Caller::<T>::NO_INSTANCE);
    if store.call_hook.is_none() {
        body(Caller { store, instance }, values)
    } else {
        call_host_with_hooks(store, instance, body, values)
    }
}

/// Calls a host function's body between the `CallingHost` and
/// `ReturningFromHost` hooks. The body's error is returned unless the
/// returning hook fails, whose error then wins (as in Wasmtime).
#[cold]
fn call_host_with_hooks<T: 'static>(
    store: &mut StoreInner<T>,
    instance: usize,
    body: &RawHostFn<T>,
    values: &mut [ValRaw],
) -> Result<()> {
    store.invoke_call_hook(CallHook::CallingHost)?;
    let result = body(
        Caller {
            store: &mut *store,
            instance,
        },
        values,
    );
    store.invoke_call_hook(CallHook::ReturningFromHost)?;
    result
}

/// Wraps a host closure over dynamically typed values as a raw body that
/// converts arguments in and checks and converts results out.
pub(crate) fn dynamic_host_fn<T: 'static>(
    sig: FuncType,
    f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> Box<RawHostFn<T>> {
    Box::new(
        move |mut caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
            let store_id = caller.store.opaque.id;
            let params: Vec<Val> = sig
                .params_env()
                .iter()
                .zip(raw.iter())
                .map(|(t, r)| {
                    caller.store.opaque.pin_if_gc(*t, *r);
                    Val::from_raw(*r, *t, store_id)
                })
                .collect();
            // Result slots start zero or null (of the result's hierarchy,
            // even where null is not allowed: the check below insists the
            // closure replaced it).
            let mut results: Vec<Val> = sig
                .results_env()
                .iter()
                .map(|t| Val::from_raw(ValRaw::default(), *t, store_id))
                .collect();
            f(caller.reborrow(), &params, &mut results)?;
            for (i, (val, ty)) in results.iter().zip(sig.results_env()).enumerate() {
                if !val.matches(&caller.store.opaque, *ty) {
                    return Err(Error::msg(format!(
                        "host function result {i} has type {} but its signature says {}",
                        val.ty(),
                        ValType::from_env(&caller.store.opaque.engine, *ty)
                    )));
                }
                raw[i] = val.to_raw(&caller.store.opaque)?;
            }
            Ok(())
        },
    )
}

/// The store, as a host function sees it while Wasm calls it.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    /// The calling instance's index in the store, or `NO_INSTANCE` when the
    /// host called the function directly (a plain index keeps `Caller` at two
    /// words, so it travels in registers).
    pub(crate) instance: usize,
}

impl<'a, T: 'static> Caller<'a, T> {
    pub(crate) const NO_INSTANCE: usize = usize::MAX;

    pub(crate) fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: self.store,
            instance: self.instance,
        }
    }

    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// An export of the calling instance (for example its memory), if the
    /// function was called from Wasm.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let id = self.instance;
        if id == Self::NO_INSTANCE {
            return None;
        }
        crate::instance::Instance::from_index(self.store.opaque.id, id).get_export(&mut *self, name)
    }

    /// The engine of the store.
    pub fn engine(&self) -> &crate::Engine {
        &self.store.opaque.engine
    }

    /// The fuel left (needs `Config::consume_fuel`).
    pub fn get_fuel(&self) -> Result<u64> {
        self.store.opaque.get_fuel()
    }

    /// Sets the fuel left (needs `Config::consume_fuel`).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.store.opaque.set_fuel(fuel)
    }
}

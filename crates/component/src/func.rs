//! Component functions ([`Func`]): a core export lifted with its
//! canonical options, or a host function; calling one from the host
//! (lowering the arguments into the guest, lifting its results), and
//! lowering one into a core function a core instance imports.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use hayate::{AsContext, AsContextMut, Caller, Memory, StoreContextMut};

use crate::abi::{self, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, StringEncoding};
use crate::handles::InstanceState;
use crate::typed::{AbiContext, ComponentList, ComponentParams, typecheck_func};
use crate::types::{FuncType, ResourceIndex, Type};
use crate::values::Val;

/// A core WebAssembly value.
type Core = hayate::Val;

/// A host function's body: the store, the arguments, the result slots.
pub(crate) type HostFn<T> =
    dyn Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync;

/// A component function.
#[derive(Clone)]
pub struct Func {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func").finish_non_exhaustive()
    }
}

enum Inner {
    Lifted(Lifted),
    Host {
        /// An `Arc<HostFn<T>>` for the store's `T`.
        body: Box<dyn Any + Send + Sync>,
        /// For a function with Rust types (`func_wrap`): an
        /// `Arc<TypedHostFn<T>>`, which guests call without `Val`s.
        typed: Option<Box<dyn Any + Send + Sync>>,
        /// For a function with Rust types (`func_wrap`): checks them
        /// against the type of an import it is to satisfy.
        typecheck: Option<fn(&FuncType) -> Result<()>>,
    },
}

/// A function type with what every call of it needs, computed once
/// (when the component is loaded).
#[derive(Debug)]
pub(crate) struct Signature {
    pub ty: FuncType,
    /// The parameter types, and as one tuple (for passing in memory).
    params: Vec<Type>,
    params_tuple: Type,
    /// Whether the parameters, or the result, go through memory.
    params_in_memory: bool,
    result_in_memory: bool,
    /// The core signature when lifted, and when lowered.
    lifted_results: Vec<hayate::ValType>,
    lowered: (Vec<hayate::ValType>, Vec<hayate::ValType>),
    /// The lowered core signature as the engine registered it, kept from
    /// the first instantiation so later ones skip registering it again.
    lowered_core: std::sync::OnceLock<hayate::FuncType>,
}

impl Signature {
    pub(crate) fn new(ty: FuncType) -> Signature {
        let params: Vec<Type> = ty.params.iter().map(|(_, t)| t.clone()).collect();
        let (_, lifted_results) = abi::flatten_func(&params, ty.result.as_ref(), false);
        let lowered = abi::flatten_func(&params, ty.result.as_ref(), true);
        Signature {
            params_tuple: Type::Tuple(params.clone().into()),
            params_in_memory: flat_count(&params) > MAX_FLAT_PARAMS,
            result_in_memory: ty.result.iter().any(|t| flat_count([t]) > MAX_FLAT_RESULTS),
            params,
            lifted_results,
            lowered,
            lowered_core: std::sync::OnceLock::new(),
            ty,
        }
    }
}

/// A lifted core function and what its canonical options name.
pub(crate) struct Lifted {
    pub core: hayate::Func,
    pub sig: Arc<Signature>,
    pub abi: Abi,
    /// The component instance that lifted it: entered for the call (a
    /// call into an instance already on the stack is refused), and the
    /// handle table its handles move in and out of.
    pub instance: Arc<InstanceState>,
}

/// A `realloc(old_ptr, old_size, align, new_size) -> ptr`.
pub(crate) type Realloc = hayate::TypedFunc<(i32, i32, i32, i32), i32>;

/// The memory, allocator and string encoding of a lift or lower.
#[derive(Clone)]
pub(crate) struct Abi {
    pub memory: Option<Memory>,
    /// `realloc(old_ptr, old_size, align, new_size) -> ptr`, its type
    /// checked by validation.
    pub realloc: Option<Realloc>,
    pub post_return: Option<hayate::Func>,
    pub encoding: StringEncoding,
}

impl Func {
    pub(crate) fn lifted(lifted: Lifted) -> Func {
        Func {
            inner: Arc::new(Inner::Lifted(lifted)),
        }
    }

    /// A host function on dynamic values (`func_new`).
    pub(crate) fn host<T: 'static>(f: Arc<HostFn<T>>) -> Func {
        Func {
            inner: Arc::new(Inner::Host {
                body: Box::new(f),
                typed: None,
                typecheck: None,
            }),
        }
    }

    /// Checks that this function can be called with type `ty` (an
    /// import's): a host function with Rust types must have exactly it.
    pub(crate) fn check_type(&self, ty: &FuncType) -> Result<()> {
        match &*self.inner {
            Inner::Host {
                typecheck: Some(check),
                ..
            } => check(ty),
            _ => Ok(()),
        }
    }

    /// The function's type, for a function the component defines (a host
    /// function takes the type of each import it satisfies).
    pub fn ty(&self) -> Option<&FuncType> {
        match &*self.inner {
            Inner::Lifted(l) => Some(&l.sig.ty),
            Inner::Host { .. } => None,
        }
    }

    /// Calls the function with `params`, writing its result (if it has
    /// one) to `results[0]`. The guest's `post-return` runs before this
    /// returns.
    pub fn call<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        self.call_checking(store, params, results, true)
    }

    /// [`Func::call`], checking the arguments' types first only with
    /// `check_types` (a [`TypedFunc`](crate::TypedFunc) checked them
    /// once, for all calls; lowering refuses a value of the wrong shape
    /// either way).
    pub(crate) fn call_checking<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
        check_types: bool,
    ) -> Result<()> {
        match &*self.inner {
            Inner::Lifted(l) => {
                check_args(&l.sig.ty, params, results, check_types)?;
                call_lifted(
                    store.as_context_mut(),
                    l,
                    |cx, sig, to| lower_vals(cx, sig, params, to),
                    |cx, sig, from| lift_vals(cx, sig, results, from),
                )
            }
            Inner::Host { body, .. } => {
                let f = body
                    .downcast_ref::<Arc<HostFn<T>>>()
                    .context("a host function called with a store of another type")?;
                f(store.as_context_mut(), params, results)
            }
        }
    }

    /// Calls the function with Rust values (types checked by
    /// [`Func::typed`]), lowering them straight into the guest and
    /// lifting the result straight out of it.
    pub(crate) fn call_typed<T: 'static, P: ComponentParams, R: ComponentList>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        params: P,
    ) -> Result<R> {
        match &*self.inner {
            Inner::Lifted(l) => call_lifted(
                store.as_context_mut(),
                l,
                |cx, sig, to| lower_typed(cx, &sig.params, params, to),
                |cx, sig, from| lift_typed(cx, sig.ty.result.as_slice(), from),
            ),
            Inner::Host { .. } => {
                let mut results = vec![Val::Bool(false); R::LEN];
                self.call_checking(store, &params.into_vals(), &mut results, false)?;
                R::from_vals(results)
            }
        }
    }
}

/// Linear memory, `realloc` and handle table of one side of a call, over
/// the store.
struct CallCx<'a, T: 'static> {
    store: StoreContextMut<'a, T>,
    abi: &'a Abi,
    instance: &'a Arc<InstanceState>,
    /// Units (list elements, string bytes) lifted so far in this call.
    lifted: std::cell::Cell<u64>,
    /// Handles lent (lifted as borrows) for the call, to return after it.
    lends: RefCell<Vec<u32>>,
}

impl<'a, T: 'static> CallCx<'a, T> {
    fn new(store: StoreContextMut<'a, T>, abi: &'a Abi, instance: &'a Arc<InstanceState>) -> Self {
        CallCx {
            store,
            abi,
            instance,
            lifted: std::cell::Cell::new(0),
            lends: RefCell::new(Vec::new()),
        }
    }
}

/// Units one call may lift beyond its memory's size: twice the memory,
/// plus this, covers any value without aliasing and modest aliasing.
const LIFT_ALLOWANCE: u64 = 1 << 20;

impl<T: 'static> abi::Memory for CallCx<'_, T> {
    fn bytes(&self) -> &[u8] {
        match &self.abi.memory {
            Some(m) => m.data(self.store.as_context()),
            None => &[],
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match &self.abi.memory {
            Some(m) => m.data_mut(self.store.as_context_mut()),
            None => &mut [],
        }
    }

    fn charge(&self, units: u64) -> Result<()> {
        let memory = abi::Memory::bytes(self).len() as u64;
        let budget = memory.saturating_mul(2).saturating_add(LIFT_ALLOWANCE);
        let total = self.lifted.get().saturating_add(units);
        ensure!(
            total <= budget,
            "the guest's value is larger than its memory allows ({total} units lifted)"
        );
        self.lifted.set(total);
        Ok(())
    }

    fn realloc(&mut self, old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let f = self
            .abi
            .realloc
            .as_ref()
            .context("the function needs `realloc` and its options name none")?;
        let args = (
            old_ptr as i32,
            old_size as i32,
            align as i32,
            new_size as i32,
        );
        Ok(f.call(&mut self.store, args)? as u32)
    }

    fn lift_handle(&self, index: u32, res: ResourceIndex, own: bool) -> Result<Val> {
        if own {
            return self.instance.lift_own(index, res.0);
        }
        let val = self.instance.lift_borrow(index, res.0)?;
        self.lends.borrow_mut().push(index);
        Ok(val)
    }

    fn lower_handle(&mut self, val: &Val, res: ResourceIndex, own: bool) -> Result<u32> {
        self.instance.lower(val, res.0, own)
    }
}

impl<T: 'static> Drop for CallCx<'_, T> {
    /// The call the lends were for is over (or failed).
    fn drop(&mut self) {
        for index in self.lends.get_mut().drain(..) {
            self.instance.end_lend(index);
        }
    }
}

/// The number of core values `types` flatten to.
fn flat_count<'t>(types: impl IntoIterator<Item = &'t Type>) -> usize {
    let mut flat = Vec::new();
    types.into_iter().for_each(|t| abi::flatten(t, &mut flat));
    flat.len()
}

fn check_args(ty: &FuncType, params: &[Val], results: &[Val], check_types: bool) -> Result<()> {
    ensure!(
        params.len() == ty.params.len(),
        "expected {} arguments, got {}",
        ty.params.len(),
        params.len()
    );
    for ((name, t), v) in ty.params.iter().zip(params).filter(|_| check_types) {
        v.type_check(t)
            .with_context(|| format!("argument `{name}`"))?;
    }
    ensure!(
        results.len() == usize::from(ty.result.is_some()),
        "expected {} result slots, got {}",
        usize::from(ty.result.is_some()),
        results.len()
    );
    Ok(())
}

/// Where a call's arguments go: flat core values, or a tuple in guest
/// memory at a pointer.
enum Place<'a> {
    Flat(&'a mut Vec<Core>),
    Memory(u32),
}

/// Where a call's result comes from: flat core values, or guest memory
/// at a pointer.
enum Source<'a> {
    Flat(&'a [Core]),
    Memory(u32),
}

fn call_lifted<T: 'static, R>(
    store: StoreContextMut<'_, T>,
    l: &Lifted,
    lower: impl FnOnce(&mut AbiContext<'_>, &Signature, Place<'_>) -> Result<()>,
    lift: impl FnOnce(&mut AbiContext<'_>, &Signature, Source<'_>) -> Result<R>,
) -> Result<R> {
    l.instance.enter()?;
    let result = call_entered(store, l, lower, lift);
    l.instance.leave(result.is_ok());
    result
}

/// [`call_lifted`] once the instance is entered: `lower` writes the
/// arguments where the callee expects them, `lift` reads its result.
fn call_entered<T: 'static, R>(
    store: StoreContextMut<'_, T>,
    l: &Lifted,
    lower: impl FnOnce(&mut AbiContext<'_>, &Signature, Place<'_>) -> Result<()>,
    lift: impl FnOnce(&mut AbiContext<'_>, &Signature, Source<'_>) -> Result<R>,
) -> Result<R> {
    let sig = &*l.sig;
    let mut cx = CallCx::new(store, &l.abi, &l.instance);
    let mut flat = FlatBuffer::take();
    {
        let mut acx = AbiContext::new(&mut cx, l.abi.encoding);
        if sig.params_in_memory {
            let tuple = &sig.params_tuple;
            let ptr = abi::allocate(acx.mem, abi::align(tuple), abi::size(tuple))?;
            lower(&mut acx, sig, Place::Memory(ptr))?;
            flat.push(Core::I32(ptr as i32));
        } else {
            lower(&mut acx, sig, Place::Flat(&mut flat))?;
        }
    }
    // A lifted function returns at most one core value.
    let mut out = [Core::I32(0)];
    let out = &mut out[..sig.lifted_results.len()];
    for (slot, t) in out.iter_mut().zip(&sig.lifted_results) {
        *slot = Core::default_for_ty(t).expect("numbers have defaults");
    }
    l.core.call(&mut cx.store, &flat, out)?;
    drop(flat);
    l.instance.check_borrows_returned()?;
    let result = {
        let mut acx = AbiContext::new(&mut cx, l.abi.encoding);
        if sig.result_in_memory {
            let ptr = out[0]
                .i32()
                .context("the lifted function returned no pointer")? as u32;
            let rt = sig.ty.result.as_ref().context("a result in memory")?;
            abi::check_place(acx.mem, rt, ptr)?;
            lift(&mut acx, sig, Source::Memory(ptr))?
        } else {
            lift(&mut acx, sig, Source::Flat(out))?
        }
    };
    if let Some(post) = &l.abi.post_return {
        post.call(&mut cx.store, out, &mut [])?;
    }
    Ok(result)
}

thread_local! {
    /// The flat arguments' buffer, kept between calls on this thread.
    static FLAT_BUFFER: std::cell::Cell<Vec<Core>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A call's flat arguments, in a buffer reused by the thread's next call
/// (a nested call finds it taken and starts an empty one).
struct FlatBuffer(Vec<Core>);

impl FlatBuffer {
    fn take() -> FlatBuffer {
        // (A call made while the thread's locals are being destroyed
        // gets a buffer of its own.)
        FlatBuffer(FLAT_BUFFER.try_with(|b| b.take()).unwrap_or_default())
    }
}

impl std::ops::Deref for FlatBuffer {
    type Target = Vec<Core>;
    fn deref(&self) -> &Vec<Core> {
        &self.0
    }
}

impl std::ops::DerefMut for FlatBuffer {
    fn deref_mut(&mut self) -> &mut Vec<Core> {
        &mut self.0
    }
}

impl Drop for FlatBuffer {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.0);
        buffer.clear();
        let _ = FLAT_BUFFER.try_with(|b| b.set(buffer));
    }
}

/// Lowers dynamic arguments `params` for a call with `sig`.
fn lower_vals(
    cx: &mut AbiContext<'_>,
    sig: &Signature,
    params: &[Val],
    to: Place<'_>,
) -> Result<()> {
    match to {
        Place::Memory(ptr) => cx.store_val(&sig.params_tuple, &Val::Tuple(params.to_vec()), ptr),
        Place::Flat(flat) => {
            for (t, v) in sig.params.iter().zip(params) {
                cx.lower_val(t, v, flat)?;
            }
            Ok(())
        }
    }
}

/// Lifts the dynamic result of a call with `sig` into `results`.
fn lift_vals(
    cx: &mut AbiContext<'_>,
    sig: &Signature,
    results: &mut [Val],
    from: Source<'_>,
) -> Result<()> {
    let Some(rt) = &sig.ty.result else {
        return Ok(());
    };
    results[0] = match from {
        Source::Memory(ptr) => cx.load_val(rt, ptr)?,
        Source::Flat(flat) => cx.lift_val(rt, &mut flat.iter().copied())?,
    };
    Ok(())
}

/// Lowers typed `values` of types `types` (a call's parameters, or a
/// host function's result) where the callee or caller expects them.
fn lower_typed<P: ComponentParams>(
    cx: &mut AbiContext<'_>,
    types: &[Type],
    values: P,
    to: Place<'_>,
) -> Result<()> {
    match to {
        Place::Memory(ptr) => values.store_params(cx, types, ptr),
        Place::Flat(flat) => values.lower_params(cx, types, flat),
    }
}

/// Lifts typed values of types `types` (a call's result, or a host
/// function's parameters).
fn lift_typed<L: ComponentList>(
    cx: &mut AbiContext<'_>,
    types: &[Type],
    from: Source<'_>,
) -> Result<L> {
    match from {
        Source::Memory(ptr) => L::load_fields(cx, types, ptr),
        Source::Flat(flat) => L::lift_list(cx, types, &mut flat.iter().copied()),
    }
}

/// What a guest's call of a lowered function runs with: the caller's
/// canonical options and component instance, and the function's type.
pub(crate) struct LoweredCall<'a> {
    abi: &'a Abi,
    instance: &'a Arc<InstanceState>,
    sig: &'a Signature,
}

/// A host function with Rust types, called by the guest with flat core
/// arguments: lifts them straight into its parameters and lowers its
/// result straight back.
pub(crate) type TypedHostFn<T> =
    dyn Fn(Caller<'_, T>, &LoweredCall<'_>, &[Core], &mut [Core]) -> Result<()> + Send + Sync;

impl Func {
    /// A host function with Rust types `P -> R` (`func_wrap`).
    pub(crate) fn host_typed<T: 'static, P: ComponentList, R: ComponentList>(
        f: impl Fn(StoreContextMut<'_, T>, P) -> Result<R> + Send + Sync + 'static,
    ) -> Func {
        let f = Arc::new(f);
        let g = f.clone();
        let dynamic = move |store: StoreContextMut<'_, T>, args: &[Val], results: &mut [Val]| {
            let r = g(store, P::from_vals(args.to_vec())?)?;
            for (slot, v) in results.iter_mut().zip(r.into_vals()) {
                *slot = v;
            }
            Ok(())
        };
        let typed = move |caller: Caller<'_, T>,
                          call: &LoweredCall<'_>,
                          args: &[Core],
                          rets: &mut [Core]| {
            guest_call(
                caller,
                call,
                args,
                rets,
                |cx, sig, from| lift_typed::<P>(cx, &sig.params, from),
                |store, p| f(store, p),
                |cx, sig, r: R, to| lower_typed(cx, sig.ty.result.as_slice(), r, to),
            )
        };
        let body: Arc<HostFn<T>> = Arc::new(dynamic);
        let typed: Arc<TypedHostFn<T>> = Arc::new(typed);
        Func {
            inner: Arc::new(Inner::Host {
                body: Box::new(body),
                typed: Some(Box::new(typed)),
                typecheck: Some(typecheck_func::<P, R>),
            }),
        }
    }
}

/// A guest's call of a lowered function: lifts the arguments from the
/// caller's flat core values or memory, runs `call` on them, and lowers
/// its result into the return values or through the return pointer.
fn guest_call<T: 'static, P, R>(
    mut caller: Caller<'_, T>,
    call: &LoweredCall<'_>,
    args: &[Core],
    rets: &mut [Core],
    lift: impl FnOnce(&mut AbiContext<'_>, &Signature, Source<'_>) -> Result<P>,
    body: impl FnOnce(StoreContextMut<'_, T>, P) -> Result<R>,
    lower: impl FnOnce(&mut AbiContext<'_>, &Signature, R, Place<'_>) -> Result<()>,
) -> Result<()> {
    let (sig, enc) = (call.sig, call.abi.encoding);
    let mut cx = CallCx::new(caller.as_context_mut(), call.abi, call.instance);
    let params = {
        let mut acx = AbiContext::new(&mut cx, enc);
        if sig.params_in_memory {
            let ptr = args
                .first()
                .and_then(|a| a.i32())
                .context("no parameter pointer")? as u32;
            abi::check_place(acx.mem, &sig.params_tuple, ptr)?;
            lift(&mut acx, sig, Source::Memory(ptr))?
        } else {
            lift(&mut acx, sig, Source::Flat(args))?
        }
    };
    let result = body(cx.store.as_context_mut(), params)?;
    // The callee is done with what it borrowed.
    drop(cx);
    let mut cx = CallCx::new(caller.as_context_mut(), call.abi, call.instance);
    let mut acx = AbiContext::new(&mut cx, enc);
    if sig.result_in_memory {
        let Some(Core::I32(ptr)) = args.last() else {
            bail!("no return pointer");
        };
        let rt = sig.ty.result.as_ref().context("a result in memory")?;
        abi::check_place(acx.mem, rt, *ptr as u32)?;
        lower(&mut acx, sig, result, Place::Memory(*ptr as u32))
    } else {
        let mut flat = FlatBuffer::take();
        lower(&mut acx, sig, result, Place::Flat(&mut flat))?;
        ensure!(flat.len() == rets.len(), "result arity");
        rets.copy_from_slice(&flat);
        Ok(())
    }
}

/// A core function that, called by a core instance with the flat
/// arguments of `ty`, lifts them from that instance (`abi`), calls
/// `callee` and lowers its result back.
pub(crate) fn lower<T: 'static>(
    store: StoreContextMut<'_, T>,
    callee: Func,
    sig: Arc<Signature>,
    abi: Abi,
    instance: &Arc<InstanceState>,
) -> hayate::Func {
    let instance = instance.clone();
    let cache = sig.clone();
    let unregistered = || hayate::FuncType::new(cache.lowered.0.clone(), cache.lowered.1.clone());
    let typed = match &*callee.inner {
        Inner::Host { typed: Some(t), .. } => t.downcast_ref::<Arc<TypedHostFn<T>>>().cloned(),
        _ => None,
    };
    let make = |store: StoreContextMut<'_, T>, core_ty| {
        hayate::Func::new(
            store,
            core_ty,
            move |caller: Caller<'_, T>, args: &[Core], rets: &mut [Core]| {
                let call = LoweredCall {
                    abi: &abi,
                    instance: &instance,
                    sig: &sig,
                };
                if let Some(typed) = &typed {
                    return typed(caller, &call, args, rets);
                }
                guest_call(
                    caller,
                    &call,
                    args,
                    rets,
                    lift_params,
                    |store, params: Vec<Val>| {
                        let mut result =
                            vec![Val::Bool(false); usize::from(sig.ty.result.is_some())];
                        callee.call(store, &params, &mut result)?;
                        Ok(result.pop())
                    },
                    lower_result,
                )
            },
        )
    };
    with_registered_type(store, &cache.lowered_core, unregistered, make)
}

/// Makes a core function with `make`, given its signature: the one the
/// engine registered, kept in `cache` from the first instantiation so
/// that later ones do not register it again, or else `unregistered()`.
pub(crate) fn with_registered_type<T: 'static>(
    mut store: StoreContextMut<'_, T>,
    cache: &std::sync::OnceLock<hayate::FuncType>,
    unregistered: impl FnOnce() -> hayate::FuncType,
    make: impl FnOnce(StoreContextMut<'_, T>, hayate::FuncType) -> hayate::Func,
) -> hayate::Func {
    let ty = cache.get().cloned().unwrap_or_else(unregistered);
    let f = make(store.as_context_mut(), ty);
    cache.get_or_init(|| f.ty(&store));
    f
}

/// Lifts the dynamic arguments of a guest's call.
fn lift_params(cx: &mut AbiContext<'_>, sig: &Signature, from: Source<'_>) -> Result<Vec<Val>> {
    match from {
        Source::Memory(ptr) => match cx.load_val(&sig.params_tuple, ptr)? {
            Val::Tuple(items) => Ok(items),
            _ => bail!("parameters did not load as a tuple"),
        },
        Source::Flat(args) => {
            let mut flat = args.iter().copied();
            sig.params
                .iter()
                .map(|t| cx.lift_val(t, &mut flat))
                .collect()
        }
    }
}

/// Lowers the dynamic result of a guest's call, checked against its type.
fn lower_result(
    cx: &mut AbiContext<'_>,
    sig: &Signature,
    result: Option<Val>,
    to: Place<'_>,
) -> Result<()> {
    let (Some(rt), Some(v)) = (&sig.ty.result, result) else {
        return Ok(());
    };
    v.type_check(rt).context("the host function's result")?;
    match to {
        Place::Memory(ptr) => cx.store_val(rt, &v, ptr),
        Place::Flat(flat) => cx.lower_val(rt, &v, flat),
    }
}

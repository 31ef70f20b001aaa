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
use crate::types::{FuncType, ResourceIndex, Type};
use crate::values::Val;

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

/// The memory, allocator and string encoding of a lift or lower.
#[derive(Clone)]
pub(crate) struct Abi {
    pub memory: Option<Memory>,
    pub realloc: Option<hayate::Func>,
    pub post_return: Option<hayate::Func>,
    pub encoding: StringEncoding,
}

impl Func {
    pub(crate) fn lifted(lifted: Lifted) -> Func {
        Func {
            inner: Arc::new(Inner::Lifted(lifted)),
        }
    }

    pub(crate) fn host<T: 'static>(
        f: Arc<HostFn<T>>,
        typecheck: Option<fn(&FuncType) -> Result<()>>,
    ) -> Func {
        Func {
            inner: Arc::new(Inner::Host {
                body: Box::new(f),
                typecheck,
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
                call_lifted(store.as_context_mut(), l, params, results)
            }
            Inner::Host { body, .. } => {
                let f = body
                    .downcast_ref::<Arc<HostFn<T>>>()
                    .context("a host function called with a store of another type")?;
                f(store.as_context_mut(), params, results)
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
        let args = [old_ptr, old_size, align, new_size].map(|x| hayate::Val::I32(x as i32));
        let mut out = [hayate::Val::I32(0)];
        f.call(&mut self.store, &args, &mut out)?;
        Ok(out[0].i32().context("realloc returned no i32")? as u32)
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

fn call_lifted<T: 'static>(
    store: StoreContextMut<'_, T>,
    l: &Lifted,
    params: &[Val],
    results: &mut [Val],
) -> Result<()> {
    l.instance.enter()?;
    let result = call_entered(store, l, params, results);
    l.instance.leave(result.is_ok());
    result
}

/// [`call_lifted`] once the instance is entered.
fn call_entered<T: 'static>(
    store: StoreContextMut<'_, T>,
    l: &Lifted,
    params: &[Val],
    results: &mut [Val],
) -> Result<()> {
    let sig = &*l.sig;
    let mut cx = CallCx::new(store, &l.abi, &l.instance);
    let enc = l.abi.encoding;
    let mut flat = Vec::with_capacity(sig.lowered.0.len());
    if sig.params_in_memory {
        let tuple = &sig.params_tuple;
        let ptr = abi::Memory::realloc(&mut cx, 0, 0, abi::align(tuple), abi::size(tuple))?;
        abi::store(&mut cx, enc, tuple, &Val::Tuple(params.to_vec()), ptr)?;
        flat.push(hayate::Val::I32(ptr as i32));
    } else {
        for (t, v) in sig.params.iter().zip(params) {
            abi::lower_flat(&mut cx, enc, t, v, &mut flat)?;
        }
    }
    let mut out: Vec<hayate::Val> = sig
        .lifted_results
        .iter()
        .map(|t| hayate::Val::default_for_ty(t).expect("numbers have defaults"))
        .collect();
    l.core.call(&mut cx.store, &flat, &mut out)?;
    l.instance.check_borrows_returned()?;
    if let Some(rt) = &sig.ty.result {
        results[0] = if sig.result_in_memory {
            let ptr = out[0]
                .i32()
                .context("the lifted function returned no pointer")?;
            abi::load(&mut cx, enc, rt, ptr as u32)?
        } else {
            abi::lift_flat(&mut cx, enc, rt, &mut out.iter().cloned())?
        };
    }
    if let Some(post) = &l.abi.post_return {
        post.call(&mut cx.store, &out, &mut [])?;
    }
    Ok(())
}

/// A core function that, called by a core instance with the flat
/// arguments of `ty`, lifts them from that instance (`abi`), calls
/// `callee` and lowers its result back.
pub(crate) fn lower<T: 'static>(
    mut store: StoreContextMut<'_, T>,
    callee: Func,
    sig: Arc<Signature>,
    abi: Abi,
    instance: &Arc<InstanceState>,
) -> hayate::Func {
    let instance = instance.clone();
    let (core_params, core_results) = sig.lowered.clone();
    let core_ty = hayate::FuncType::new(core_params, core_results);
    hayate::Func::new(
        &mut store,
        core_ty,
        move |mut caller: Caller<'_, T>, args: &[hayate::Val], rets: &mut [hayate::Val]| {
            let enc = abi.encoding;
            let mut cx = CallCx::new(caller.as_context_mut(), &abi, &instance);
            let params = lift_params(&mut cx, enc, &sig, args)?;
            let ty = &sig.ty;
            let mut result = vec![Val::Bool(false); usize::from(ty.result.is_some())];
            callee.call(cx.store.as_context_mut(), &params, &mut result)?;
            // The callee is done with what it borrowed.
            drop(cx);
            let Some(rt) = &ty.result else {
                return Ok(());
            };
            result[0]
                .type_check(rt)
                .context("the host function's result")?;
            let mut cx = CallCx::new(caller.as_context_mut(), &abi, &instance);
            if sig.result_in_memory {
                let Some(hayate::Val::I32(ptr)) = args.last() else {
                    bail!("no return pointer");
                };
                abi::store(&mut cx, enc, rt, &result[0], *ptr as u32)
            } else {
                let mut flat = Vec::new();
                abi::lower_flat(&mut cx, enc, rt, &result[0], &mut flat)?;
                ensure!(flat.len() == rets.len(), "result arity");
                rets.clone_from_slice(&flat);
                Ok(())
            }
        },
    )
}

fn lift_params<T: 'static>(
    cx: &mut CallCx<'_, T>,
    enc: StringEncoding,
    sig: &Signature,
    args: &[hayate::Val],
) -> Result<Vec<Val>> {
    let types = &sig.params;
    if sig.params_in_memory {
        let ptr = args
            .first()
            .and_then(|a| a.i32())
            .context("no parameter pointer")?;
        match abi::load(cx, enc, &sig.params_tuple, ptr as u32)? {
            Val::Tuple(items) => Ok(items),
            _ => bail!("parameters did not load as a tuple"),
        }
    } else {
        let mut flat = args.iter().cloned();
        types
            .iter()
            .map(|t| abi::lift_flat(cx, enc, t, &mut flat))
            .collect()
    }
}

//! The typed call path: a [`TypedFunc`] chosen once per instance for the
//! export's shape, so a row's call converts no types at run time and
//! allocates nothing. Shapes covered: up to four parameters of one type
//! (`i32`, `i64`, `f32` or `f64`; TEXT and BLOB lower to `i32` pairs) and
//! one or no result. Other shapes take [`Func::call`].

use hayate::{Func, Store, StoreLimits, TypedFunc, Val, ValType, WasmParams, WasmResults, WasmTy};

/// A typed call on values already lowered to Wasm.
pub trait Call: Send {
    /// Calls with `args` (as many as the export takes) and writes the
    /// result, if any, to `out[0]`.
    fn call(
        &self,
        store: &mut Store<StoreLimits>,
        args: &[Val],
        out: &mut [Val],
    ) -> hayate::Result<()>;
}

/// A parameter type of the typed path.
trait Arg: WasmTy + Copy {
    fn from_val(v: &Val) -> Self;
}

impl Arg for i32 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::I32(i) => *i,
            _ => 0,
        }
    }
}

impl Arg for i64 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::I64(i) => *i,
            _ => 0,
        }
    }
}

impl Arg for f32 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::F32(b) => f32::from_bits(*b),
            _ => 0.0,
        }
    }
}

impl Arg for f64 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::F64(b) => f64::from_bits(*b),
            _ => 0.0,
        }
    }
}

/// A result type of the typed path.
trait Ret: WasmResults {
    fn store(self, out: &mut [Val]);
}

impl Ret for () {
    fn store(self, _out: &mut [Val]) {}
}

impl Ret for i32 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::I32(self);
    }
}

impl Ret for i64 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::I64(self);
    }
}

impl Ret for f32 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::F32(self.to_bits());
    }
}

impl Ret for f64 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::F64(self.to_bits());
    }
}

struct Typed<P, R>(TypedFunc<P, R>);

impl<R: Ret> Call for Typed<(), R> {
    fn call(
        &self,
        store: &mut Store<StoreLimits>,
        _args: &[Val],
        out: &mut [Val],
    ) -> hayate::Result<()> {
        self.0.call(store, ())?.store(out);
        Ok(())
    }
}

macro_rules! homogeneous {
    ($tuple:ty; $($i:tt)*) => {
        impl<T: Arg, R: Ret> Call for Typed<$tuple, R> {
            fn call(
                &self,
                store: &mut Store<StoreLimits>,
                args: &[Val],
                out: &mut [Val],
            ) -> hayate::Result<()> {
                self.0.call(store, ($(T::from_val(&args[$i]),)*))?.store(out);
                Ok(())
            }
        }
    };
}

homogeneous!((T,); 0);
homogeneous!((T, T); 0 1);
homogeneous!((T, T, T); 0 1 2);
homogeneous!((T, T, T, T); 0 1 2 3);

fn by_result<P: WasmParams>(
    func: &Func,
    store: &Store<StoreLimits>,
    result: Option<ValType>,
) -> Option<Box<dyn Call>>
where
    Typed<P, ()>: Call,
    Typed<P, i32>: Call,
    Typed<P, i64>: Call,
    Typed<P, f32>: Call,
    Typed<P, f64>: Call,
{
    Some(match result {
        None => Box::new(Typed(func.typed::<P, ()>(store).ok()?)),
        Some(ValType::I32) => Box::new(Typed(func.typed::<P, i32>(store).ok()?)),
        Some(ValType::I64) => Box::new(Typed(func.typed::<P, i64>(store).ok()?)),
        Some(ValType::F32) => Box::new(Typed(func.typed::<P, f32>(store).ok()?)),
        Some(ValType::F64) => Box::new(Typed(func.typed::<P, f64>(store).ok()?)),
        Some(_) => return None,
    })
}

fn by_arity<T: Arg>(
    func: &Func,
    store: &Store<StoreLimits>,
    arity: usize,
    result: Option<ValType>,
) -> Option<Box<dyn Call>> {
    match arity {
        1 => by_result::<(T,)>(func, store, result),
        2 => by_result::<(T, T)>(func, store, result),
        3 => by_result::<(T, T, T)>(func, store, result),
        4 => by_result::<(T, T, T, T)>(func, store, result),
        _ => None,
    }
}

/// The typed call for `func`'s shape, if it is one of the covered shapes.
pub fn typed(func: &Func, store: &Store<StoreLimits>) -> Option<Box<dyn Call>> {
    let ty = func.ty(store);
    let params: Vec<ValType> = ty.params().collect();
    let results: Vec<ValType> = ty.results().collect();
    let result = match results.as_slice() {
        [] => None,
        [r] => Some(*r),
        _ => return None,
    };
    let Some(first) = params.first() else {
        return by_result::<()>(func, store, result);
    };
    if params.iter().any(|p| p != first) {
        return None;
    }
    match first {
        ValType::I32 => by_arity::<i32>(func, store, params.len(), result),
        ValType::I64 => by_arity::<i64>(func, store, params.len(), result),
        ValType::F32 => by_arity::<f32>(func, store, params.len(), result),
        ValType::F64 => by_arity::<f64>(func, store, params.len(), result),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate::{Engine, Instance, Module};

    #[test]
    fn covered_shapes_get_a_typed_call() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module
                 (func (export "ii") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
                 (func (export "text") (param i32 i32) (result i64) (i64.const 7))
                 (func (export "step") (param f64))
                 (func (export "mixed") (param i32 i64) (result i64) (local.get 1)))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, StoreLimits::default());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let mut out = [Val::I32(0)];
        let ii = instance.get_func(&mut store, "ii").unwrap();
        let call = typed(&ii, &store).expect("(i64, i64) -> i64 is covered");
        call.call(&mut store, &[Val::I64(40), Val::I64(2)], &mut out)
            .unwrap();
        assert!(matches!(out[0], Val::I64(42)));
        for covered in ["text", "step"] {
            let f = instance.get_func(&mut store, covered).unwrap();
            assert!(typed(&f, &store).is_some(), "{covered}");
        }
        let mixed = instance.get_func(&mut store, "mixed").unwrap();
        assert!(typed(&mixed, &store).is_none());
    }
}

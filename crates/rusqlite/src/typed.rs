//! The typed call paths: a [`Call`] chosen once per instance for the
//! export's shape, so a row's call converts no types at run time and
//! allocates nothing. Shapes covered: up to three parameters of any of
//! `i32`, `i64`, `f32` and `f64`, or four of one of them (TEXT and BLOB
//! lower to `i32` pairs), and one or no result. Other shapes take
//! [`Func::call`](hayate::Func::call).
//!
//! A call comes in two forms: from arguments already lowered to [`Val`]s
//! (functions with TEXT or BLOB, which go through linear memory, and
//! aggregates' finals), and, for functions whose parameters and result
//! are all numbers, straight from the SQLite row to the SQL result.

use hayate::{Func, Store, StoreLimits, TypedFunc, Val, ValType, WasmParams, WasmResults, WasmTy};
use rusqlite::types::{Value, ValueRef};

use crate::ffi::Row;
use crate::function::SqlArgs;

/// A typed call of one export.
pub trait Call: Send {
    /// Calls with `args` (as many as the export takes) and writes the
    /// result, if any, to `out[0]`.
    fn call(
        &self,
        store: &mut Store<StoreLimits>,
        args: &[Val],
        out: &mut [Val],
    ) -> hayate::Result<()>;

    /// Calls with the row's arguments `row`, converted to the export's
    /// parameter types, and writes the result as an SQL value to `out`
    /// (which a result-less export leaves alone). When an argument is NULL
    /// and `nulls` is false, the export is not called and `out` is left
    /// alone too. For exports whose parameters all come from numeric SQL
    /// arguments, one per parameter.
    ///
    /// The result goes where it is used rather than back up the call
    /// chain: returned, a `Value` is copied in 16-byte moves over the 8-byte
    /// stores that made it, and each such copy stalls on store forwarding.
    fn call_row(
        &self,
        store: &mut Store<StoreLimits>,
        row: &dyn SqlArgs,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>>;

    /// [`Call::call_row`] for a scalar function's row, read without a
    /// virtual call per argument.
    fn call_scalar_row(
        &self,
        store: &mut Store<StoreLimits>,
        row: Row<'_>,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>>;
}

/// Why [`Call::call_row`] failed.
pub enum RowError {
    /// Argument `index` (from 0) does not convert to its parameter type.
    Arg { index: usize, message: String },
    /// The guest trapped or ran out of time.
    Guest(hayate::Error),
}

/// A numeric SQL value as an integer: REAL truncates, TEXT must be a
/// number, NULL (for functions declared `nulls`) is 0.
#[inline(always)]
pub fn to_i64(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i),
        ValueRef::Real(f) => Ok(f as i64),
        ValueRef::Null => Ok(0),
        other => other_to_i64(other),
    }
}

#[cold]
#[inline(never)]
fn other_to_i64(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i),
        ValueRef::Real(f) => Ok(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| "expects an INTEGER, got TEXT that is not one".to_string()),
        ValueRef::Blob(_) => Err("expects an INTEGER, got a BLOB".into()),
        ValueRef::Null => Ok(0),
    }
}

/// A numeric SQL value as a float, converted as [`to_i64`] converts.
#[inline(always)]
pub fn to_f64(v: ValueRef<'_>) -> Result<f64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(f) => Ok(f),
        ValueRef::Null => Ok(0.0),
        other => other_to_f64(other),
    }
}

#[cold]
#[inline(never)]
fn other_to_f64(v: ValueRef<'_>) -> Result<f64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(f) => Ok(f),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| "expects a REAL, got TEXT that is not a number".to_string()),
        ValueRef::Blob(_) => Err("expects a REAL, got a BLOB".into()),
        ValueRef::Null => Ok(0.0),
    }
}

/// A parameter type of the typed path.
trait Arg: WasmTy + Copy {
    fn from_val(v: &Val) -> Self;
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String>;
}

impl Arg for i32 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::I32(i) => *i,
            _ => 0,
        }
    }
    #[inline(always)]
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        let i = to_i64(v)?;
        i32::try_from(i).map_err(|_| format!("{i} does not fit the guest's i32"))
    }
}

impl Arg for i64 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::I64(i) => *i,
            _ => 0,
        }
    }
    #[inline(always)]
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        to_i64(v)
    }
}

impl Arg for f32 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::F32(b) => f32::from_bits(*b),
            _ => 0.0,
        }
    }
    #[inline(always)]
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(to_f64(v)? as f32)
    }
}

impl Arg for f64 {
    fn from_val(v: &Val) -> Self {
        match v {
            Val::F64(b) => f64::from_bits(*b),
            _ => 0.0,
        }
    }
    #[inline(always)]
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        to_f64(v)
    }
}

/// A parameter list of the typed path.
trait Args: WasmParams + Sized {
    fn from_vals(args: &[Val]) -> Self;
    /// `Ok(None)`: a NULL argument, not passed unless `nulls`.
    fn from_row<R: SqlArgs + ?Sized>(row: &R, nulls: bool) -> Result<Option<Self>, Box<RowError>>;
}

/// Argument `index` of `row`, or `None` for a NULL not to be passed.
#[inline(always)]
fn row_arg<A: Arg, R: SqlArgs + ?Sized>(
    row: &R,
    index: usize,
    nulls: bool,
) -> Result<Option<A>, Box<RowError>> {
    // Read where it lands: a `ValueRef` copied whole after the call that
    // returned it stalls on store forwarding (a 16-byte load over 8-byte
    // stores), which cost more than the rest of the row.
    let v = row.arg(index);
    if !nulls && matches!(v, ValueRef::Null) {
        return Ok(None);
    }
    A::from_sql(v)
        .map(Some)
        .map_err(|message| Box::new(RowError::Arg { index, message }))
}

macro_rules! args {
    ($($name:ident $i:tt)*) => {
        #[allow(clippy::unused_unit)]
        impl<$($name: Arg),*> Args for ($($name,)*) {
            fn from_vals(_args: &[Val]) -> Self {
                ($($name::from_val(&_args[$i]),)*)
            }
            #[inline]
            fn from_row<R: SqlArgs + ?Sized>(
                _row: &R,
                _nulls: bool,
            ) -> Result<Option<Self>, Box<RowError>> {
                Ok(Some(($(match row_arg::<$name, R>(_row, $i, _nulls)? {
                    Some(v) => v,
                    None => return Ok(None),
                },)*)))
            }
        }
    };
}

args!();
args!(A 0);
args!(A 0 B 1);
args!(A 0 B 1 C 2);
args!(A 0 B 1 C 2 D 3);

/// A result type of the typed path.
trait Ret: WasmResults {
    fn store(self, out: &mut [Val]);
    fn value(self) -> Value;
    /// Writes the result, if any, to `out`.
    #[inline]
    fn write(self, out: &mut Value) {
        *out = self.value();
    }
}

impl Ret for () {
    fn store(self, _out: &mut [Val]) {}
    fn value(self) -> Value {
        Value::Null
    }
    fn write(self, _out: &mut Value) {}
}

impl Ret for i32 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::I32(self);
    }
    fn value(self) -> Value {
        Value::Integer(self.into())
    }
}

impl Ret for i64 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::I64(self);
    }
    fn value(self) -> Value {
        Value::Integer(self)
    }
}

impl Ret for f32 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::F32(self.to_bits());
    }
    fn value(self) -> Value {
        Value::Real(self.into())
    }
}

impl Ret for f64 {
    fn store(self, out: &mut [Val]) {
        out[0] = Val::F64(self.to_bits());
    }
    fn value(self) -> Value {
        Value::Real(self)
    }
}

struct Typed<P, R>(TypedFunc<P, R>);

impl<P: Args, R: Ret> Call for Typed<P, R> {
    fn call(
        &self,
        store: &mut Store<StoreLimits>,
        args: &[Val],
        out: &mut [Val],
    ) -> hayate::Result<()> {
        self.0.call(store, P::from_vals(args))?.store(out);
        Ok(())
    }

    fn call_row(
        &self,
        store: &mut Store<StoreLimits>,
        row: &dyn SqlArgs,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>> {
        self.run_row(store, row, nulls, out)
    }

    fn call_scalar_row(
        &self,
        store: &mut Store<StoreLimits>,
        row: Row<'_>,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>> {
        self.run_row(store, &row, nulls, out)
    }
}

impl<P: Args, R: Ret> Typed<P, R> {
    #[inline]
    fn run_row<A: SqlArgs + ?Sized>(
        &self,
        store: &mut Store<StoreLimits>,
        row: &A,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>> {
        let Some(args) = P::from_row(row, nulls)? else {
            return Ok(());
        };
        match self.0.call(store, args) {
            Ok(r) => {
                r.write(out);
                Ok(())
            }
            Err(e) => Err(Box::new(RowError::Guest(e))),
        }
    }
}

/// The typed call for parameters `P` and the export's result.
fn with_result<P: Args>(
    func: &Func,
    store: &Store<StoreLimits>,
    result: Option<&ValType>,
) -> Option<Box<dyn Call>> {
    Some(match result {
        None => Box::new(Typed(func.typed::<P, ()>(store).ok()?)),
        Some(ValType::I32) => Box::new(Typed(func.typed::<P, i32>(store).ok()?)),
        Some(ValType::I64) => Box::new(Typed(func.typed::<P, i64>(store).ok()?)),
        Some(ValType::F32) => Box::new(Typed(func.typed::<P, f32>(store).ok()?)),
        Some(ValType::F64) => Box::new(Typed(func.typed::<P, f64>(store).ok()?)),
        Some(_) => return None,
    })
}

/// Calls `$f::<$($known,)* T>($args)` with `T` the Rust type of the
/// numeric `ValType` `$t`; `None` for other types.
macro_rules! by_type {
    ($t:expr, $f:ident $(::<$($known:ident),*>)? ($($args:expr),*)) => {
        match $t {
            ValType::I32 => $f::<$($($known,)*)? i32>($($args),*),
            ValType::I64 => $f::<$($($known,)*)? i64>($($args),*),
            ValType::F32 => $f::<$($($known,)*)? f32>($($args),*),
            ValType::F64 => $f::<$($($known,)*)? f64>($($args),*),
            _ => None,
        }
    };
}

type Shape<'a> = (&'a Func, &'a Store<StoreLimits>, Option<&'a ValType>);

fn one<A: Arg>(s: Shape<'_>, rest: &[ValType]) -> Option<Box<dyn Call>> {
    match rest {
        [] => with_result::<(A,)>(s.0, s.1, s.2),
        [t, rest @ ..] => by_type!(*t, two::<A>(s, rest)),
    }
}

fn two<A: Arg, B: Arg>(s: Shape<'_>, rest: &[ValType]) -> Option<Box<dyn Call>> {
    match rest {
        [] => with_result::<(A, B)>(s.0, s.1, s.2),
        [t, rest @ ..] => by_type!(*t, three::<A, B>(s, rest)),
    }
}

fn three<A: Arg, B: Arg, C: Arg>(s: Shape<'_>, rest: &[ValType]) -> Option<Box<dyn Call>> {
    match rest {
        [] => with_result::<(A, B, C)>(s.0, s.1, s.2),
        _ => None,
    }
}

fn four_alike<T: Arg>(s: Shape<'_>) -> Option<Box<dyn Call>> {
    with_result::<(T, T, T, T)>(s.0, s.1, s.2)
}

/// The typed call for `func`'s shape, if it is one of the covered shapes.
pub fn typed(func: &Func, store: &Store<StoreLimits>) -> Option<Box<dyn Call>> {
    let ty = func.ty(store);
    let params: Vec<ValType> = ty.params().collect();
    let results: Vec<ValType> = ty.results().collect();
    let result = match results.as_slice() {
        [] => None,
        [r] => Some(r),
        _ => return None,
    };
    let shape = (func, store, result);
    match params.as_slice() {
        [] => with_result::<()>(func, store, result),
        [a, b, c, d] if a == b && b == c && c == d => by_type!(*a, four_alike(shape)),
        [_, _, _, _, ..] => None,
        [t, rest @ ..] => by_type!(*t, one(shape, rest)),
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
                 (func (export "mixed") (param i32 i64 f64) (result i64) (local.get 1))
                 (func (export "five") (param i32 i32 i32 i32 i32) (result i64) (i64.const 0))
                 (func (export "four_mixed") (param i32 i32 i32 i64) (result i64) (i64.const 0)))"#,
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
        let mixed = instance.get_func(&mut store, "mixed").unwrap();
        let call = typed(&mixed, &store).expect("(i32, i64, f64) -> i64 is covered");
        call.call(
            &mut store,
            &[Val::I32(1), Val::I64(-5), Val::F64(0.5f64.to_bits())],
            &mut out,
        )
        .unwrap();
        assert!(matches!(out[0], Val::I64(-5)));
        for covered in ["text", "step"] {
            let f = instance.get_func(&mut store, covered).unwrap();
            assert!(typed(&f, &store).is_some(), "{covered}");
        }
        for uncovered in ["five", "four_mixed"] {
            let f = instance.get_func(&mut store, uncovered).unwrap();
            assert!(typed(&f, &store).is_none(), "{uncovered}");
        }
    }
}

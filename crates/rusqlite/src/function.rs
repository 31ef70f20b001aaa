//! A registered function compiled and pre-linked ([`Compiled`]), and a live
//! instance of it with its store and the buffers of the call path
//! ([`Runner`]).
//!
//! # Guest convention for TEXT and BLOB
//!
//! A function that takes or returns TEXT or BLOB exports its linear memory
//! as `memory` and an allocator `alloc(len: i32) -> i32`. Each TEXT or BLOB
//! argument is copied into a buffer the host gets from `alloc` and passed as
//! two `i32`s, pointer then length (TEXT as UTF-8, without a terminator). A
//! TEXT or BLOB result is an `i64` packing `(pointer << 32) | length`; TEXT
//! must be UTF-8. If the guest also exports `dealloc(ptr: i32, len: i32)`,
//! the host calls it for each argument buffer and the result buffer once it
//! has read them. With the `nulls` option, a NULL TEXT or BLOB argument is
//! passed as pointer 0, length -1, a NULL number as 0, and a TEXT or BLOB
//! result of length `0xffff_ffff` is NULL.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use hayate::{
    Engine, ExternType, Func, InstancePre, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, Trap, TypedFunc, Val, ValType,
};
use rusqlite::functions::Context;
use rusqlite::types::{Value, ValueRef};

use sha2::{Digest, Sha256};

use crate::ffi::Row;
use crate::runtime;
use crate::spec::{Lifted, Lowered, Spec, SqlType, lift_result, lower_params};
use crate::typed::{Call, RowError, to_f64, to_i64, typed};

/// The arguments of a row, as a scalar function (`Row`) or an
/// aggregate's step ([`Context`]) gets them.
pub trait SqlArgs {
    /// Argument `i`.
    fn arg(&self, i: usize) -> ValueRef<'_>;

    /// `call`'s `Call::call_row` with these arguments, by the form that
    /// suits them.
    fn call_typed(
        &self,
        call: &dyn Call,
        store: &mut Store<StoreLimits>,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>>;
}

impl SqlArgs for Row<'_> {
    #[inline(always)]
    fn arg(&self, i: usize) -> ValueRef<'_> {
        self.get(i)
    }

    #[inline]
    fn call_typed(
        &self,
        call: &dyn Call,
        store: &mut Store<StoreLimits>,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>> {
        call.call_scalar_row(store, *self, nulls, out)
    }
}

impl SqlArgs for Context<'_> {
    fn arg(&self, i: usize) -> ValueRef<'_> {
        self.get_raw(i)
    }

    fn call_typed(
        &self,
        call: &dyn Call,
        store: &mut Store<StoreLimits>,
        nulls: bool,
        out: &mut Value,
    ) -> Result<(), Box<RowError>> {
        call.call_row(store, self, nulls, out)
    }
}

/// Why a call failed: the SQL error message. Boxed so that a call's result
/// travels in registers: a larger result goes through memory, and copying
/// it back up the call chain stalls on store forwarding at every row.
pub type Failure = Box<str>;

/// Scalar function or aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `wasm_create_function`.
    Scalar,
    /// `wasm_create_aggregate`.
    Aggregate,
}

impl Kind {
    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Aggregate => "aggregate",
        }
    }
}

/// A validated, compiled and pre-linked function.
pub struct Compiled {
    /// The SQL name.
    pub name: String,
    /// Scalar or aggregate.
    pub kind: Kind,
    /// The export called per row (the step for aggregates).
    pub export: String,
    /// The aggregate's final export.
    pub final_export: Option<String>,
    /// The parsed signature and options.
    pub spec: Spec,
    /// The signature and options as given.
    pub signature: Option<String>,
    /// SHA-256 of the module's binary, in hex.
    pub module_hash: String,
    params: Vec<Lowered>,
    result: Lifted,
    /// Every argument and the per-row result (none for an aggregate's
    /// step) are numbers: rows take [`Call::call_row`].
    numeric: bool,
    engine: Engine,
    pre: InstancePre<StoreLimits>,
    /// The instance kept across statements by a `stateful` function.
    pub persistent: Arc<Mutex<Option<Runner>>>,
}

fn export_type(module: &Module, name: &str) -> Option<ExternType> {
    module.exports().find(|e| e.name() == name).map(|e| e.ty())
}

fn func_type(module: &Module, export: &str) -> Result<hayate::FuncType, String> {
    match export_type(module, export) {
        Some(ExternType::Func(ty)) => Ok(ty),
        Some(_) => Err(format!("export `{export}` is not a function")),
        None => Err(format!("the module has no export `{export}`")),
    }
}

impl Compiled {
    /// Validates and compiles `wasm` and checks the exports against `spec`.
    pub fn new(
        name: &str,
        kind: Kind,
        wasm: &[u8],
        export: &str,
        final_export: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Compiled, String> {
        let spec = Spec::parse(signature.unwrap_or(""))?;
        if spec.options.stateful && kind == Kind::Aggregate {
            return Err("an aggregate cannot be stateful: each group has its own instance".into());
        }
        let engine = runtime::engine(spec.options.stack).map_err(|e| format!("{e:#}"))?;
        let module = Module::new(&engine, wasm).map_err(|e| format!("invalid module: {e:#}"))?;
        let ty = func_type(&module, export)?;
        let params = lower_params(export, spec.params.as_deref(), &ty)?;
        let result = match final_export {
            None => lift_result(export, spec.result, &ty)?,
            Some(fin) => {
                if ty.results().len() != 0 {
                    return Err(format!("step export `{export}` must return nothing"));
                }
                let fty = func_type(&module, fin)?;
                if fty.params().len() != 0 {
                    return Err(format!("final export `{fin}` must take no parameters"));
                }
                lift_result(fin, spec.result, &fty)?
            }
        };
        let bytes_params = params.iter().any(|p| matches!(p, Lowered::Bytes(_)));
        let bytes = bytes_params || matches!(result, Lifted::Bytes(_));
        let numeric =
            !bytes_params && (final_export.is_some() || !matches!(result, Lifted::Bytes(_)));
        if bytes {
            match export_type(&module, "alloc") {
                Some(ExternType::Func(t))
                    if t.params().collect::<Vec<_>>() == [ValType::I32]
                        && t.results().collect::<Vec<_>>() == [ValType::I32] => {}
                _ => {
                    return Err(
                        "TEXT and BLOB values need an export `alloc(i32) -> i32` and an \
                         exported `memory`"
                            .into(),
                    );
                }
            }
            if !matches!(export_type(&module, "memory"), Some(ExternType::Memory(_))) {
                return Err("TEXT and BLOB values need an exported `memory`".into());
            }
        }
        let linker = Linker::new(&engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| format!("cannot link the module (imports are not supported): {e:#}"))?;
        Ok(Compiled {
            name: name.to_owned(),
            kind,
            export: export.to_owned(),
            final_export: final_export.map(str::to_owned),
            spec,
            signature: signature.map(str::to_owned),
            module_hash: format!("{:x}", Sha256::digest(wasm)),
            params,
            result,
            numeric,
            engine,
            pre,
            persistent: Arc::new(Mutex::new(None)),
        })
    }

    /// How many SQL arguments the function takes.
    pub fn arity(&self) -> usize {
        self.params.len()
    }

    /// A fresh instance in a store of its own, with its deadline set.
    pub fn runner(&self) -> Result<Runner, String> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.spec.options.memory)
            .instances(1)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        store.set_epoch_deadline(runtime::ticks(self.spec.options.timeout) + 1);
        let err = |e: hayate::Error| self.error(e);
        let instance = self.pre.instantiate(&mut store).map_err(err)?;
        let get = |store: &mut Store<StoreLimits>, name: &str| {
            instance
                .get_func(&mut *store, name)
                .ok_or_else(|| format!("{}: no export `{name}`", self.name))
        };
        let func = get(&mut store, &self.export)?;
        let final_func = match &self.final_export {
            Some(f) => Some(get(&mut store, f)?),
            None => None,
        };
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "alloc")
            .ok();
        let dealloc = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "dealloc")
            .ok();
        let fast = typed(&func, &store);
        let final_fast = final_func.as_ref().and_then(|f| typed(f, &store));
        Ok(Runner {
            store,
            func,
            fast,
            final_func,
            final_fast,
            memory,
            alloc,
            dealloc,
            args: Vec::with_capacity(self.params.len() * 2),
            results: vec![Val::I32(0); 1],
            buffers: Vec::new(),
            budget: runtime::ticks(self.spec.options.timeout),
        })
    }

    /// Turns a guest failure into the SQL error message: the function's
    /// name, then the trap or error.
    pub fn error(&self, e: hayate::Error) -> String {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "{}: wasm trap: interrupt: the guest ran out of its time budget of {:?} per statement",
                self.name, self.spec.options.timeout
            ),
            Some(Trap::StackOverflow) => format!(
                "{}: wasm trap: call stack exhausted (stack limit {} bytes)",
                self.name, self.spec.options.stack
            ),
            Some(t) => format!("{}: {t}", self.name),
            None => format!("{}: {e:#}", self.name),
        }
    }
}

/// A live instance of a [`Compiled`] function with the reusable buffers of
/// the call path.
pub struct Runner {
    store: Store<StoreLimits>,
    func: Func,
    /// The typed call of `func`, when its shape has one.
    fast: Option<Box<dyn Call>>,
    final_func: Option<Func>,
    final_fast: Option<Box<dyn Call>>,
    memory: Option<Memory>,
    alloc: Option<TypedFunc<i32, i32>>,
    dealloc: Option<TypedFunc<(i32, i32), ()>>,
    args: Vec<Val>,
    results: Vec<Val>,
    buffers: Vec<(i32, i32)>,
    /// Epoch ticks the guest may still run in this statement (or group).
    budget: u64,
}

fn to_bytes(v: ValueRef<'_>) -> Option<Cow<'_, [u8]>> {
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(Cow::Borrowed(b)),
        ValueRef::Integer(i) => Some(Cow::Owned(i.to_string().into_bytes())),
        ValueRef::Real(f) => Some(Cow::Owned(f.to_string().into_bytes())),
        ValueRef::Null => None,
    }
}

impl Runner {
    /// Gives a new statement of a stateful function its whole time budget.
    pub fn reset_budget(&mut self, f: &Compiled) {
        self.budget = runtime::ticks(f.spec.options.timeout);
    }

    /// Copies `bytes` into a buffer from the guest's `alloc`.
    fn put(&mut self, f: &Compiled, bytes: &[u8]) -> Result<(i32, i32), String> {
        let len = i32::try_from(bytes.len())
            .map_err(|_| format!("{}: a {} byte argument is too large", f.name, bytes.len()))?;
        let (Some(alloc), Some(memory)) = (self.alloc, self.memory) else {
            return Err(format!("{}: the module has no `alloc` or `memory`", f.name));
        };
        let ptr = alloc.call(&mut self.store, len).map_err(|e| f.error(e))?;
        if ptr == 0 && len > 0 {
            return Err(format!(
                "{}: out of memory: alloc({len}) failed (memory limit {} bytes)",
                f.name, f.spec.options.memory
            ));
        }
        memory
            .write(&mut self.store, ptr as u32 as usize, bytes)
            .map_err(|_| {
                format!(
                    "{}: alloc({len}) returned {ptr}, outside linear memory",
                    f.name
                )
            })?;
        self.buffers.push((ptr, len));
        Ok((ptr, len))
    }

    /// Runs `body` within what is left of the statement's time budget and
    /// deducts the ticks that passed meanwhile. Ticks are 10 ms and read
    /// from an atomic counter (no clock call per row): a short call is
    /// charged a whole tick when one passes during it, which on average
    /// charges its true duration.
    fn timed<R>(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        // One tick of grace for the one already under way.
        self.store.set_epoch_deadline(self.budget + 1);
        let start = runtime::now();
        let result = body(self);
        self.budget = self.budget.saturating_sub(runtime::now() - start);
        result
    }

    /// Calls the step (or scalar) export with the row's arguments and, for
    /// a scalar function, writes its result to `out`. When the row has a
    /// NULL argument and the function is not called on NULL, `out` is left
    /// alone (a scalar function gives NULL, an aggregate skips the row).
    #[inline]
    pub fn call<A: SqlArgs>(
        &mut self,
        f: &Compiled,
        row: &A,
        out: &mut Value,
    ) -> Result<(), Failure> {
        self.timed(|r| r.call_inner(f, row, out))
    }

    /// Calls the aggregate's final export.
    pub fn finish(&mut self, f: &Compiled) -> Result<Value, Failure> {
        self.timed(|r| r.finish_inner(f))
    }

    #[inline]
    fn call_inner<A: SqlArgs>(
        &mut self,
        f: &Compiled,
        row: &A,
        out: &mut Value,
    ) -> Result<(), Failure> {
        if f.numeric
            && let Some(fast) = &self.fast
        {
            return row
                .call_typed(&**fast, &mut self.store, f.spec.options.nulls, out)
                .map_err(|e| {
                    match *e {
                        RowError::Arg { index, message } => {
                            format!("{}: argument {}: {message}", f.name, index + 1)
                        }
                        RowError::Guest(e) => f.error(e),
                    }
                    .into()
                });
        }
        self.call_lowered(f, row, out)
    }

    /// The call of functions with TEXT or BLOB, or of shapes without a
    /// typed call: arguments lowered to [`Val`]s first.
    #[inline(never)]
    fn call_lowered<A: SqlArgs>(
        &mut self,
        f: &Compiled,
        row: &A,
        out: &mut Value,
    ) -> Result<(), Failure> {
        self.args.clear();
        // One read of each argument: lowered, or NULL found.
        for (i, p) in f.params.iter().enumerate() {
            let v = row.arg(i);
            if matches!(v, ValueRef::Null) && !f.spec.options.nulls {
                // Only TEXT and BLOB arguments before it took guest memory.
                return Ok(self.free(f)?);
            }
            let arg = |e: String| format!("{}: argument {}: {e}", f.name, i + 1);
            match *p {
                Lowered::I32 => {
                    let i = to_i64(v).map_err(arg)?;
                    let i = i32::try_from(i).map_err(|_| {
                        format!("{}: argument {i} does not fit the guest's i32", f.name)
                    })?;
                    self.args.push(Val::I32(i));
                }
                Lowered::I64 => self.args.push(Val::I64(to_i64(v).map_err(arg)?)),
                Lowered::F32 => self
                    .args
                    .push(Val::F32((to_f64(v).map_err(arg)? as f32).to_bits())),
                Lowered::F64 => self.args.push(Val::F64(to_f64(v).map_err(arg)?.to_bits())),
                Lowered::Bytes(_) => match to_bytes(v) {
                    None => {
                        self.args.push(Val::I32(0));
                        self.args.push(Val::I32(-1));
                    }
                    Some(bytes) => {
                        let (ptr, len) = self.put(f, &bytes)?;
                        self.args.push(Val::I32(ptr));
                        self.args.push(Val::I32(len));
                    }
                },
            }
        }
        let n_results = if f.final_export.is_some() { 0 } else { 1 };
        let results = &mut self.results[..n_results];
        let result = match &self.fast {
            Some(fast) => fast.call(&mut self.store, &self.args, results),
            None => self.func.call(&mut self.store, &self.args, results),
        };
        let value = match result {
            Ok(()) if n_results == 0 => Ok(()),
            Ok(()) => self.lift(f).map(|v| *out = v),
            Err(e) => Err(f.error(e)),
        };
        self.free(f)?;
        Ok(value?)
    }

    fn finish_inner(&mut self, f: &Compiled) -> Result<Value, Failure> {
        let func = self
            .final_func
            .ok_or_else(|| format!("{}: not an aggregate", f.name))?;
        match &self.final_fast {
            Some(fast) => fast.call(&mut self.store, &[], &mut self.results[..1]),
            None => func.call(&mut self.store, &[], &mut self.results[..1]),
        }
        .map_err(|e| f.error(e))?;
        let value = self.lift(f);
        self.free(f)?;
        Ok(value?)
    }

    fn lift(&mut self, f: &Compiled) -> Result<Value, String> {
        Ok(match (f.result, self.results[0]) {
            (Lifted::Int, Val::I32(i)) => Value::Integer(i.into()),
            (Lifted::Int, Val::I64(i)) => Value::Integer(i),
            (Lifted::Float, Val::F32(b)) => Value::Real(f32::from_bits(b).into()),
            (Lifted::Float, Val::F64(b)) => Value::Real(f64::from_bits(b)),
            (Lifted::Bytes(t), Val::I64(packed)) => {
                let ptr = (packed as u64 >> 32) as u32;
                let len = packed as u32;
                if len == u32::MAX && f.spec.options.nulls {
                    return Ok(Value::Null);
                }
                let memory = self
                    .memory
                    .ok_or_else(|| format!("{}: no memory", f.name))?;
                let data = memory.data(&self.store);
                let bytes = data
                    .get(ptr as usize..ptr as usize + len as usize)
                    .ok_or_else(|| {
                        format!(
                            "{}: the result ({len} bytes at {ptr}) lies outside linear memory",
                            f.name
                        )
                    })?
                    .to_vec();
                self.buffers.push((ptr as i32, len as i32));
                match t {
                    SqlType::Text => Value::Text(String::from_utf8(bytes).map_err(|_| {
                        format!("{}: the guest returned TEXT that is not UTF-8", f.name)
                    })?),
                    _ => Value::Blob(bytes),
                }
            }
            (_, v) => return Err(format!("{}: unexpected result {v:?}", f.name)),
        })
    }

    /// Hands the argument and result buffers back to the guest's `dealloc`.
    fn free(&mut self, f: &Compiled) -> Result<(), String> {
        let Some(dealloc) = self.dealloc else {
            self.buffers.clear();
            return Ok(());
        };
        while let Some((ptr, len)) = self.buffers.pop() {
            if let Err(e) = dealloc.call(&mut self.store, (ptr, len)) {
                self.buffers.clear();
                return Err(f.error(e));
            }
        }
        Ok(())
    }
}

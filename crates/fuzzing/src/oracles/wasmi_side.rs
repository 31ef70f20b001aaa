//! The oracle in the differential: the `wasmi` interpreter, an independent
//! implementation (its own translator and executor; it shares only the
//! `wasmparser` decoder family with Hayate).

use hayate::Trap;
use wasmi::{
    CompilationMode, Config, Engine, Extern, ExternRef, Instance, Module, Ref, Store, TrapCode,
    V128, Val,
};

use super::diff::{DiffOutcome, DiffValue, TrapKind};

/// The oracle engine: WebAssembly 2.0 (with SIMD) and multi-memory, the same
/// features the generators use; eager compilation so that every function body
/// is validated up front, as Hayate does; stacks so deep that a stack
/// overflow in the oracle is rarer than in Hayate.
fn engine(fuel: bool) -> Engine {
    thread_local! {
        static ENGINES: [Engine; 2] = [false, true].map(|fuel| {
            let mut config = Config::default();
            config
                .wasm_mutable_global(true)
                .wasm_sign_extension(true)
                .wasm_saturating_float_to_int(true)
                .wasm_multi_value(true)
                .wasm_multi_memory(true)
                .wasm_bulk_memory(true)
                .wasm_reference_types(true)
                .wasm_simd(true)
                .wasm_relaxed_simd(false)
                .wasm_tail_call(true)
                .wasm_memory64(true)
                .wasm_extended_const(true)
                .wasm_custom_page_sizes(false)
                .wasm_wide_arithmetic(false)
                .floats(true)
                .compilation_mode(CompilationMode::Eager)
                .set_max_recursion_depth(20_000)
                .set_max_stack_height(64 << 20)
                .consume_fuel(fuel);
            Engine::new(&config)
        });
    }
    ENGINES.with(|e| e[fuel as usize].clone())
}

/// Compiles `wasm` for the oracle, for an engine that meters fuel or not.
pub(crate) fn compile(wasm: &[u8], fuel: bool) -> Result<Module, wasmi::Error> {
    Module::new(&engine(fuel), wasm)
}

/// The Hayate trap for a `wasmi` trap code, where both have one.
pub fn map_trap(code: TrapCode) -> TrapKind {
    TrapKind::Known(match code {
        TrapCode::UnreachableCodeReached => Trap::UnreachableCodeReached,
        TrapCode::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::StackOverflow => Trap::StackOverflow,
        TrapCode::BadSignature => Trap::BadSignature,
        TrapCode::OutOfFuel => Trap::OutOfFuel,
        // No Hayate counterpart (resource-limiter traps, host OOM).
        other => return TrapKind::Unknown(other as u8),
    })
}

/// Classifies a `wasmi` error. Besides trap codes, `wasmi` 1.1 reports some
/// out-of-bounds conditions of bulk table and memory instructions, and of
/// element segments at instantiation, as table, memory or instantiation
/// errors; those are the traps the spec (and Hayate) name.
fn error_outcome(e: wasmi::Error) -> DiffOutcome {
    use wasmi::errors::{ErrorKind, FuelError, InstantiationError, MemoryError, TableError};
    let trap = |t: Trap| DiffOutcome::Trapped(TrapKind::Known(t));
    match e.kind() {
        ErrorKind::TrapCode(code) => DiffOutcome::Trapped(map_trap(*code)),
        ErrorKind::Table(
            TableError::InitOutOfBounds
            | TableError::FillOutOfBounds
            | TableError::SetOutOfBounds
            | TableError::CopyOutOfBounds,
        )
        | ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. }) => {
            trap(Trap::TableOutOfBounds)
        }
        ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => trap(Trap::MemoryOutOfBounds),
        ErrorKind::Table(TableError::OutOfFuel { .. })
        | ErrorKind::Memory(MemoryError::OutOfFuel { .. })
        | ErrorKind::Fuel(FuelError::OutOfFuel { .. }) => trap(Trap::OutOfFuel),
        _ => DiffOutcome::Error(e.to_string()),
    }
}

/// A live `wasmi` instance.
pub(crate) struct WasmiInstance {
    store: Store<()>,
    instance: Instance,
}

/// Instantiates `module` with no imports (the start function runs, with
/// `fuel` if the module was compiled for fuel).
pub(crate) fn instantiate(
    module: &Module,
    fuel: Option<u64>,
) -> Result<WasmiInstance, DiffOutcome> {
    let mut store = Store::new(module.engine(), ());
    if let Some(fuel) = fuel {
        store.set_fuel(fuel).expect("fuel metering is on");
    }
    let instance = Instance::new(&mut store, module, &[]).map_err(error_outcome)?;
    Ok(WasmiInstance { store, instance })
}

impl WasmiInstance {
    fn engine_val(&mut self, v: &DiffValue) -> Val {
        match *v {
            DiffValue::I32(x) => Val::I32(x),
            DiffValue::I64(x) => Val::I64(x),
            DiffValue::F32(x) => Val::F32(wasmi::F32::from_bits(x)),
            DiffValue::F64(x) => Val::F64(wasmi::F64::from_bits(x)),
            DiffValue::V128(x) => Val::V128(V128::from(x)),
            DiffValue::FuncRef { .. } => Val::FuncRef(Ref::Null),
            DiffValue::ExternRef(None) => Val::ExternRef(Ref::Null),
            DiffValue::ExternRef(Some(x)) => {
                Val::ExternRef(Ref::Val(ExternRef::new(&mut self.store, x)))
            }
        }
    }

    fn diff_val(&self, v: &Val) -> DiffValue {
        match v {
            Val::I32(x) => DiffValue::I32(*x),
            Val::I64(x) => DiffValue::I64(*x),
            Val::F32(x) => DiffValue::F32(x.to_bits()),
            Val::F64(x) => DiffValue::F64(x.to_bits()),
            Val::V128(x) => DiffValue::V128(x.as_u128()),
            Val::FuncRef(f) => DiffValue::FuncRef { null: f.is_null() },
            Val::ExternRef(e) => DiffValue::ExternRef(self.extern_payload(e)),
        }
    }

    fn extern_payload(&self, e: &Ref<ExternRef>) -> Option<u32> {
        e.val().map(|e| {
            e.data(&self.store)
                .downcast_ref::<u32>()
                .copied()
                .unwrap_or(u32::MAX)
        })
    }

    fn export(&self, name: &str) -> Extern {
        self.instance
            .get_export(&self.store, name)
            .unwrap_or_else(|| panic!("wasmi lost export {name:?}"))
    }

    pub(crate) fn call(&mut self, name: &str, args: &[DiffValue]) -> DiffOutcome {
        let Extern::Func(f) = self.export(name) else {
            panic!("export {name:?} is not a function in wasmi")
        };
        let params: Vec<Val> = args.iter().map(|a| self.engine_val(a)).collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => DiffOutcome::Returned(results.iter().map(|r| self.diff_val(r)).collect()),
            Err(e) => error_outcome(e),
        }
    }

    pub(crate) fn global(&mut self, name: &str) -> DiffValue {
        let g = self.export(name).into_global().expect("a global");
        let v = g.get(&self.store);
        self.diff_val(&v)
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) {
        self.store.set_fuel(fuel).expect("fuel metering is on");
    }

    pub(crate) fn set_global(&mut self, name: &str, value: DiffValue) {
        let g = self.export(name).into_global().expect("a global");
        let v = self.engine_val(&value);
        g.set(&mut self.store, v)
            .expect("a mutable global of that type");
    }

    pub(crate) fn memory(&mut self, name: &str) -> &[u8] {
        let m = self.export(name).into_memory().expect("a memory");
        m.data(&self.store)
    }

    pub(crate) fn table(&mut self, name: &str) -> Vec<DiffValue> {
        let t = self.export(name).into_table().expect("a table");
        (0..t.size(&self.store))
            .map(|i| {
                let v = t.get(&self.store, i).expect("in bounds");
                self.diff_val(&v)
            })
            .collect()
    }
}

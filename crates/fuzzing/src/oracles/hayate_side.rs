//! The engine under test in the differential: Hayate.

use std::collections::HashMap;

use hayate::{
    BoundsChecks, Config, Engine, Extern, ExternRef, Global, Instance, Memory, Module, Ref, Store,
    Table, Val,
};

use super::diff::{DiffOutcome, DiffValue, TrapKind};

/// How many Hayate configurations the oracles pick from.
pub const ENGINE_VARIANTS: u8 = 8;

/// Hayate engine `variant` (0 to `ENGINE_VARIANTS - 1`): optimised or not,
/// guard pages or explicit bounds checks, (4 and 5) every function
/// compiled on first call by the baseline compiler, with Cranelift where
/// it declines and no background compilation replacing its code, and (6
/// and 7, guard pages and explicit checks) the LLVM tier
/// (`Strategy::Llvm`) with Cranelift where it declines; a build without
/// the LLVM tier runs optimised Cranelift code for those. Variant 0 is the
/// default configuration. Engines are made once per thread;
/// compilation is serial so a fuzzer keeps to one core. With
/// `HAYATE_FUZZ_GC_STRESS` set, every variant runs under
/// `Config::gc_stress`: a GC reference missing from a stack map then
/// reads poisoned memory, which crashes the target instead of going
/// unnoticed.
pub fn engine_variant(variant: u8) -> Engine {
    thread_local! {
        static ENGINES: std::cell::RefCell<HashMap<u8, Engine>> = Default::default();
    }
    let variant = variant % ENGINE_VARIANTS;
    ENGINES.with(|engines| {
        engines
            .borrow_mut()
            .entry(variant)
            .or_insert_with(|| {
                let mut config = Config::new();
                config.parallel_compilation(false);
                config.optimize(variant & 1 == 0);
                config.gc_stress(std::env::var_os("HAYATE_FUZZ_GC_STRESS").is_some());
                let baseline = variant >= 4;
                config.bounds_checks(if variant & 2 == 0 || baseline {
                    BoundsChecks::GuardPages
                } else {
                    BoundsChecks::Explicit
                });
                if baseline && variant < 6 {
                    config
                        .lazy_compilation(true)
                        .background_compilation(false)
                        .baseline_compilation(true);
                }
                if variant >= 6 {
                    config.optimize(true).strategy(hayate::Strategy::Llvm);
                    config.bounds_checks(if variant == 6 {
                        BoundsChecks::GuardPages
                    } else {
                        BoundsChecks::Explicit
                    });
                    if let Ok(engine) = Engine::new(&config) {
                        return engine;
                    }
                    config.strategy(hayate::Strategy::Cranelift);
                }
                Engine::new(&config).expect("a Hayate engine")
            })
            .clone()
    })
}

/// A live Hayate instance.
pub(crate) struct HayateInstance {
    store: Store<()>,
    instance: Instance,
    /// The Wasm frames of the last call's error, innermost first:
    /// (function index, module offset).
    pub(crate) error_frames: Vec<(u32, Option<usize>)>,
}

fn error_outcome(e: hayate::Error) -> DiffOutcome {
    match e.downcast_ref::<hayate::Trap>().copied() {
        Some(t) => DiffOutcome::Trapped(TrapKind::Known(t)),
        None => DiffOutcome::Error(format!("{e:#}")),
    }
}

/// Instantiates `module` with no imports (the start function runs).
pub(crate) fn instantiate(engine: &Engine, module: &Module) -> Result<HayateInstance, DiffOutcome> {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).map_err(error_outcome)?;
    Ok(HayateInstance {
        store,
        instance,
        error_frames: Vec::new(),
    })
}

impl HayateInstance {
    fn engine_val(&mut self, v: &DiffValue) -> Val {
        match *v {
            DiffValue::I32(x) => Val::I32(x),
            DiffValue::I64(x) => Val::I64(x),
            DiffValue::F32(x) => Val::F32(x),
            DiffValue::F64(x) => Val::F64(x),
            DiffValue::V128(x) => Val::V128(x),
            DiffValue::FuncRef { .. } => Val::FuncRef(None),
            DiffValue::ExternRef(None) => Val::ExternRef(None),
            DiffValue::ExternRef(Some(x)) => {
                Val::ExternRef(Some(ExternRef::new(&mut self.store, x)))
            }
        }
    }

    fn diff_val(&self, v: &Val) -> DiffValue {
        match v {
            Val::I32(x) => DiffValue::I32(*x),
            Val::I64(x) => DiffValue::I64(*x),
            Val::F32(x) => DiffValue::F32(*x),
            Val::F64(x) => DiffValue::F64(*x),
            Val::V128(x) => DiffValue::V128(*x),
            Val::FuncRef(f) => DiffValue::FuncRef { null: f.is_none() },
            Val::ExternRef(e) => DiffValue::ExternRef(e.map(|e| self.extern_payload(&e))),
            Val::ExnRef(_) => unreachable!("generated modules have no exceptions"),
            Val::AnyRef(_) => unreachable!("generated modules have no GC types"),
        }
    }

    fn diff_ref(&self, r: &Ref) -> DiffValue {
        match r {
            Ref::Func(f) => DiffValue::FuncRef { null: f.is_none() },
            Ref::Extern(e) => DiffValue::ExternRef(e.map(|e| self.extern_payload(&e))),
            Ref::Exn(_) => unreachable!("generated modules have no exceptions"),
            Ref::Any(_) => unreachable!("generated modules have no GC types"),
        }
    }

    fn extern_payload(&self, e: &ExternRef) -> u32 {
        e.data(&self.store)
            .ok()
            .and_then(|d| d.downcast_ref::<u32>().copied())
            .unwrap_or(u32::MAX)
    }

    fn export(&mut self, name: &str) -> Extern {
        self.instance
            .get_export(&mut self.store, name)
            .unwrap_or_else(|| panic!("Hayate lost export {name:?}"))
    }

    pub(crate) fn call(&mut self, name: &str, args: &[DiffValue]) -> DiffOutcome {
        let Extern::Func(f) = self.export(name) else {
            panic!("export {name:?} is not a function in Hayate")
        };
        let params: Vec<Val> = args.iter().map(|a| self.engine_val(a)).collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
        self.error_frames.clear();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => DiffOutcome::Returned(results.iter().map(|r| self.diff_val(r)).collect()),
            Err(e) => {
                if let Some(backtrace) = e.downcast_ref::<hayate::WasmBacktrace>() {
                    let frames = backtrace.frames().iter();
                    let frames = frames.map(|f| (f.func_index(), f.module_offset()));
                    self.error_frames = frames.collect();
                }
                error_outcome(e)
            }
        }
    }

    pub(crate) fn global(&mut self, name: &str) -> DiffValue {
        let g: Global = self.export(name).into_global().expect("a global");
        let v = g.get(&self.store);
        self.diff_val(&v)
    }

    pub(crate) fn set_global(&mut self, name: &str, value: DiffValue) {
        let g: Global = self.export(name).into_global().expect("a global");
        let v = self.engine_val(&value);
        g.set(&mut self.store, v)
            .expect("a mutable global of that type");
    }

    pub(crate) fn memory(&mut self, name: &str) -> &[u8] {
        let m: Memory = self.export(name).into_memory().expect("a memory");
        m.data(&self.store)
    }

    pub(crate) fn table(&mut self, name: &str) -> Vec<DiffValue> {
        let t: Table = self.export(name).into_table().expect("a table");
        (0..t.size(&self.store))
            .map(|i| {
                let r = t.get(&mut self.store, i).expect("in bounds");
                self.diff_ref(&r)
            })
            .collect()
    }
}

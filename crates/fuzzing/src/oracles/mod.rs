//! Oracles: the properties a fuzz input must not break.
//!
//! Each takes raw fuzz bytes (or an `Unstructured` over them) and panics when
//! Hayate misbehaves, so libFuzzer, the loop runner and `cargo test` all see a
//! failure the same way. Inputs the generators cannot use are skipped.

mod diff;
mod hayate_side;
mod tiers;
mod wasmi_side;

use arbitrary::Unstructured;
use hayate::{
    Engine, Extern, ExternType, Func, Global, Instance, Memory, Module, Ref, ResourceLimiter,
    Store, StoreLimits, StoreLimitsBuilder, Table, Tag, Val, ValType,
};

pub use diff::{
    DiffOptions, DiffOutcome, DiffStats, DiffValue, Mismatch, TrapKind, differential,
    differential_wasm,
};
pub use hayate_side::{ENGINE_VARIANTS, engine_variant};
pub use tiers::{tiers, tiers_wasm};

/// Arbitrary bytes (binary or text) into `Module::new`: it must return `Ok` or
/// an error, never panic or crash. Returns whether the module compiled.
pub fn compile(data: &[u8]) -> bool {
    let engine = engine_variant(0);
    let ok = Module::new(&engine, data).is_ok();
    // Whatever `Module::new` accepted must also pass `Module::validate`, and
    // a binary it rejected must fail validation or compilation, not both
    // pass: compilation is validation plus code generation.
    if data.starts_with(b"\0asm") {
        let valid = Module::validate(&engine, data).is_ok();
        assert!(
            valid || !ok,
            "Module::new accepted a binary that Module::validate rejects"
        );
        assert!(
            ok || !valid,
            "Module::new rejected a binary that Module::validate accepts: a valid module must compile"
        );
    }
    ok
}

/// A store's data in the crash oracles: limits so that an arbitrary module
/// cannot make the fuzzer run out of memory, and a tally of what they
/// granted, for the resource oracle.
struct Limited {
    limits: StoreLimits,
    /// Bytes of memory and table storage granted so far (never decreased).
    granted: u64,
}

/// Bytes one table element takes on the host.
const TABLE_ELEMENT_BYTES: u64 = 8;

impl ResourceLimiter for Limited {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> hayate::Result<bool> {
        let ok = self.limits.memory_growing(current, desired, maximum)?;
        if ok {
            self.granted += desired.saturating_sub(current) as u64;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> hayate::Result<bool> {
        let ok = self.limits.table_growing(current, desired, maximum)?;
        if ok {
            self.granted += desired.saturating_sub(current) * TABLE_ELEMENT_BYTES;
        }
        Ok(ok)
    }
}

/// How far the resident memory of an instantiation may exceed what its
/// limiter granted: the engine's own bookkeeping, compiled code and the
/// allocator's slack, plus this much per byte of module (compilation).
const RESOURCE_MARGIN: u64 = 64 << 20;
const RESOURCE_MARGIN_PER_MODULE_BYTE: u64 = 64;

/// This process's resident memory in bytes (`VmRSS`), where Linux tells.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A `wasm-smith` module with any configuration within Hayate's features is
/// compiled (which must succeed: it is valid), instantiated with dummy
/// imports, and each exported function called with default arguments. Traps
/// and resource-limit errors are fine; panics and crashes are not.
///
/// Returns `None` when the input was too short to build a module, otherwise
/// the number of exported functions called.
pub fn instantiate(data: &[u8]) -> Option<usize> {
    let mut u = Unstructured::new(data);
    let variant = u.int_in_range(0..=ENGINE_VARIANTS - 1).ok()?;
    let config = crate::generators::hayate_config(&mut u).ok()?;
    let module = crate::generators::terminating_module(&mut u, config).ok()?;
    Some(instantiate_wasm(
        &engine_variant(variant),
        &module.wasm,
        Some(module.fuel),
    ))
}

/// [`instantiate`] for a module already generated. With `fuel`, the global
/// exported as [`crate::generators::FUEL_EXPORT`] is set to it before each
/// call.
///
/// Resource use is an oracle too: the process's resident memory may grow
/// over the whole run (compilation included) by what the store's limiter
/// granted to memories and tables plus a fixed margin and a margin per
/// module byte, no more. Host-side memory sized by a number the module
/// chose (an offset, a count, a length) shows up here. Resident memory is
/// process-wide, so a caller running other work in parallel threads may
/// see it charged here; the margin absorbs ordinary noise.
pub fn instantiate_wasm(engine: &Engine, wasm: &[u8], fuel: Option<u32>) -> usize {
    let before = resident_bytes();
    let mut store = Store::new(
        engine,
        Limited {
            limits: StoreLimitsBuilder::new()
                .memory_size(256 << 20)
                .table_elements(1_000_000)
                .build(),
            granted: 0,
        },
    );
    store.limiter(|data| data);
    let called = instantiate_and_call(&mut store, wasm, fuel);
    if let (Some(before), Some(after)) = (before, resident_bytes()) {
        let grown = after.saturating_sub(before);
        let allowed = store.data().granted
            + RESOURCE_MARGIN
            + wasm.len() as u64 * RESOURCE_MARGIN_PER_MODULE_BYTE;
        assert!(
            grown <= allowed,
            "resident memory grew by {} MiB; the limiter granted {} MiB to memories and tables \
             (allowed with margins: {} MiB)",
            grown >> 20,
            store.data().granted >> 20,
            allowed >> 20
        );
    }
    called
}

fn instantiate_and_call(store: &mut Store<Limited>, wasm: &[u8], fuel: Option<u32>) -> usize {
    let engine = store.engine().clone();
    let module = match Module::new(&engine, wasm) {
        Ok(m) => m,
        Err(e) => panic!("Hayate rejected a valid wasm-smith module: {e}"),
    };
    let imports = match dummy_imports(&mut *store, &module) {
        Ok(i) => i,
        // A host memory or table too large for the limits.
        Err(_) => return 0,
    };
    let instance = match Instance::new(&mut *store, &module, &imports) {
        Ok(i) => i,
        // A trap in a segment or the start function, or a limit.
        Err(_) => return 0,
    };
    let fuel_global = instance.get_global(&mut *store, crate::generators::FUEL_EXPORT);
    let mut called = 0;
    let exports: Vec<Extern> = instance
        .exports(&mut *store)
        .map(|e| e.into_extern())
        .collect();
    for export in exports {
        if let (Some(g), Some(fuel)) = (fuel_global, fuel) {
            g.set(&mut *store, Val::I32(fuel as i32))
                .expect("the fuel global is a mutable i32");
        }
        let Extern::Func(f) = export else { continue };
        let ty = f.ty(&*store);
        // A function whose parameters have no default value (non-null
        // references) is not called.
        let Some(params) = ty
            .params()
            .map(|t| Val::default_for_ty(&t))
            .collect::<Option<Vec<Val>>>()
        else {
            continue;
        };
        let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
        let _ = f.call(&mut *store, &params, &mut results);
        called += 1;
    }
    called
}

/// One host item per import of `module`, of the import's type: functions
/// return default values, globals hold them, memories and tables are new.
fn dummy_imports<T: 'static>(store: &mut Store<T>, module: &Module) -> hayate::Result<Vec<Extern>> {
    let mut out = Vec::new();
    for import in module.imports() {
        out.push(match import.ty() {
            ExternType::Func(ft) => {
                let results: Vec<_> = ft.results().collect();
                Extern::Func(Func::new(&mut *store, ft, move |_, _, out| {
                    for (slot, ty) in out.iter_mut().zip(&results) {
                        *slot = Val::default_for_ty(ty)
                            .ok_or_else(|| hayate::Error::msg("no default result"))?;
                    }
                    Ok(())
                }))
            }
            ExternType::Global(gt) => {
                let init = Val::default_for_ty(gt.content())
                    .ok_or_else(|| hayate::Error::msg("global type without a default"))?;
                Extern::Global(Global::new(&mut *store, gt, init)?)
            }
            ExternType::Memory(mt) => Extern::Memory(Memory::new(&mut *store, mt)?),
            ExternType::Table(tt) => {
                let init = match Val::default_for_ty(&ValType::Ref(tt.element().clone())) {
                    Some(Val::ExternRef(None)) => Ref::Extern(None),
                    Some(Val::FuncRef(None)) => Ref::Func(None),
                    Some(Val::ExnRef(None)) => Ref::Exn(None),
                    Some(Val::AnyRef(None)) => Ref::Any(None),
                    _ => return Err(hayate::Error::msg("table type without a default")),
                };
                Extern::Table(Table::new(&mut *store, tt, init)?)
            }
            ExternType::Tag(tt) => Extern::Tag(Tag::new(&mut *store, &tt)?),
        });
    }
    Ok(out)
}

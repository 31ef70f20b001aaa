//! Differential execution: the same module under Hayate and under `wasmi`,
//! every observable compared.

use std::fmt;

use arbitrary::Unstructured;
use hayate::{ExternType, HeapType, Module, Trap, ValType};

use super::hayate_side::{self, HayateInstance};
use super::wasmi_side::{self, WasmiInstance};
use crate::generators;

/// A value either engine produced, in an engine-neutral form.
#[derive(Debug, Clone, Copy)]
pub enum DiffValue {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32` bits
    F32(u32),
    /// `f64` bits
    F64(u64),
    /// `v128` bits
    V128(u128),
    /// A function reference: only null-ness is comparable across engines.
    FuncRef {
        /// Whether the reference is null.
        null: bool,
    },
    /// An external reference: null, or the `u32` the host put in it.
    ExternRef(Option<u32>),
}

impl PartialEq for DiffValue {
    /// Exact equality, except that NaNs compare by NaN-ness alone: the spec
    /// lets payloads differ between engines.
    fn eq(&self, other: &DiffValue) -> bool {
        use DiffValue::*;
        match (*self, *other) {
            (I32(a), I32(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            (F32(a), F32(b)) => {
                a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
            }
            (F64(a), F64(b)) => {
                a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
            }
            // `v128` results are compared bit for bit: the generated modules
            // canonicalise NaNs after every float operation, so no lane can
            // hold an engine-chosen payload.
            (V128(a), V128(b)) => a == b,
            (FuncRef { null: a }, FuncRef { null: b }) => a == b,
            (ExternRef(a), ExternRef(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for DiffValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DiffValue::I32(v) => write!(f, "i32:{v}"),
            DiffValue::I64(v) => write!(f, "i64:{v}"),
            DiffValue::F32(v) => write!(f, "f32:{}({v:#010x})", f32::from_bits(v)),
            DiffValue::F64(v) => write!(f, "f64:{}({v:#018x})", f64::from_bits(v)),
            DiffValue::V128(v) => write!(f, "v128:{v:#034x}"),
            DiffValue::FuncRef { null: true } => write!(f, "ref.null func"),
            DiffValue::FuncRef { null: false } => write!(f, "funcref"),
            DiffValue::ExternRef(None) => write!(f, "ref.null extern"),
            DiffValue::ExternRef(Some(v)) => write!(f, "externref:{v}"),
        }
    }
}

/// How a trap is classified when comparing the engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// A trap both engines can name.
    Known(Trap),
    /// A trap code the other engine has no counterpart for.
    Unknown(u8),
}

/// What an instantiation or a call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffOutcome {
    /// Returned these values.
    Returned(Vec<DiffValue>),
    /// Trapped.
    Trapped(TrapKind),
    /// Failed without a trap (a resource limit, a link error): the message.
    Error(String),
}

impl DiffOutcome {
    /// A stack-overflow trap: the engines' stacks differ in size, so from
    /// here on nothing can be compared.
    pub(super) fn is_stack_overflow(&self) -> bool {
        matches!(
            self,
            DiffOutcome::Trapped(TrapKind::Known(Trap::StackOverflow))
        )
    }

    /// The oracle ran out of its own (`wasmi`) fuel.
    fn is_out_of_fuel(&self) -> bool {
        matches!(self, DiffOutcome::Trapped(TrapKind::Known(Trap::OutOfFuel)))
    }

    /// The outcome without its values: `returned`, `trapped <code>` or
    /// `failed`.
    pub(super) fn kind(&self) -> String {
        match self {
            DiffOutcome::Returned(_) => "returned".into(),
            DiffOutcome::Trapped(TrapKind::Known(t)) => format!("trapped {t:?}"),
            DiffOutcome::Trapped(TrapKind::Unknown(c)) => format!("trapped code {c}"),
            DiffOutcome::Error(_) => "failed".into(),
        }
    }

    pub(super) fn agrees_with(&self, other: &DiffOutcome) -> bool {
        match (self, other) {
            // Error messages are engine-specific; that both failed is enough.
            (DiffOutcome::Error(_), DiffOutcome::Error(_)) => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for DiffOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffOutcome::Returned(vals) => {
                write!(f, "returned [")?;
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            DiffOutcome::Trapped(TrapKind::Known(t)) => write!(f, "trapped: {t:?} ({t})"),
            DiffOutcome::Trapped(TrapKind::Unknown(code)) => {
                write!(f, "trapped: unmapped code {code}")
            }
            DiffOutcome::Error(e) => write!(f, "failed: {e}"),
        }
    }
}

/// What one differential run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Modules both engines compiled.
    pub modules: u64,
    /// Modules both engines instantiated.
    pub instantiated: u64,
    /// Instantiations that trapped the same way in both.
    pub instantiation_traps: u64,
    /// Exported functions called in both.
    pub calls: u64,
    /// Calls that trapped the same way in both.
    pub call_traps: u64,
    /// Runs cut short by a stack overflow in either engine (whose stacks
    /// differ in size, so nothing after it can be compared).
    pub inconclusive: u64,
    /// Agreed traps (instantiation and calls) by `Trap` code.
    pub traps_by_code: [u64; 16],
}

impl DiffStats {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &DiffStats) {
        self.modules += other.modules;
        self.instantiated += other.instantiated;
        self.instantiation_traps += other.instantiation_traps;
        self.calls += other.calls;
        self.call_traps += other.call_traps;
        self.inconclusive += other.inconclusive;
        for (a, b) in self.traps_by_code.iter_mut().zip(&other.traps_by_code) {
            *a += b;
        }
    }

    pub(super) fn count_trap(&mut self, outcome: &DiffOutcome) {
        if let DiffOutcome::Trapped(TrapKind::Known(t)) = outcome {
            self.traps_by_code[*t as usize % 16] += 1;
        }
    }

    /// The trap counts by name, for reports.
    pub fn traps(&self) -> Vec<(Trap, u64)> {
        Trap::ALL
            .iter()
            .map(|t| (*t, self.traps_by_code[*t as usize % 16]))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Hayate and the oracle disagreed.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// What differed, in full: where, with which arguments, both sides.
    pub message: String,
    /// The class of the disagreement without names or values (for example
    /// `call: Hayate trapped UnreachableCodeReached, wasmi returned`), which a
    /// shrinker keeps fixed while it makes the module smaller.
    pub kind: String,
    /// The module.
    pub wasm: Vec<u8>,
    /// The options of the run that found it (Hayate engine variant, fuel).
    pub options: DiffOptions,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the engines disagree: {}", self.message)?;
        writeln!(f, "options: {:?}", self.options)?;
        match wasmprinter::print_bytes(&self.wasm) {
            Ok(text) if text.len() < 200_000 => write!(f, "module:\n{text}"),
            _ => write!(f, "module: {} bytes", self.wasm.len()),
        }
    }
}

impl std::error::Error for Mismatch {}

/// Options of a differential run.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// The Hayate engine: see [`super::engine_variant`].
    pub variant: u8,
    /// Set the global exported as [`generators::FUEL_EXPORT`] to this before
    /// each call, in both engines (if the module has it).
    pub fuel: Option<u32>,
    /// Run the oracle with this much `wasmi` fuel, and count running out as
    /// inconclusive. The oracle runs first in every step, so a module that
    /// does not terminate stops there before Hayate runs it: for modules
    /// whose own fuel may be gone (a shrinker's mutations).
    pub oracle_fuel: Option<u64>,
    /// Print each step's outcome in both engines to stderr.
    pub trace: bool,
}

/// The differential oracle on raw fuzz bytes: generates a module and its
/// arguments from `data` and runs [`differential_wasm`]. `Ok(None)` when the
/// input was too short to build a module.
pub fn differential(data: &[u8]) -> Result<Option<DiffStats>, Mismatch> {
    let mut u = Unstructured::new(data);
    let Ok(variant) = u.int_in_range(0..=hayate_side::ENGINE_VARIANTS - 1) else {
        return Ok(None);
    };
    let Ok(config) = generators::differential_config(&mut u) else {
        return Ok(None);
    };
    let Ok(module) = generators::terminating_module(&mut u, config) else {
        return Ok(None);
    };
    let options = DiffOptions {
        variant,
        fuel: Some(module.fuel),
        oracle_fuel: None,
        trace: false,
    };
    differential_wasm(&module.wasm, &options, &mut u).map(Some)
}

/// The two sides of this differential, as messages name them.
const SIDES: (&str, &str) = ("Hayate", "wasmi");

/// One export of the module under test.
pub(super) enum Export {
    Func { name: String, params: Vec<ValType> },
    Global(String),
    Memory(String),
    Table(String),
}

/// Runs `wasm` under Hayate and under `wasmi`: compiles,
/// instantiates (start function and segments included), calls every exported
/// function once in export order and then a few more chosen by `u`, with
/// arguments from `u`, and after instantiation and every call compares
/// results, traps, and every exported global, memory and table.
pub fn differential_wasm(
    wasm: &[u8],
    options: &DiffOptions,
    u: &mut Unstructured<'_>,
) -> Result<DiffStats, Mismatch> {
    let engine = &hayate_side::engine_variant(options.variant);
    let mismatch = |kind: String, message: String| Mismatch {
        message,
        kind,
        wasm: wasm.to_vec(),
        options: *options,
    };
    let mut stats = DiffStats::default();

    let wasmi_module = wasmi_side::compile(wasm, options.oracle_fuel.is_some());
    let hayate_module = Module::new(engine, wasm);
    let module = match (hayate_module, wasmi_module) {
        (Ok(m), Ok(w)) => (m, w),
        (Err(_), Err(_)) => return Ok(stats),
        (Err(e), Ok(_)) => {
            return Err(mismatch(
                "compile: Hayate rejected".into(),
                format!("Hayate rejected the module: {e}"),
            ));
        }
        (Ok(_), Err(e)) => {
            return Err(mismatch(
                "compile: wasmi rejected".into(),
                format!("wasmi rejected the module: {e}"),
            ));
        }
    };
    stats.modules += 1;
    let exports = exports_of(&module.0);
    let has_fuel_global = exports
        .iter()
        .any(|e| matches!(e, Export::Global(n) if n == generators::FUEL_EXPORT));

    let w = wasmi_side::instantiate(&module.1, options.oracle_fuel);
    if matches!(&w, Err(b) if b.is_out_of_fuel()) {
        stats.inconclusive += 1;
        return Ok(stats);
    }
    let h = hayate_side::instantiate(engine, &module.0);
    let (mut h, mut w) = match (h, w) {
        (Ok(h), Ok(w)) => (h, w),
        (Err(a), Err(b)) => {
            if a.is_stack_overflow() || b.is_stack_overflow() {
                stats.inconclusive += 1;
            } else if a.agrees_with(&b) {
                stats.instantiation_traps += matches!(a, DiffOutcome::Trapped(_)) as u64;
                stats.count_trap(&a);
            } else {
                return Err(mismatch(
                    format!("instantiation: Hayate {}, wasmi {}", a.kind(), b.kind()),
                    format!("instantiation: Hayate {a}, wasmi {b}"),
                ));
            }
            return Ok(stats);
        }
        (Ok(_), Err(b)) if b.is_stack_overflow() => {
            stats.inconclusive += 1;
            return Ok(stats);
        }
        (Err(a), Ok(_)) if a.is_stack_overflow() => {
            stats.inconclusive += 1;
            return Ok(stats);
        }
        (Ok(_), Err(b)) => {
            return Err(mismatch(
                format!("instantiation: Hayate succeeded, wasmi {}", b.kind()),
                format!("instantiation: Hayate succeeded, wasmi {b}"),
            ));
        }
        (Err(a), Ok(_)) => {
            return Err(mismatch(
                format!("instantiation: Hayate {}, wasmi succeeded", a.kind()),
                format!("instantiation: Hayate {a}, wasmi succeeded"),
            ));
        }
    };
    stats.instantiated += 1;
    compare_state(&exports, &mut h, &mut w, SIDES, "after instantiation")
        .map_err(|(kind, message)| mismatch(kind, message))?;

    for (n, (name, params)) in call_plan(&exports, u).into_iter().enumerate() {
        let args = params
            .iter()
            .map(|ty| arbitrary_arg(u, ty))
            .collect::<Vec<_>>();
        if let (Some(fuel), true) = (options.fuel, has_fuel_global) {
            h.set_global(generators::FUEL_EXPORT, DiffValue::I32(fuel as i32));
            w.set_global(generators::FUEL_EXPORT, DiffValue::I32(fuel as i32));
        }
        if let Some(fuel) = options.oracle_fuel {
            w.set_fuel(fuel);
        }
        let b = w.call(name, &args);
        if b.is_out_of_fuel() {
            stats.inconclusive += 1;
            return Ok(stats);
        }
        let a = h.call(name, &args);
        if a.is_stack_overflow() || b.is_stack_overflow() {
            stats.inconclusive += 1;
            return Ok(stats);
        }
        let call = format!("call #{n} of {name:?}({})", fmt_args(&args));
        if options.trace {
            eprintln!("{call}: Hayate {a}, wasmi {b}");
        }
        if !a.agrees_with(&b) {
            return Err(mismatch(
                format!("call: Hayate {}, wasmi {}", a.kind(), b.kind()),
                format!("{call}: Hayate {a}, wasmi {b}"),
            ));
        }
        stats.calls += 1;
        stats.call_traps += matches!(a, DiffOutcome::Trapped(_)) as u64;
        stats.count_trap(&a);
        compare_state(&exports, &mut h, &mut w, SIDES, &format!("after {call}"))
            .map_err(|(kind, message)| mismatch(kind, message))?;
    }
    Ok(stats)
}

/// The exports of `module` the differential observes.
pub(super) fn exports_of(module: &Module) -> Vec<Export> {
    module
        .exports()
        .filter_map(|e| {
            let name = e.name().to_string();
            Some(match e.ty() {
                ExternType::Func(ft) => Export::Func {
                    name,
                    params: ft.params().collect(),
                },
                ExternType::Global(_) => Export::Global(name),
                ExternType::Memory(_) => Export::Memory(name),
                ExternType::Table(_) => Export::Table(name),
                // Generated modules have no exceptions (see `generators`).
                ExternType::Tag(_) => return None,
            })
        })
        .collect()
}

pub(super) fn fmt_args(args: &[DiffValue]) -> String {
    args.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An argument of type `ty`. References are null or, for `externref`, a
/// host value both engines wrap the same way.
pub(super) fn arbitrary_arg(u: &mut Unstructured<'_>, ty: &ValType) -> DiffValue {
    let v = match ty {
        ValType::I32 => generators::arbitrary_i32(u).map(DiffValue::I32),
        ValType::I64 => generators::arbitrary_i64(u).map(DiffValue::I64),
        ValType::F32 => generators::arbitrary_f32(u).map(DiffValue::F32),
        ValType::F64 => generators::arbitrary_f64(u).map(DiffValue::F64),
        ValType::V128 => generators::arbitrary_v128(u).map(DiffValue::V128),
        ValType::Ref(r) if r.heap_type() == &HeapType::Func => {
            Ok(DiffValue::FuncRef { null: true })
        }
        ValType::Ref(_) => u
            .arbitrary::<bool>()
            .and_then(|null| {
                Ok(if null {
                    None
                } else {
                    Some(u.int_in_range(0..=15)?)
                })
            })
            .map(DiffValue::ExternRef),
    };
    v.unwrap_or(match ty {
        ValType::I32 => DiffValue::I32(0),
        ValType::I64 => DiffValue::I64(0),
        ValType::F32 => DiffValue::F32(0),
        ValType::F64 => DiffValue::F64(0),
        ValType::V128 => DiffValue::V128(0),
        ValType::Ref(r) if r.heap_type() == &HeapType::Func => DiffValue::FuncRef { null: true },
        ValType::Ref(_) => DiffValue::ExternRef(None),
    })
}

/// What the differential reads from an instance between calls.
pub(super) trait Observed {
    fn global(&mut self, name: &str) -> DiffValue;
    fn memory(&mut self, name: &str) -> &[u8];
    fn table(&mut self, name: &str) -> Vec<DiffValue>;
}

impl Observed for HayateInstance {
    fn global(&mut self, name: &str) -> DiffValue {
        HayateInstance::global(self, name)
    }
    fn memory(&mut self, name: &str) -> &[u8] {
        HayateInstance::memory(self, name)
    }
    fn table(&mut self, name: &str) -> Vec<DiffValue> {
        HayateInstance::table(self, name)
    }
}

impl Observed for WasmiInstance {
    fn global(&mut self, name: &str) -> DiffValue {
        WasmiInstance::global(self, name)
    }
    fn memory(&mut self, name: &str) -> &[u8] {
        WasmiInstance::memory(self, name)
    }
    fn table(&mut self, name: &str) -> Vec<DiffValue> {
        WasmiInstance::table(self, name)
    }
}

/// Compares every exported global, memory and table of `h` and `w`,
/// naming them `names` in messages.
pub(super) fn compare_state(
    exports: &[Export],
    h: &mut impl Observed,
    w: &mut impl Observed,
    names: (&str, &str),
    when: &str,
) -> Result<(), (String, String)> {
    let (hn, wn) = names;
    for export in exports {
        match export {
            Export::Func { .. } => {}
            Export::Global(name) => {
                let (a, b) = (h.global(name), w.global(name));
                if a != b {
                    return Err((
                        "global differs".into(),
                        format!("{when}: global {name:?}: {hn} {a}, {wn} {b}"),
                    ));
                }
            }
            Export::Memory(name) => {
                let (a, b) = (h.memory(name), w.memory(name));
                if a.len() != b.len() {
                    return Err((
                        "memory size differs".into(),
                        format!(
                            "{when}: memory {name:?} size: {hn} {} bytes, {wn} {} bytes",
                            a.len(),
                            b.len()
                        ),
                    ));
                }
                if a != b {
                    let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
                    let end = (first + 16).min(a.len());
                    return Err((
                        "memory differs".into(),
                        format!(
                            "{when}: memory {name:?} differs first at byte {first:#x}: {hn} {:02x?}, {wn} {:02x?}",
                            &a[first..end],
                            &b[first..end]
                        ),
                    ));
                }
            }
            Export::Table(name) => {
                let (a, b) = (h.table(name), w.table(name));
                if a.len() != b.len() {
                    return Err((
                        "table size differs".into(),
                        format!(
                            "{when}: table {name:?} size: {hn} {}, {wn} {}",
                            a.len(),
                            b.len()
                        ),
                    ));
                }
                if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
                    return Err((
                        "table element differs".into(),
                        format!(
                            "{when}: table {name:?} element {i}: {hn} {}, {wn} {}",
                            a[i], b[i]
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The calls a differential makes on a module with `exports`: every
/// exported function once, in order, then up to as many again, chosen by
/// `u` while it lasts.
pub(super) fn call_plan<'e>(
    exports: &'e [Export],
    u: &mut Unstructured<'_>,
) -> Vec<(&'e str, &'e [ValType])> {
    let funcs: Vec<(&str, &[ValType])> = exports
        .iter()
        .filter_map(|e| match e {
            Export::Func { name, params } => Some((name.as_str(), params.as_slice())),
            _ => None,
        })
        .collect();
    let mut order: Vec<usize> = (0..funcs.len()).collect();
    for _ in 0..funcs.len() {
        match u.choose_index(funcs.len()) {
            Ok(i) if !u.is_empty() => order.push(i),
            _ => break,
        }
    }
    order.into_iter().map(|i| funcs[i]).collect()
}

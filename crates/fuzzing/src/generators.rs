//! Generators: `wasm-smith` configurations and argument values.

use arbitrary::{Result, Unstructured};
use wasm_smith::{Config, InstructionKind, InstructionKinds};

/// Fuel given to modules instrumented with `wasm-smith`'s
/// `Module::ensure_termination`, at least.
///
/// Bounding execution: Hayate's own fuel (`Config::consume_fuel`) is not yet
/// charged by compiled code, so the generated modules carry their own: a
/// mutable global that every function entry and loop header decrements, and
/// that bulk-memory/table operations charge by their length; when it reaches
/// zero the module executes `unreachable`. Both engines run exactly the same
/// instructions, so they agree on where it runs out. The global is shared by
/// all calls into one instance.
// TODO(fuel): once Hayate charges fuel in compiled code, also run the
// differential with `Config::consume_fuel(true)` on the Hayate side and
// `wasmi::Config::consume_fuel(true)` on the oracle side, with a bound so large
// that only runaway modules hit it (the two engines count differently), and
// give the instantiate target uninstrumented modules bounded by that fuel.
pub const MIN_FUEL: u32 = 100;
/// The most fuel a generated module gets.
pub const MAX_FUEL: u32 = 2_000;

/// Every `wasm-smith` instruction kind of WebAssembly 2.0.
const ALL_KINDS: &[InstructionKind] = &[
    InstructionKind::NumericInt,
    InstructionKind::Numeric,
    InstructionKind::VectorInt,
    InstructionKind::Vector,
    InstructionKind::Reference,
    InstructionKind::Parametric,
    InstructionKind::Variable,
    InstructionKind::Table,
    InstructionKind::MemoryInt,
    InstructionKind::Memory,
    InstructionKind::Control,
];

/// Wasm page size.
const PAGE: u64 = 65_536;

/// Disables every proposal past WebAssembly 2.0 (plus multi-memory, tail
/// calls and extended constant expressions) that `wasm-smith` knows: what
/// Hayate implements (`hayate_environ::features::implemented`) and, for
/// the differential, what `wasmi` runs the same way. Tail calls and
/// extended constants stay as `Config::arbitrary` chose them; callers
/// choose memory64 and its sizes.
fn implemented_only(config: &mut Config) {
    config.relaxed_simd_enabled = false;
    config.exceptions_enabled = false;
    config.threads_enabled = false;
    config.gc_enabled = false;
    config.memory64_enabled = false;
    config.custom_page_sizes_enabled = false;
    config.wide_arithmetic_enabled = false;
    config.compact_imports_enabled = false;
    config.shared_everything_threads_enabled = false;
    config.custom_descriptors_enabled = false;
    config.acquire_release_atomics_enabled = false;
    config.multibyte_array_access_enabled = false;
    config.max_memory64_bytes = 0;
}

/// A configuration for the crash-only targets (`instantiate`): anything
/// `Config::arbitrary` picks, limited to the features Hayate implements
/// (WebAssembly 2.0, multi-memory, memory64, tail calls, extended
/// constant expressions, relaxed SIMD, exceptions, GC). Sizes stay as arbitrary as
/// `wasm-smith` makes them, so huge memories and tables get exercised, except
/// that memories declare at most 4 GiB (the 32-bit limit).
pub fn hayate_config(u: &mut Unstructured<'_>) -> Result<Config> {
    let mut config: Config = u.arbitrary()?;
    implemented_only(&mut config);
    // Multi-memory is implemented; more than a handful adds nothing but
    // reservations of 8 GiB of address space each.
    config.max_memories = config.max_memories.min(4);
    config.max_tables = config.max_tables.min(8);
    config.max_memory32_bytes = config.max_memory32_bytes.min(1 << 32);
    // 64-bit memories and tables too, declaring up to 4 GiB: their
    // accesses and bulk operations are checked explicitly.
    config.memory64_enabled = u.arbitrary()?;
    config.max_memory64_bytes = u128::from(u.int_in_range(0..=65_536u32)?) * u128::from(PAGE);
    // Relaxed SIMD too (not in the differential: `wasmi` may choose other
    // results among those the proposal allows).
    config.relaxed_simd_enabled = config.simd_enabled && u.arbitrary()?;
    // Exceptions and GC too (not in the differential: `wasmi` has
    // neither).
    config.exceptions_enabled = u.arbitrary()?;
    config.gc_enabled = u.arbitrary()?;

    // Up to the oracle's per-table limit: large tables (and segments far
    // into them) exercise the resource oracle.
    config.max_table_elements = config.max_table_elements.min(1_000_000);
    Ok(config)
}

/// A configuration for the differential target: WebAssembly 2.0 in full
/// (bulk memory, reference types, multi-value, sign extension, non-trapping
/// float-to-int, SIMD) plus multi-memory, memory64, tail calls and extended
/// constant expressions, no imports, everything exported so
/// the whole state can be compared, NaNs canonicalised after every float
/// operation (so memories and `v128` results can be compared bit for bit),
/// small memories with a declared maximum and small tables so a comparison is
/// cheap.
pub fn differential_config(u: &mut Unstructured<'_>) -> Result<Config> {
    let mut config: Config = u.arbitrary()?;
    implemented_only(&mut config);
    config.bulk_memory_enabled = true;
    config.reference_types_enabled = true;
    config.multi_value_enabled = true;
    config.sign_extension_ops_enabled = true;
    config.saturating_float_to_int_enabled = true;
    config.simd_enabled = true;
    config.allow_floats = true;
    // The arbitrary instruction mix leaves out each kind half of the time:
    // a quarter of the modules keep it (plus integer arithmetic and control),
    // the rest may use every instruction.
    if u.ratio(3, 4)? {
        config.allowed_instructions = InstructionKinds::all();
    } else {
        let mut kinds: Vec<InstructionKind> = ALL_KINDS
            .iter()
            .copied()
            .filter(|k| config.allowed_instructions.contains(*k))
            .collect();
        kinds.extend([InstructionKind::NumericInt, InstructionKind::Control]);
        config.allowed_instructions = InstructionKinds::new(&kinds);
    }
    // Both engines must see the same world: no imports.
    config.max_imports = 0;
    config.min_imports = 0;
    config.available_imports = None;
    config.export_everything = true;
    config.canonicalize_nans = true;
    config.max_memories = config.max_memories.min(2);
    config.max_memory32_bytes = u.int_in_range(1..=8)? * PAGE;
    config.memory64_enabled = u.arbitrary()?;
    config.max_memory64_bytes = u128::from(config.max_memory32_bytes);
    config.memory_max_size_required = true;
    config.max_tables = config.max_tables.min(3);
    config.max_table_elements = config.max_table_elements.min(200);
    config.table_max_size_required = true;
    // `wasm-smith` stops adding functions at random: ask for a few so there
    // is more to call and more calls between functions.
    config.max_funcs = config.max_funcs.clamp(10, 40);
    config.min_funcs = u.int_in_range(1..=10)?;
    config.max_instructions = config.max_instructions.min(300);
    config.max_types = config.max_types.min(40);
    config.max_globals = config.max_globals.min(30);
    config.max_data_segments = config.max_data_segments.min(20);
    config.max_element_segments = config.max_element_segments.min(20);
    config.max_elements = config.max_elements.min(50);
    config.max_nesting_depth = config.max_nesting_depth.min(8);
    Ok(config)
}

/// The name under which [`terminating_module`] exports the fuel global.
pub const FUEL_EXPORT: &str = "hayate-fuzz:fuel";

/// A generated module whose execution is bounded by fuel it carries itself.
#[derive(Debug, Clone)]
pub struct TerminatingModule {
    /// The binary.
    pub wasm: Vec<u8>,
    /// The fuel the module starts with, in its global exported as
    /// [`FUEL_EXPORT`]; set it back to this before each call to give every
    /// call the same budget.
    pub fuel: u32,
}

/// Generates a module with `config` and bounds its execution with
/// `ensure_termination` (see [`MIN_FUEL`]), exporting the fuel global as
/// [`FUEL_EXPORT`].
pub fn terminating_module(u: &mut Unstructured<'_>, config: Config) -> Result<TerminatingModule> {
    let mut module = wasm_smith::Module::new(config, u)?;
    let fuel = u.int_in_range(MIN_FUEL..=MAX_FUEL)?;
    let global = module
        .ensure_termination(fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let wasm = export_global(&module.to_bytes(), global, FUEL_EXPORT)
        .ok_or(arbitrary::Error::IncorrectFormat)?;
    Ok(TerminatingModule { wasm, fuel })
}

/// Adds an export `name` of global `index` to a module (rewriting or adding
/// its export section). `None` if the module does not parse or already has
/// an export of that name.
pub fn export_global(wasm: &[u8], index: u32, name: &str) -> Option<Vec<u8>> {
    use wasm_encoder::{ExportKind, ExportSection, RawSection};
    use wasmparser::{ExternalKind, Parser, Payload};

    // Sections that must come after the export section.
    fn after_exports(id: u8) -> bool {
        matches!(id, 8..=12)
    }
    let new_exports = |old: Option<wasmparser::ExportSectionReader<'_>>| -> Option<ExportSection> {
        let mut section = ExportSection::new();
        for export in old.into_iter().flatten() {
            let export = export.ok()?;
            if export.name == name {
                return None;
            }
            let kind = match export.kind {
                ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                ExternalKind::Table => ExportKind::Table,
                ExternalKind::Memory => ExportKind::Memory,
                ExternalKind::Global => ExportKind::Global,
                ExternalKind::Tag => ExportKind::Tag,
            };
            section.export(export.name, kind, export.index);
        }
        section.export(name, ExportKind::Global, index);
        Some(section)
    };

    let mut out = wasm_encoder::Module::new();
    let mut exported = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.ok()?;
        if let Payload::ExportSection(reader) = &payload {
            out.section(&new_exports(Some(reader.clone()))?);
            exported = true;
            continue;
        }
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        if !exported && after_exports(id) {
            out.section(&new_exports(None)?);
            exported = true;
        }
        // (A custom section's range covers its name too.)
        let data = &wasm[range.start as usize..range.end as usize];
        out.section(&RawSection { id, data });
    }
    if !exported {
        out.section(&new_exports(None)?);
    }
    Some(out.finish())
}

/// An `i32` argument: edge cases half of the time.
pub fn arbitrary_i32(u: &mut Unstructured<'_>) -> Result<i32> {
    const EDGES: &[i32] = &[
        0,
        1,
        -1,
        2,
        7,
        8,
        31,
        32,
        63,
        64,
        i32::MIN,
        i32::MAX,
        0x7fff,
        0xffff,
        65536,
    ];
    if u.arbitrary()? {
        Ok(*u.choose(EDGES)?)
    } else {
        u.arbitrary()
    }
}

/// An `i64` argument: edge cases half of the time.
pub fn arbitrary_i64(u: &mut Unstructured<'_>) -> Result<i64> {
    const EDGES: &[i64] = &[
        0,
        1,
        -1,
        63,
        64,
        i64::MIN,
        i64::MAX,
        i32::MIN as i64,
        u32::MAX as i64,
    ];
    if u.arbitrary()? {
        Ok(*u.choose(EDGES)?)
    } else {
        u.arbitrary()
    }
}

/// An `f32` argument, as bits: edge cases (zeros, infinities, NaNs,
/// subnormals, integer limits) half of the time.
pub fn arbitrary_f32(u: &mut Unstructured<'_>) -> Result<u32> {
    const EDGES: &[u32] = &[
        0x0000_0000, // +0
        0x8000_0000, // -0
        0x3f80_0000, // 1
        0xbf80_0000, // -1
        0x3f00_0000, // 0.5
        0x7f80_0000, // +inf
        0xff80_0000, // -inf
        0x7fc0_0000, // canonical NaN
        0xffc0_0000, // negative NaN
        0x7fa0_0001, // signalling NaN with payload
        0x0000_0001, // smallest subnormal
        0x7f7f_ffff, // largest finite
        0x4f00_0000, // 2^31
        0xcf00_0000, // -2^31
        0x5f00_0000, // 2^63
        0x4b80_0000, // 2^24
    ];
    if u.arbitrary()? {
        Ok(*u.choose(EDGES)?)
    } else {
        u.arbitrary()
    }
}

/// An `f64` argument, as bits: edge cases half of the time.
pub fn arbitrary_f64(u: &mut Unstructured<'_>) -> Result<u64> {
    const EDGES: &[u64] = &[
        0x0000_0000_0000_0000,
        0x8000_0000_0000_0000,
        0x3ff0_0000_0000_0000,
        0xbff0_0000_0000_0000,
        0x3fe0_0000_0000_0000,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
        0xfff8_0000_0000_0000,
        0x7ff4_0000_0000_0001,
        0x0000_0000_0000_0001,
        0x7fef_ffff_ffff_ffff,
        0x41e0_0000_0000_0000, // 2^31
        0xc1e0_0000_0000_0000, // -2^31
        0x43e0_0000_0000_0000, // 2^63
        0x41f0_0000_0000_0000, // 2^32
        0x4340_0000_0000_0000, // 2^53
    ];
    if u.arbitrary()? {
        Ok(*u.choose(EDGES)?)
    } else {
        u.arbitrary()
    }
}

/// A `v128` argument: all lanes from one of the scalar generators, or random.
pub fn arbitrary_v128(u: &mut Unstructured<'_>) -> Result<u128> {
    Ok(match u.int_in_range(0..=3)? {
        0 => {
            let lane = arbitrary_f32(u)? as u128;
            lane | lane << 32 | lane << 64 | lane << 96
        }
        1 => {
            let lane = arbitrary_f64(u)? as u128;
            lane | lane << 64
        }
        2 => {
            let mut v = 0u128;
            for i in 0..4 {
                v |= (arbitrary_i32(u)? as u32 as u128) << (32 * i);
            }
            v
        }
        _ => u.arbitrary()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(wasm: &[u8]) -> Vec<(String, wasmparser::ExternalKind, u32)> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::ExportSection(r) = payload.unwrap() {
                for e in r {
                    let e = e.unwrap();
                    out.push((e.name.to_string(), e.kind, e.index));
                }
            }
        }
        out
    }

    #[test]
    fn export_global_adds_or_extends_the_export_section() {
        use wasmparser::ExternalKind::{Func, Global};
        let with = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 5)) (func (export "f"))
                 (start 0) (data "x") (memory 1))"#,
        )
        .unwrap();
        let out = export_global(&with, 0, FUEL_EXPORT).unwrap();
        wasmparser::validate(&out).unwrap();
        assert_eq!(
            exports(&out),
            [("f".into(), Func, 0), (FUEL_EXPORT.into(), Global, 0)]
        );
        let without =
            wat::parse_str(r#"(module (global (mut i32) (i32.const 5)) (func))"#).unwrap();
        let out = export_global(&without, 0, FUEL_EXPORT).unwrap();
        wasmparser::validate(&out).unwrap();
        assert_eq!(exports(&out), [(FUEL_EXPORT.into(), Global, 0)]);
        // A clash with an existing name is refused.
        assert!(export_global(&out, 0, FUEL_EXPORT).is_none());
    }

    #[test]
    fn generated_modules_are_valid_and_export_their_fuel() {
        for seed in 0..20 {
            let data = crate::seeded_input(seed, 4096);
            let mut u = Unstructured::new(&data);
            let config = differential_config(&mut u).unwrap();
            let module = terminating_module(&mut u, config).unwrap();
            wasmparser::validate(&module.wasm).unwrap();
            assert!((MIN_FUEL..=MAX_FUEL).contains(&module.fuel));
            assert!(
                exports(&module.wasm)
                    .iter()
                    .any(|(n, _, _)| n == FUEL_EXPORT)
            );
        }
    }
}

//! From an LLVM module to Hayate's bodies: the optimisation pipeline, code
//! generation into an in-memory ELF object, and the reading of that
//! object back into one [`CompiledBody`] per defined function.
//!
//! Each function is in a section of its own (`.text.wasm_fN`), which
//! becomes function N's body, with the copies LLVM makes of the function
//! (specialisations inherit its section). Everything else the code
//! refers to (LLVM's constant pools and jump tables) is appended to one
//! carrier body, the first function's. The object's relocations become patches within a body, or
//! [`BodyRelocation`]s to another body (a function plus an offset), which
//! the shared linker resolves; calls to functions the fallback compiled
//! are relocations to those functions, and calls to the call adapter of
//! type N (`hayate_call_adapter_N`) relocations to that adapter, which
//! the fallback compiles. A call to a `hayate_trap_N`
//! function is overwritten with `ud2` and recorded in the body's trap
//! table with code N, so traps in LLVM's code reach the runtime's signal
//! handler exactly as Cranelift's do. Any other reference (a libc
//! function, a global variable, an absolute address) is refused. The
//! debug sections give each body its address map and inlined calls
//! (`dwarf.rs`).

use std::collections::HashMap;

use hayate_environ::{
    BodyRelocation, CompileError, CompiledBody, DefinedFuncIndex, ModuleInfo, RelocationKind,
    RelocationTarget, Trap, TypeIndex,
};
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{FileType, TargetMachine};
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, SectionKind, SymbolSection};

/// String attributes of every function: frame pointers (backtraces walk
/// them), no library calls conjured from loops (`memset`, `memcpy`: there
/// is no libc to link), and stack probes for frames over a page, so a
/// large frame touches the pages below in order.
pub(crate) const FUNCTION_ATTRIBUTES: &[(&str, &str)] = &[
    ("frame-pointer", "all"),
    ("no-builtins", ""),
    ("probe-stack", "inline-asm"),
];

/// The optimisation pipeline: LLVM's standard `-O3` module pipeline.
pub(crate) const PIPELINE: &str = "default<O3>";

/// Verifies and optimises `module`, and generates an ELF object.
pub(crate) fn emit(module: &Module<'_>, machine: &TargetMachine) -> Result<Vec<u8>, CompileError> {
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    module
        .verify()
        .map_err(|e| CompileError::Codegen(format!("LLVM rejected the IR: {e}")))?;
    module
        .run_passes(PIPELINE, machine, PassBuilderOptions::create())
        .map_err(|e| CompileError::Codegen(format!("LLVM optimisation: {e}")))?;
    let buffer = machine
        .write_to_memory_buffer(module, FileType::Object)
        .map_err(|e| CompileError::Codegen(format!("LLVM code generation: {e}")))?;
    Ok(buffer.as_slice().to_vec())
}

/// Where a section of the object is placed: in which body, at what
/// offset.
#[derive(Clone, Copy)]
struct Placement {
    body: DefinedFuncIndex,
    offset: u32,
}

fn bad(what: impl Into<String>) -> CompileError {
    CompileError::Codegen(format!("LLVM object: {}", what.into()))
}

/// The defined function named `name`, if it names one.
fn function_of_symbol(name: &str) -> Option<DefinedFuncIndex> {
    let n = name.strip_prefix("wasm_f")?;
    n.parse::<u32>().ok().map(DefinedFuncIndex::from_u32)
}

/// The defined function whose checked function is named `name`, if it
/// names one (see `translate/frame.rs`).
fn function_of_checked_symbol(name: &str) -> Option<DefinedFuncIndex> {
    function_of_symbol(name.strip_suffix("_checked")?)
}

/// The type whose call adapter is named `name`, if it names one (see
/// `translate/call.rs`).
fn type_of_adapter_symbol(name: &str) -> Option<TypeIndex> {
    let n = name.strip_prefix("hayate_call_adapter_")?;
    n.parse::<u32>().ok().map(TypeIndex::from_u32)
}

/// The trap a call to `name` raises, if it is a trap function.
fn trap_of_symbol(name: &str) -> Option<Trap> {
    let n: u8 = name.strip_prefix("hayate_trap_")?.parse().ok()?;
    Trap::ALL.iter().copied().find(|t| *t as u8 == n)
}

/// Reads the object LLVM emitted into a body for each function it
/// defines (a compiled function LLVM inlined everywhere and dropped gets
/// an empty body: nothing refers to it).
pub(crate) fn read_object(
    bytes: &[u8],
    info: &ModuleInfo,
) -> Result<HashMap<DefinedFuncIndex, CompiledBody>, CompileError> {
    let file = object::File::parse(bytes).map_err(|e| bad(e.to_string()))?;
    let mut bodies: HashMap<DefinedFuncIndex, CompiledBody> = HashMap::new();
    let mut placements: HashMap<object::SectionIndex, Placement> = HashMap::new();

    // Each function's own section (`.text.wasm_fN`) starts its body; its
    // checked function's follows it, so that its traps and frames are the
    // function's. Placement goes by section, not symbol: a copy LLVM
    // makes of a function (a specialisation) inherits its section, and
    // keeps it when the function itself is gone, inlined everywhere.
    let naming: [fn(&str) -> Option<DefinedFuncIndex>; 2] =
        [function_of_symbol, function_of_checked_symbol];
    for function_of in naming {
        for section in file.sections() {
            let Some(index) = section
                .name()
                .ok()
                .and_then(|name| name.strip_prefix(".text."))
                .and_then(function_of)
            else {
                continue;
            };
            let data = section.data().map_err(|e| bad(e.to_string()))?;
            let body = bodies.entry(index).or_insert_with(|| CompiledBody {
                alignment: 16,
                address_map: vec![(0, info.function_bodies[index].start as u32)],
                ..CompiledBody::default()
            });
            let offset = append_code(body, data, section.align())?;
            placements.insert(
                section.index(),
                Placement {
                    body: index,
                    offset,
                },
            );
        }
    }
    // Other code calls a function at the start of its body.
    for symbol in file.symbols() {
        let (Ok(name), SymbolSection::Section(section)) = (symbol.name(), symbol.section()) else {
            continue;
        };
        if let Some(index) = function_of_symbol(name) {
            let at = placements.get(&section).map(|p| (p.body, p.offset));
            if at != Some((index, 0)) || symbol.address() != 0 {
                return Err(bad(format!("{name} does not start its own section")));
            }
        }
    }
    let Some(&carrier) = bodies.keys().min() else {
        return Ok(bodies);
    };

    // Everything else that is loaded goes after the carrier's code.
    for section in file.sections() {
        if placements.contains_key(&section.index()) || section.size() == 0 {
            continue;
        }
        let name = section.name().unwrap_or("");
        match section.kind() {
            SectionKind::Text
            | SectionKind::ReadOnlyData
            | SectionKind::ReadOnlyDataWithRel
            | SectionKind::ReadOnlyString => {}
            SectionKind::Data | SectionKind::UninitializedData | SectionKind::Tls => {
                return Err(bad(format!("writable section {name}")));
            }
            _ => continue,
        }
        if name == ".eh_frame" {
            continue;
        }
        let data = section.data().map_err(|e| bad(e.to_string()))?;
        let body = bodies.get_mut(&carrier).expect("the carrier has a body");
        let offset = append_code(body, data, section.align())?;
        placements.insert(
            section.index(),
            Placement {
                body: carrier,
                offset,
            },
        );
    }

    // Relocations.
    for section in file.sections() {
        let Some(&place) = placements.get(&section.index()) else {
            continue;
        };
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(bad("a relocation that is not ELF"));
            };
            if r_type != object::elf::R_X86_64_PC32 && r_type != object::elf::R_X86_64_PLT32 {
                return Err(bad(format!("relocation type {}", r_type.0)));
            }
            let at = place.offset + u32::try_from(offset).map_err(|_| bad("offset"))?;
            let object::RelocationTarget::Symbol(symbol) = reloc.target() else {
                return Err(bad("a relocation to no symbol"));
            };
            let symbol = file
                .symbol_by_index(symbol)
                .map_err(|e| bad(e.to_string()))?;
            let addend = reloc.addend();
            let target = match symbol.section() {
                SymbolSection::Section(section) => {
                    let to = placements
                        .get(&section)
                        .ok_or_else(|| bad("a relocation to a section not loaded"))?;
                    (to.body, i64::from(to.offset) + symbol.address() as i64)
                }
                SymbolSection::Undefined => {
                    let name = symbol.name().map_err(|e| bad(e.to_string()))?;
                    if let Some(trap) = trap_of_symbol(name) {
                        let body = bodies.get_mut(&place.body).expect("placed bodies exist");
                        make_trap(body, at, trap)?;
                        continue;
                    }
                    let target = match (function_of_symbol(name), type_of_adapter_symbol(name)) {
                        (Some(index), _) => RelocationTarget::Function(index),
                        (None, Some(ty)) => RelocationTarget::CallAdapter(ty),
                        (None, None) => return Err(bad(format!("a reference to `{name}`"))),
                    };
                    let body = bodies.get_mut(&place.body).expect("placed bodies exist");
                    body.relocations.push(BodyRelocation {
                        offset: at,
                        kind: RelocationKind::X86PcRel4,
                        target,
                        addend,
                    });
                    continue;
                }
                _ => return Err(bad("a relocation to an absolute or common symbol")),
            };
            let body = bodies.get_mut(&place.body).expect("placed bodies exist");
            if target.0 == place.body {
                let value = target.1 + addend - i64::from(at);
                let value = i32::try_from(value).map_err(|_| bad("displacement out of range"))?;
                let field = body
                    .code
                    .get_mut(at as usize..at as usize + 4)
                    .ok_or_else(|| bad("relocation outside its section"))?;
                field.copy_from_slice(&value.to_le_bytes());
            } else {
                body.relocations.push(BodyRelocation {
                    offset: at,
                    kind: RelocationKind::X86PcRel4,
                    target: RelocationTarget::Function(target.0),
                    addend: target.1 + addend,
                });
            }
        }
    }

    // The debug information: address maps and inlined calls.
    let placed = |section| placements.get(&section).map(|p| (p.body, p.offset));
    let debug = crate::dwarf::read(&file, &placed, |name| {
        function_of_symbol(name).or_else(|| function_of_checked_symbol(name))
    })?;
    for (index, offset, wasm) in debug.rows {
        let body = bodies
            .get_mut(&index)
            .ok_or_else(|| bad("a line for no body"))?;
        if body.address_map.last().is_none_or(|last| last.1 != wasm) {
            body.address_map.push((offset, wasm));
        }
    }
    for (index, range) in debug.inlined {
        let body = bodies
            .get_mut(&index)
            .ok_or_else(|| bad("an inlined call in no body"))?;
        body.inlined.push(range);
    }

    for body in bodies.values_mut() {
        body.traps.sort_by_key(|(offset, _)| *offset);
        body.relocations.sort_by_key(|r| r.offset);
    }
    Ok(bodies)
}

/// Appends `data`, aligned to `align`, to `body`'s code (padding with
/// `int3`); its offset there.
fn append_code(body: &mut CompiledBody, data: &[u8], align: u64) -> Result<u32, CompileError> {
    let align = align.max(1) as usize;
    let offset = body.code.len().next_multiple_of(align);
    body.code.resize(offset, 0xcc);
    body.code.extend_from_slice(data);
    body.alignment = body.alignment.max(align as u32);
    u32::try_from(offset).map_err(|_| bad("a body over 4 GiB"))
}

/// Turns the `call rel32` whose displacement is at `at` into `ud2` (and
/// padding), recorded as trap `trap`.
fn make_trap(body: &mut CompiledBody, at: u32, trap: Trap) -> Result<(), CompileError> {
    let start = at
        .checked_sub(1)
        .ok_or_else(|| bad("trap call at the start of a section"))? as usize;
    let call = body
        .code
        .get_mut(start..start + 5)
        .ok_or_else(|| bad("trap call outside its section"))?;
    if call[0] != 0xe8 {
        return Err(bad(format!(
            "a trap reached other than by `call` (opcode {:#x})",
            call[0]
        )));
    }
    call.copy_from_slice(&[0x0f, 0x0b, 0xcc, 0xcc, 0xcc]);
    body.traps.push((start as u32, trap));
    Ok(())
}

#[cfg(test)]
mod tests {
    use hayate_environ::features_for;
    use inkwell::attributes::AttributeLoc;
    use inkwell::context::Context;
    use inkwell::module::Linkage;
    use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target, TargetTriple};

    use super::*;

    /// A copy LLVM made of a function (here, a specialisation) that
    /// outlived the function goes into that function's body, by its
    /// section: a trap in it is the function's, not the carrier's.
    #[test]
    fn a_copy_that_outlives_its_function_stays_in_its_body() {
        Target::initialize_x86(&InitializationConfig::default());
        let triple = TargetTriple::create("x86_64-unknown-linux-gnu");
        let machine = Target::from_triple(&triple)
            .unwrap()
            .create_target_machine(
                &triple,
                "x86-64",
                "",
                inkwell::OptimizationLevel::Aggressive,
                RelocMode::PIC,
                CodeModel::Small,
            )
            .unwrap();
        let cx = Context::create();
        let module = cx.create_module("wasm");
        let void = cx.void_type().fn_type(&[], false);
        let b = cx.create_builder();
        let trap = module.add_function(
            &crate::translate::trap_symbol(Trap::IntegerDivisionByZero),
            void,
            Some(Linkage::External),
        );
        let noinline = cx.create_enum_attribute(
            inkwell::attributes::Attribute::get_named_enum_kind_id("noinline"),
            0,
        );
        let copy = module.add_function("wasm_f1.specialized.1", void, Some(Linkage::Internal));
        copy.as_global_value().set_section(Some(".text.wasm_f1"));
        copy.add_attribute(AttributeLoc::Function, noinline);
        b.position_at_end(cx.append_basic_block(copy, ""));
        b.build_call(trap, &[], "").unwrap();
        b.build_unreachable().unwrap();
        let f0 = module.add_function("wasm_f0", void, Some(Linkage::External));
        f0.as_global_value().set_section(Some(".text.wasm_f0"));
        b.position_at_end(cx.append_basic_block(f0, ""));
        b.build_call(copy, &[], "").unwrap();
        b.build_return(None).unwrap();

        let object = emit(&module, &machine).unwrap();
        let wasm = wat::parse_str("(module (func) (func))").unwrap();
        let info = ModuleInfo::parse(&wasm, features_for(None)).unwrap();
        let bodies = read_object(&object, &info).unwrap();
        let traps = |i: u32| bodies[&DefinedFuncIndex::from_u32(i)].traps.clone();
        assert!(traps(0).is_empty());
        assert_eq!(traps(1).len(), 1);
        assert_eq!(traps(1)[0].1, Trap::IntegerDivisionByZero);
        // `wasm_f0`'s call reaches the copy in body 1.
        assert!(
            bodies[&DefinedFuncIndex::from_u32(0)]
                .relocations
                .iter()
                .any(|r| r.target == RelocationTarget::Function(DefinedFuncIndex::from_u32(1)))
        );
    }
}

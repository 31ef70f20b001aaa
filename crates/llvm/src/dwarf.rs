//! Reads back the debug information of LLVM's object (`translate/
//! locations.rs`): its line table becomes each body's address map (code
//! offset to Wasm offset), its inlined subroutines each body's inlined
//! ranges, so that backtraces through this tier's code give the Wasm
//! offsets and name every Wasm function, inlined or not.
//!
//! The object is not linked: each address in the debug sections is a
//! relocation against a function's section. The relocations are applied
//! here with a made-up address for each placed section, which says which
//! body and where in it: `(body + 1) << 32 | offset`.

use std::collections::HashMap;

use gimli::{AttributeValue, EndianSlice, LittleEndian};
use hayate_environ::{CompileError, DefinedFuncIndex, InlinedRange};
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, SectionIndex, SymbolSection};

/// Where a section of the object was placed: which body, at what offset.
pub(crate) type Placed<'p> = &'p dyn Fn(SectionIndex) -> Option<(DefinedFuncIndex, u32)>;

/// What the debug information says about the bodies.
#[derive(Debug, Default)]
pub(crate) struct DebugRecords {
    /// (body, code offset in it, Wasm offset), in the line table's order;
    /// Wasm offset 0 where the line table has none (an instruction LLVM
    /// made of two with different locations).
    pub rows: Vec<(DefinedFuncIndex, u32, u32)>,
    /// Each body's inlined ranges.
    pub inlined: Vec<(DefinedFuncIndex, InlinedRange)>,
}

fn bad(what: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen(format!("LLVM debug information: {what}"))
}

/// The made-up address of `offset` in `body`.
fn address(body: DefinedFuncIndex, offset: u64) -> u64 {
    ((u64::from(body.as_u32()) + 1) << 32) + offset
}

/// The body and offset a made-up address names.
fn place(address: u64) -> Option<(DefinedFuncIndex, u32)> {
    let body = (address >> 32).checked_sub(1)?;
    Some((DefinedFuncIndex::from_u32(body as u32), address as u32))
}

/// The debug sections of `file` by name, relocated.
fn relocated_sections(
    file: &object::File<'_>,
    placed: Placed<'_>,
) -> Result<HashMap<String, Vec<u8>>, CompileError> {
    let mut sections = HashMap::new();
    for section in file.sections() {
        let Ok(name) = section.name() else { continue };
        if !name.starts_with(".debug_") {
            continue;
        }
        let mut data = section.data().map_err(bad)?.to_vec();
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(bad("a relocation that is not ELF"));
            };
            let object::RelocationTarget::Symbol(symbol) = reloc.target() else {
                return Err(bad("a relocation to no symbol"));
            };
            let symbol = file.symbol_by_index(symbol).map_err(bad)?;
            let SymbolSection::Section(target) = symbol.section() else {
                return Err(bad("a relocation to a symbol in no section"));
            };
            let base = match placed(target) {
                Some((body, at)) => address(body, u64::from(at)),
                None => 0,
            };
            let value = base
                .wrapping_add(symbol.address())
                .wrapping_add_signed(reloc.addend());
            let at = usize::try_from(offset).map_err(bad)?;
            let field: &[u8] = match r_type {
                object::elf::R_X86_64_64 => &value.to_le_bytes(),
                object::elf::R_X86_64_32 => &u32::try_from(value).map_err(bad)?.to_le_bytes(),
                other => return Err(bad(format!("relocation type {}", other.0))),
            };
            data.get_mut(at..at + field.len())
                .ok_or_else(|| bad("a relocation outside its section"))?
                .copy_from_slice(field);
        }
        sections.insert(name.to_string(), data);
    }
    Ok(sections)
}

/// Reads the line table and inlined subroutines of `file`, whose sections
/// `placed` says where they went; `function_of` names the defined
/// function of a subprogram's name.
pub(crate) fn read(
    file: &object::File<'_>,
    placed: Placed<'_>,
    function_of: fn(&str) -> Option<DefinedFuncIndex>,
) -> Result<DebugRecords, CompileError> {
    let sections = relocated_sections(file, placed)?;
    let dwarf = gimli::Dwarf::load(|id| {
        let data = sections.get(id.name()).map(Vec::as_slice).unwrap_or(&[]);
        Ok::<_, gimli::Error>(EndianSlice::new(data, LittleEndian))
    })
    .map_err(bad)?;
    let mut records = DebugRecords::default();
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(bad)? {
        let unit = dwarf.unit(header).map_err(bad)?;
        if let Some(program) = unit.line_program.clone() {
            let mut rows = program.rows();
            while let Some((_, row)) = rows.next_row().map_err(bad)? {
                let line = row.line().map_or(0, |line| line.get());
                let (Some((body, offset)), Ok(line)) = (place(row.address()), u32::try_from(line))
                else {
                    continue;
                };
                if !row.end_sequence() {
                    records.rows.push((body, offset, line));
                }
            }
        }
        read_inlined(&dwarf, &unit, function_of, &mut records.inlined)?;
    }
    Ok(records)
}

type Dwarf<'d> = gimli::Dwarf<EndianSlice<'d, LittleEndian>>;
type Unit<'d> = gimli::Unit<EndianSlice<'d, LittleEndian>>;

/// The inlined subroutines of `unit`, each range with its nesting depth.
/// Walks the entries in order (no recursion: the depth of inlining is
/// the module's to choose).
fn read_inlined(
    dwarf: &Dwarf<'_>,
    unit: &Unit<'_>,
    function_of: fn(&str) -> Option<DefinedFuncIndex>,
    out: &mut Vec<(DefinedFuncIndex, InlinedRange)>,
) -> Result<(), CompileError> {
    // The enclosing entries: their depth in the tree, and whether each is
    // an inlined call.
    let mut enclosing: Vec<(isize, bool)> = Vec::new();
    let mut entries = unit.entries();
    while let Some(entry) = entries.next_dfs().map_err(bad)? {
        let depth = entry.depth();
        while enclosing.last().is_some_and(|(d, _)| *d >= depth) {
            enclosing.pop();
        }
        let inlined = entry.tag() == gimli::DW_TAG_inlined_subroutine;
        if inlined {
            let calls = enclosing.iter().filter(|(_, call)| *call).count();
            let callee = callee(dwarf, unit, entry, function_of)?;
            let call_offset = entry
                .attr_value(gimli::DW_AT_call_line)
                .and_then(|v| v.udata_value())
                .and_then(|line| u32::try_from(line).ok())
                .unwrap_or(0);
            let mut ranges = dwarf.die_ranges(unit, entry).map_err(bad)?;
            while let Some(range) = ranges.next().map_err(bad)? {
                let (Some((body, start)), Some((end_body, end))) =
                    (place(range.begin), place(range.end))
                else {
                    return Err(bad("an inlined range outside the code"));
                };
                if body != end_body || end < start {
                    return Err(bad("an inlined range across two bodies"));
                }
                let range = InlinedRange {
                    start,
                    end,
                    depth: u32::try_from(calls).map_err(bad)?,
                    callee,
                    call_offset,
                };
                out.push((body, range));
            }
        }
        enclosing.push((depth, inlined));
    }
    Ok(())
}

/// The defined function an inlined subroutine entry is a call of: its
/// abstract origin's name.
fn callee(
    dwarf: &Dwarf<'_>,
    unit: &Unit<'_>,
    entry: &gimli::DebuggingInformationEntry<EndianSlice<'_, LittleEndian>>,
    function_of: fn(&str) -> Option<DefinedFuncIndex>,
) -> Result<DefinedFuncIndex, CompileError> {
    let Some(AttributeValue::UnitRef(origin)) = entry.attr_value(gimli::DW_AT_abstract_origin)
    else {
        return Err(bad("an inlined call without its function"));
    };
    let origin = unit.entry(origin).map_err(bad)?;
    let name = origin
        .attr_value(gimli::DW_AT_name)
        .ok_or_else(|| bad("an inlined function without a name"))?;
    let name = dwarf.attr_string(unit, name).map_err(bad)?;
    let name = std::str::from_utf8(name.slice()).map_err(bad)?;
    function_of(name).ok_or_else(|| bad(format!("an inlined call of `{name}`")))
}

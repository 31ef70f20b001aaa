//! The backend-neutral linker: lays compiled bodies out in one text
//! section, in job order, and patches the calls between a module's
//! functions. What is left (addresses of float libcalls, known only in the
//! loading process) goes into [`CompiledModule::relocations`] for the
//! loader. Patching depends only on the [`Architecture`] and the
//! [`RelocationKind`], never on which compiler made the bodies.

use std::collections::HashMap;

use crate::address_map::AddressMap;
use crate::compile::{Architecture, CompileJob};
use crate::compiled::{
    BodyRelocation, CompiledBody, CompiledFunction, CompiledModule, FunctionLoc, Relocation,
    RelocationKind, RelocationTarget,
};
use crate::entity::{EntityRef, TypeIndex};
use crate::error::CompileError;
use crate::exception_table::{ExceptionSite, ExceptionTable};
use crate::inline_map::InlineMap;
use crate::stack_maps::{StackMapSite, StackMaps};
use crate::trap::Trap;
use crate::trap_table::TrapTable;

/// Links `bodies`, the results of `jobs` (same order), into a module.
/// The `Function` jobs must come first and cover defined functions
/// `0..n` in order, since `CompiledModule::functions` is indexed by
/// defined-function index.
pub fn link(
    architecture: Architecture,
    jobs: &[CompileJob],
    bodies: Vec<CompiledBody>,
) -> Result<CompiledModule, CompileError> {
    if jobs.len() != bodies.len() {
        return Err(CompileError::Codegen(format!(
            "{} jobs but {} bodies to link",
            jobs.len(),
            bodies.len()
        )));
    }
    let mut text = Text {
        bytes: Vec::new(),
        traps: Vec::new(),
        exceptions: Vec::new(),
        stack_maps: Vec::new(),
        padding: architecture.padding_byte(),
    };
    let mut module = CompiledModule::default();
    let mut placed: Vec<FunctionLoc> = Vec::with_capacity(bodies.len());
    let mut entries: Vec<Option<FunctionLoc>> = Vec::new();
    let mut adapters: HashMap<TypeIndex, FunctionLoc> = HashMap::new();
    for (job, body) in jobs.iter().zip(&bodies) {
        let loc = text.append(body)?;
        placed.push(loc);
        match *job {
            CompileJob::Function(index) => {
                if index.index() != module.functions.len() {
                    return Err(CompileError::Codegen(format!(
                        "function {} linked out of order",
                        index.index()
                    )));
                }
                module.functions.push(CompiledFunction {
                    loc,
                    address_map: AddressMap::from_pairs(&body.address_map),
                    inline_map: InlineMap::from_ranges(&body.inlined),
                    guard_page_faults: body.guard_page_faults,
                });
            }
            CompileJob::ArrayToWasm(index) => {
                if entries.len() <= index.index() {
                    entries.resize(index.index() + 1, None);
                }
                entries[index.index()] = Some(loc);
            }
            CompileJob::WasmToArray(_) => {
                module.wasm_to_array_trampolines.push(loc);
            }
            CompileJob::CallAdapter(ty) => {
                if adapters.insert(ty, loc).is_some() {
                    return Err(CompileError::Codegen(format!(
                        "two call adapters of type {}",
                        ty.index()
                    )));
                }
                module.call_adapters.push(loc);
            }
        }
    }
    if entries.len() > module.functions.len() {
        return Err(CompileError::Codegen(
            "entry trampoline of a missing function".into(),
        ));
    }
    entries.resize(module.functions.len(), None);
    module.array_to_wasm_trampolines = entries.into();

    for (loc, body) in placed.iter().zip(&bodies) {
        for r in &body.relocations {
            let at = loc.start + r.offset;
            match r.target {
                RelocationTarget::Function(index) => {
                    let target = module
                        .functions
                        .get(index)
                        .ok_or_else(|| {
                            CompileError::Codegen(format!(
                                "call to missing function {}",
                                index.index()
                            ))
                        })?
                        .loc
                        .start;
                    patch_call(architecture, &mut text.bytes, at, target, r)?;
                }
                RelocationTarget::CallAdapter(ty) => {
                    let target = adapters.get(&ty).ok_or_else(|| {
                        CompileError::Codegen(format!(
                            "call through the missing adapter of type {}",
                            ty.index()
                        ))
                    })?;
                    patch_call(architecture, &mut text.bytes, at, target.start, r)?;
                }
                RelocationTarget::FloatLibcall(target) if r.kind == RelocationKind::Abs8 => {
                    module.relocations.push(Relocation {
                        offset: at,
                        target,
                        addend: r.addend,
                    });
                }
                RelocationTarget::FloatLibcall(target) => {
                    return Err(CompileError::Codegen(format!(
                        "unsupported relocation {:?} to {target:?}",
                        r.kind
                    )));
                }
            }
        }
    }
    module.traps = TrapTable::from_pairs(text.traps);
    module.exceptions = ExceptionTable::new(text.exceptions);
    module.stack_maps = StackMaps::new(text.stack_maps);
    module.relocations.sort_by_key(|r| r.offset);
    module.text = text.bytes;
    Ok(module)
}

/// The text section being assembled.
struct Text {
    bytes: Vec<u8>,
    traps: Vec<(u32, Trap)>,
    exceptions: Vec<ExceptionSite>,
    stack_maps: Vec<StackMapSite>,
    padding: u8,
}

impl Text {
    fn append(&mut self, body: &CompiledBody) -> Result<FunctionLoc, CompileError> {
        let align = body.alignment.max(16) as usize;
        let start = self.bytes.len().next_multiple_of(align);
        self.bytes.resize(start, self.padding);
        self.bytes.extend_from_slice(&body.code);
        let too_large = || CompileError::Unsupported("text section over 4 GiB".into());
        let start = u32::try_from(start).map_err(|_| too_large())?;
        let length = u32::try_from(body.code.len()).map_err(|_| too_large())?;
        u32::try_from(self.bytes.len()).map_err(|_| too_large())?;
        self.traps
            .extend(body.traps.iter().map(|(o, t)| (start + o, *t)));
        self.exceptions
            .extend(body.exception_sites.iter().map(|site| site.moved_by(start)));
        self.stack_maps
            .extend(body.stack_maps.iter().map(|site| site.moved_by(start)));
        Ok(FunctionLoc { start, length })
    }
}

/// Patches the call at text offset `at` to reach text offset `target`.
fn patch_call(
    architecture: Architecture,
    text: &mut [u8],
    at: u32,
    target: u32,
    r: &BodyRelocation,
) -> Result<(), CompileError> {
    let delta = i64::from(target) + r.addend - i64::from(at);
    let at = at as usize;
    let out_of_range = || {
        CompileError::Unsupported(format!(
            "text section too large for {:?} calls ({delta} bytes)",
            r.kind
        ))
    };
    let field = text
        .get_mut(at..at + 4)
        .ok_or_else(|| CompileError::Codegen(format!("relocation at {at} outside the text")))?;
    match (architecture, r.kind) {
        (Architecture::X86_64, RelocationKind::X86PcRel4) => {
            let delta = i32::try_from(delta).map_err(|_| out_of_range())?;
            field.copy_from_slice(&delta.to_le_bytes());
        }
        (Architecture::Aarch64, RelocationKind::Arm64Call26) => {
            // imm26 counts 4-byte words, signed: +-128 MiB.
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(out_of_range());
            }
            let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
            let insn = u32::from_le_bytes(field[..4].try_into().expect("4 bytes"));
            field.copy_from_slice(&((insn & 0xfc00_0000) | imm26).to_le_bytes());
        }
        (architecture, kind) => {
            return Err(CompileError::Codegen(format!(
                "relocation {kind:?} cannot call a function on {architecture:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiled::FloatLibcall;
    use crate::entity::{DefinedFuncIndex, TypeIndex};

    fn body(code: &[u8], relocations: Vec<BodyRelocation>) -> CompiledBody {
        CompiledBody {
            code: code.to_vec(),
            alignment: 1,
            relocations,
            traps: vec![(0, Trap::UnreachableCodeReached)],
            address_map: vec![(0, 7)],
            inlined: Vec::new(),
            exception_sites: Vec::new(),
            stack_maps: Vec::new(),
            guard_page_faults: false,
        }
    }

    fn call(offset: u32, kind: RelocationKind, addend: i64, to: usize) -> BodyRelocation {
        BodyRelocation {
            offset,
            kind,
            target: RelocationTarget::Function(DefinedFuncIndex::new(to)),
            addend,
        }
    }

    #[test]
    fn x86_calls_lay_out_and_patch() {
        let f = DefinedFuncIndex::new;
        let jobs = [
            CompileJob::Function(f(0)),
            CompileJob::Function(f(1)),
            CompileJob::ArrayToWasm(f(1)),
            CompileJob::WasmToArray(TypeIndex::new(0)),
        ];
        // f0: `call f1` (e8 rel32), f1: `ret`.
        let bodies = vec![
            body(
                &[0xe8, 0, 0, 0, 0],
                vec![call(1, RelocationKind::X86PcRel4, -4, 1)],
            ),
            body(&[0xc3], vec![]),
            body(&[0xc3, 0xc3], vec![]),
            body(
                &[0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0],
                vec![BodyRelocation {
                    offset: 2,
                    kind: RelocationKind::Abs8,
                    target: RelocationTarget::FloatLibcall(FloatLibcall::CeilF32),
                    addend: 0,
                }],
            ),
        ];
        let m = link(Architecture::X86_64, &jobs, bodies).unwrap();
        let starts: Vec<u32> = m.functions.values().map(|f| f.loc.start).collect();
        assert_eq!(starts, [0, 16]);
        assert_eq!(
            m.array_to_wasm_trampolines.as_values_slice(),
            [
                None,
                Some(FunctionLoc {
                    start: 32,
                    length: 2
                })
            ]
        );
        assert_eq!(
            m.wasm_to_array_trampolines.as_values_slice(),
            [FunctionLoc {
                start: 48,
                length: 10
            }]
        );
        // rel32 from the end of the call (5) to f1 (16).
        assert_eq!(&m.text[1..5], &11i32.to_le_bytes());
        assert!(m.text[5..16].iter().all(|b| *b == 0xcc));
        assert_eq!(
            m.relocations,
            [Relocation {
                offset: 50,
                target: FloatLibcall::CeilF32,
                addend: 0
            }]
        );
        assert_eq!(m.trap_at(16), Some(Trap::UnreachableCodeReached));
        assert_eq!(m.function_at(16), Some(f(1)));
        assert_eq!(m.function_at(17), None);
        assert_eq!(m.function_at(20), None);
    }

    #[test]
    fn arm64_calls_patch_the_word_offset() {
        let f = DefinedFuncIndex::new;
        let jobs = [CompileJob::Function(f(0)), CompileJob::Function(f(1))];
        // f0: nop; bl f1 (0x94000000). f1 placed at 16.
        let bl = 0x9400_0000u32.to_le_bytes();
        let mut code = vec![0x1f, 0x20, 0x03, 0xd5];
        code.extend_from_slice(&bl);
        let bodies = vec![
            body(&code, vec![call(4, RelocationKind::Arm64Call26, 0, 1)]),
            body(&[0xc0, 0x03, 0x5f, 0xd6], vec![]),
        ];
        let m = link(Architecture::Aarch64, &jobs, bodies).unwrap();
        let insn = u32::from_le_bytes(m.text[4..8].try_into().unwrap());
        assert_eq!(insn, 0x9400_0000 | 3, "(16 - 4) / 4 words forward");
        assert!(m.text[8..16].iter().all(|b| *b == 0));
    }

    #[test]
    fn bad_input_is_an_error() {
        let f = DefinedFuncIndex::new;
        let to_missing = vec![body(
            &[0xe8, 0, 0, 0, 0],
            vec![call(1, RelocationKind::X86PcRel4, -4, 5)],
        )];
        assert!(
            link(
                Architecture::X86_64,
                &[CompileJob::Function(f(0))],
                to_missing
            )
            .is_err()
        );
        let past_end = vec![body(
            &[0xe8],
            vec![call(1, RelocationKind::X86PcRel4, -4, 0)],
        )];
        assert!(
            link(
                Architecture::X86_64,
                &[CompileJob::Function(f(0))],
                past_end
            )
            .is_err()
        );
        let wrong_arch = vec![body(
            &[0xe8, 0, 0, 0, 0],
            vec![call(1, RelocationKind::X86PcRel4, -4, 0)],
        )];
        assert!(
            link(
                Architecture::Aarch64,
                &[CompileJob::Function(f(0))],
                wrong_arch
            )
            .is_err()
        );
        assert!(
            link(
                Architecture::X86_64,
                &[CompileJob::Function(f(1))],
                vec![body(&[0xc3], vec![])]
            )
            .is_err()
        );
        assert!(link(Architecture::X86_64, &[CompileJob::Function(f(0))], vec![]).is_err());
    }
}

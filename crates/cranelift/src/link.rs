//! From Cranelift's output to a [`CompiledModule`]: extracting each body's
//! code, relocations, traps and source locations, laying the bodies out in
//! one text section and resolving the calls between them.

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, LibCall};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedRelocTarget};
use hayate_environ::{
    CompileError, CompiledFunction, CompiledModule, FloatLibcall, FunctionLoc, Relocation, Trap,
};

use crate::traps::trap_from_code;

/// What a relocation in a body refers to.
#[derive(Debug, Clone, Copy)]
enum RelocTarget {
    /// The start of a defined function.
    Function(u32),
    /// A float libcall, left for the loader.
    Libcall(FloatLibcall),
}

#[derive(Debug, Clone)]
struct BodyReloc {
    offset: u32,
    kind: Reloc,
    target: RelocTarget,
    addend: i64,
}

/// The machine code of one function or trampoline, before layout.
#[derive(Debug, Clone)]
pub(crate) struct CompiledBody {
    code: Vec<u8>,
    alignment: u32,
    relocs: Vec<BodyReloc>,
    /// (offset in the body, trap), sorted.
    traps: Vec<(u32, Trap)>,
    /// (offset in the body, Wasm byte offset), sorted.
    address_map: Vec<(u32, u32)>,
}

fn float_libcall(lc: LibCall) -> Option<FloatLibcall> {
    Some(match lc {
        LibCall::CeilF32 => FloatLibcall::CeilF32,
        LibCall::CeilF64 => FloatLibcall::CeilF64,
        LibCall::FloorF32 => FloatLibcall::FloorF32,
        LibCall::FloorF64 => FloatLibcall::FloorF64,
        LibCall::TruncF32 => FloatLibcall::TruncF32,
        LibCall::TruncF64 => FloatLibcall::TruncF64,
        LibCall::NearestF32 => FloatLibcall::NearestF32,
        LibCall::NearestF64 => FloatLibcall::NearestF64,
        LibCall::FmaF32 => FloatLibcall::FmaF32,
        LibCall::FmaF64 => FloatLibcall::FmaF64,
        _ => return None,
    })
}

/// Compiles the function in `ctx` and extracts what layout needs.
pub(crate) fn compile_body(
    isa: &dyn TargetIsa,
    ctx: &mut Context,
) -> Result<CompiledBody, CompileError> {
    let names = ctx.func.params.user_named_funcs().clone();
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| {
            CompileError::Codegen(cranelift_codegen::print_errors::pretty_error(
                e.func, e.inner,
            ))
        })?;
    let buffer = &code.buffer;
    let mut relocs = Vec::new();
    for r in buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &names[*name];
                if name.namespace != 0 {
                    return Err(CompileError::Codegen(format!(
                        "unexpected call target {name:?}"
                    )));
                }
                RelocTarget::Function(name.index)
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => {
                match float_libcall(*lc) {
                    Some(f) => RelocTarget::Libcall(f),
                    None => {
                        return Err(CompileError::Unsupported(format!(
                            "code needs libcall {lc:?} (CPU features missing?)"
                        )));
                    }
                }
            }
            other => {
                return Err(CompileError::Codegen(format!(
                    "unexpected relocation target {other:?}"
                )));
            }
        };
        relocs.push(BodyReloc {
            offset: r.offset,
            kind: r.kind,
            target,
            addend: r.addend,
        });
    }
    let mut traps = Vec::with_capacity(buffer.traps().len());
    for t in buffer.traps() {
        let trap = trap_from_code(t.code)
            .ok_or_else(|| CompileError::Codegen(format!("unknown trap code {}", t.code)))?;
        traps.push((t.offset, trap));
    }
    traps.sort_by_key(|t| t.0);
    let mut address_map: Vec<(u32, u32)> = Vec::new();
    for loc in buffer.get_srclocs_sorted() {
        if loc.loc.is_default() || loc.start == loc.end {
            continue;
        }
        if address_map
            .last()
            .is_some_and(|last| last.1 == loc.loc.bits())
        {
            continue;
        }
        address_map.push((loc.start, loc.loc.bits()));
    }
    Ok(CompiledBody {
        code: buffer.data().to_vec(),
        alignment: buffer.alignment,
        relocs,
        traps,
        address_map,
    })
}

/// The text section being assembled.
struct Text {
    bytes: Vec<u8>,
    traps: Vec<(u32, Trap)>,
}

impl Text {
    fn append(&mut self, body: &CompiledBody) -> Result<FunctionLoc, CompileError> {
        let align = body.alignment.max(16) as usize;
        let start = self.bytes.len().next_multiple_of(align);
        // Padding is never executed; fill it with `int3`.
        self.bytes.resize(start, 0xcc);
        self.bytes.extend_from_slice(&body.code);
        let start = u32::try_from(start)
            .map_err(|_| CompileError::Unsupported("text section over 4 GiB".into()))?;
        self.traps
            .extend(body.traps.iter().map(|(o, t)| (start + o, *t)));
        Ok(FunctionLoc {
            start,
            length: body.code.len() as u32,
        })
    }
}

/// Lays out `functions` (by defined index), then the array-to-wasm
/// trampolines `(defined index, body)`, then the wasm-to-array trampolines,
/// and resolves calls between them.
pub(crate) fn link(
    functions: Vec<CompiledBody>,
    array_to_wasm: Vec<(u32, CompiledBody)>,
    wasm_to_array: Vec<CompiledBody>,
) -> Result<CompiledModule, CompileError> {
    let mut text = Text {
        bytes: Vec::new(),
        traps: Vec::new(),
    };
    let mut placed: Vec<(FunctionLoc, &CompiledBody)> = Vec::new();
    let mut module = CompiledModule::default();
    for body in &functions {
        let loc = text.append(body)?;
        placed.push((loc, body));
        module.functions.push(CompiledFunction {
            loc,
            address_map: body.address_map.clone(),
        });
    }
    module.array_to_wasm_trampolines = vec![None; functions.len()];
    for (index, body) in &array_to_wasm {
        let loc = text.append(body)?;
        placed.push((loc, body));
        module.array_to_wasm_trampolines[*index as usize] = Some(loc);
    }
    for body in &wasm_to_array {
        let loc = text.append(body)?;
        placed.push((loc, body));
        module.wasm_to_array_trampolines.push(loc);
    }

    for (loc, body) in &placed {
        for r in &body.relocs {
            let at = loc.start + r.offset;
            match (r.kind, r.target) {
                (
                    Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::X86CallPLTRel4,
                    RelocTarget::Function(index),
                ) => {
                    let target = module
                        .functions
                        .get(index as usize)
                        .ok_or_else(|| {
                            CompileError::Codegen(format!("call to missing function {index}"))
                        })?
                        .loc
                        .start;
                    let delta = i64::from(target) + r.addend - i64::from(at);
                    let delta = i32::try_from(delta).map_err(|_| {
                        CompileError::Unsupported("text section too large for rel32 calls".into())
                    })?;
                    let at = at as usize;
                    text.bytes[at..at + 4].copy_from_slice(&delta.to_le_bytes());
                }
                (Reloc::Abs8, RelocTarget::Libcall(target)) => {
                    module.relocations.push(Relocation {
                        offset: at,
                        target,
                        addend: r.addend,
                    });
                }
                (kind, target) => {
                    return Err(CompileError::Codegen(format!(
                        "unsupported relocation {kind:?} to {target:?}"
                    )));
                }
            }
        }
    }
    text.traps.sort_by_key(|t| t.0);
    module.traps = text.traps;
    module.relocations.sort_by_key(|r| r.offset);
    module.text = text.bytes;
    Ok(module)
}

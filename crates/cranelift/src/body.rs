//! From Cranelift's output to the backend-neutral
//! [`CompiledBody`]: each body's code, traps, source locations and
//! relocations, named in the shared vocabulary (layout and patching are
//! `hayate_environ::link`'s).

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, LibCall};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{
    Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
};
use hayate_environ::exception_table::{ExceptionHandler, ExceptionSite};
use hayate_environ::stack_maps::StackMapSite;
use hayate_environ::{
    BodyRelocation, CompileError, CompiledBody, DefinedFuncIndex, FloatLibcall, RelocationKind,
    RelocationTarget, TagIndex,
};

use crate::traps::trap_from_code;

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
                RelocationTarget::Function(DefinedFuncIndex::from_u32(name.index))
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => {
                match float_libcall(*lc) {
                    Some(f) => RelocationTarget::FloatLibcall(f),
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
        let kind = match r.kind {
            Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::X86CallPLTRel4 => {
                RelocationKind::X86PcRel4
            }
            Reloc::Arm64Call => RelocationKind::Arm64Call26,
            Reloc::Abs8 => RelocationKind::Abs8,
            other => {
                return Err(CompileError::Codegen(format!(
                    "unsupported relocation kind {other:?}"
                )));
            }
        };
        relocs.push(BodyRelocation {
            offset: r.offset,
            kind,
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
        relocations: relocs,
        traps,
        address_map,
        inlined: Vec::new(),
        exception_sites: exception_sites(buffer)?,
        stack_maps: stack_maps(buffer)?,
        // Every access that may fault is in the trap table.
        guard_page_faults: false,
    })
}

/// The stack maps of `buffer`'s call sites: where the frame keeps the
/// references the translator declared (`declare_value_needs_stack_map`)
/// that are live across each call.
fn stack_maps(
    buffer: &cranelift_codegen::MachBufferFinalized<cranelift_codegen::Final>,
) -> Result<Vec<StackMapSite>, CompileError> {
    let mut sites = Vec::with_capacity(buffer.user_stack_maps().len());
    for (ret_addr, frame_size, map) in buffer.user_stack_maps() {
        let mut slots = Vec::new();
        for (ty, offset) in map.entries() {
            if ty != crate::abi::POINTER {
                return Err(CompileError::Codegen(format!(
                    "a stack map entry of type {ty}, not a pointer"
                )));
            }
            slots.push(offset);
        }
        if slots.is_empty() {
            continue;
        }
        slots.sort_unstable();
        sites.push(StackMapSite {
            ret_addr: *ret_addr,
            frame_size: *frame_size,
            slots,
        });
    }
    Ok(sites)
}

/// The call sites of `buffer` that have exception handlers (the
/// `try_call`s inside `try_table`s), in the shared vocabulary. The
/// translator gives every such call the caller's vmctx as its dynamic
/// context first, then tags that are the module's tag indices.
fn exception_sites(
    buffer: &cranelift_codegen::MachBufferFinalized<cranelift_codegen::Final>,
) -> Result<Vec<ExceptionSite>, CompileError> {
    let mut sites = Vec::new();
    for site in buffer.call_sites() {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let frame_offset = site.frame_offset.ok_or_else(|| {
            CompileError::Codegen("a call site with handlers has no frame offset".into())
        })?;
        let mut vmctx_sp_offset = None;
        let mut handlers = Vec::new();
        for h in site.exception_handlers {
            match *h {
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(off)) => {
                    vmctx_sp_offset = Some(off);
                }
                FinalizedMachExceptionHandler::Context(other) => {
                    return Err(CompileError::Codegen(format!(
                        "exception context in {other:?}, not on the stack"
                    )));
                }
                FinalizedMachExceptionHandler::Tag(tag, target) => {
                    handlers.push(ExceptionHandler {
                        tag: Some(TagIndex::from_u32(tag.as_u32())),
                        target,
                    })
                }
                FinalizedMachExceptionHandler::Default(target) => {
                    handlers.push(ExceptionHandler { tag: None, target })
                }
            }
        }
        let vmctx_sp_offset = vmctx_sp_offset.ok_or_else(|| {
            CompileError::Codegen("a call site with handlers has no vmctx context".into())
        })?;
        sites.push(ExceptionSite {
            ret_addr: site.ret_addr,
            frame_offset,
            vmctx_sp_offset,
            handlers,
        });
    }
    Ok(sites)
}

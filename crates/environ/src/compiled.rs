//! The output of a compiler, backend-neutral: each unit as a
//! [`CompiledBody`] (code, traps, address map, relocations still to
//! patch), and the linked [`CompiledModule`]: one text section of machine
//! code with the metadata the runtime needs to load and run it. Calls
//! between functions of the module are already resolved there; only the
//! relocations listed in it remain, for the loader.

use cranelift_entity::PrimaryMap;

use crate::address_map::AddressMap;
use crate::entity::{DefinedFuncIndex, EntityRef, TypeIndex};
use crate::exception_table::{ExceptionSite, ExceptionTable};
use crate::inline_map::{InlineMap, InlinedRange};
use crate::stack_maps::{StackMapSite, StackMaps};
use crate::trap::Trap;
use crate::trap_table::TrapTable;

/// A range of the text section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunctionLoc {
    /// Offset of the first byte in the text section.
    pub start: u32,
    /// Length in bytes.
    pub length: u32,
}

/// A float operation the code generator may call out to when the CPU lacks
/// an instruction for it (for example rounding without SSE4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatLibcall {
    /// `f32` ceiling.
    CeilF32,
    /// `f64` ceiling.
    CeilF64,
    /// `f32` floor.
    FloorF32,
    /// `f64` floor.
    FloorF64,
    /// `f32` truncation.
    TruncF32,
    /// `f64` truncation.
    TruncF64,
    /// `f32` round to nearest, ties to even.
    NearestF32,
    /// `f64` round to nearest, ties to even.
    NearestF64,
    /// `f32` fused multiply-add.
    FmaF32,
    /// `f64` fused multiply-add.
    FmaF64,
}

impl FloatLibcall {
    /// Every float libcall.
    pub const ALL: &'static [FloatLibcall] = &[
        FloatLibcall::CeilF32,
        FloatLibcall::CeilF64,
        FloatLibcall::FloorF32,
        FloatLibcall::FloorF64,
        FloatLibcall::TruncF32,
        FloatLibcall::TruncF64,
        FloatLibcall::NearestF32,
        FloatLibcall::NearestF64,
        FloatLibcall::FmaF32,
        FloatLibcall::FmaF64,
    ];
}

/// An absolute 8-byte relocation the loader must patch with the address of
/// `target` plus `addend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// Offset in the text section of the 8 bytes to patch.
    pub offset: u32,
    /// What the address is of.
    pub target: FloatLibcall,
    /// Added to the address.
    pub addend: i64,
}

/// How a relocation is patched, named by what the instruction encodes
/// (not by any backend's enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocationKind {
    /// x86-64: a 32-bit displacement relative to the end of the field
    /// (`call rel32`; the addend carries the -4).
    X86PcRel4,
    /// Arm64: the 26-bit word offset of a `bl`/`b` instruction, relative
    /// to the instruction.
    Arm64Call26,
    /// An absolute 64-bit address.
    Abs8,
}

/// What a relocation in a body refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocationTarget {
    /// The start of a defined function of the same module.
    Function(DefinedFuncIndex),
    /// A float libcall, left for the loader.
    FloatLibcall(FloatLibcall),
    /// The call adapter of a type of the module's type section
    /// ([`CompileJob::CallAdapter`](crate::CompileJob::CallAdapter)).
    CallAdapter(TypeIndex),
}

/// A relocation inside one [`CompiledBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRelocation {
    /// Offset of the patched field from the body's start.
    pub offset: u32,
    /// How the field is patched.
    pub kind: RelocationKind,
    /// What it refers to.
    pub target: RelocationTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// The machine code of one function or trampoline, before layout.
#[derive(Debug, Clone, Default)]
pub struct CompiledBody {
    /// The code.
    pub code: Vec<u8>,
    /// Alignment its start needs, in bytes.
    pub alignment: u32,
    /// Fields to patch once the body has an address.
    pub relocations: Vec<BodyRelocation>,
    /// Instructions that may trap, as (offset in the body, trap), sorted.
    pub traps: Vec<(u32, Trap)>,
    /// (offset in the body, Wasm byte offset in the module), sorted by
    /// code offset, for backtraces.
    pub address_map: Vec<(u32, u32)>,
    /// Where other functions' bodies were inlined, for backtraces.
    pub inlined: Vec<InlinedRange>,
    /// Call sites with exception handlers, offsets in the body.
    pub exception_sites: Vec<ExceptionSite>,
    /// Call sites whose frame keeps GC references, offsets in the body.
    pub stack_maps: Vec<StackMapSite>,
    /// See [`CompiledFunction::guard_page_faults`].
    pub guard_page_faults: bool,
}

/// One compiled WebAssembly function.
#[derive(Debug, Clone, Default)]
pub struct CompiledFunction {
    /// Where its code is.
    pub loc: FunctionLoc,
    /// Which Wasm instruction each offset from the function's start came
    /// from, for backtraces.
    pub address_map: AddressMap,
    /// Which ranges of its code are calls inlined, for backtraces (empty
    /// but for the LLVM tier's code).
    pub inline_map: InlineMap,
    /// Whether a memory fault anywhere in the function's code, away from
    /// its stack, is an access of linear memory caught by its guard
    /// pages (`Trap::MemoryOutOfBounds`). Code whose accesses are not
    /// each in the trap table says so (the LLVM tier's: LLVM keeps no
    /// record of which instruction a load became).
    pub guard_page_faults: bool,
}

/// A compiled module.
#[derive(Debug, Clone, Default)]
pub struct CompiledModule {
    /// Machine code of every function and trampoline.
    pub text: Vec<u8>,
    /// Each defined function.
    pub functions: PrimaryMap<DefinedFuncIndex, CompiledFunction>,
    /// Array-call entry trampoline of each defined function that escapes
    /// (`ModuleInfo::escaping_funcs`), indexed by defined-function index.
    pub array_to_wasm_trampolines: PrimaryMap<DefinedFuncIndex, Option<FunctionLoc>>,
    /// Wasm-to-array trampoline of each type of the type section, used to
    /// call host functions with the Wasm calling convention.
    pub wasm_to_array_trampolines: PrimaryMap<TypeIndex, FunctionLoc>,
    /// The call adapters the code calls through, in text order. Their
    /// frames lie between Wasm frames: frame walks pass them, backtraces
    /// leave them out.
    pub call_adapters: Vec<FunctionLoc>,
    /// Instructions that may trap, by offset in the text.
    pub traps: TrapTable,
    /// Call sites with exception handlers, by return address in the text.
    pub exceptions: ExceptionTable,
    /// Call sites whose frame keeps GC references, by return address in
    /// the text.
    pub stack_maps: StackMaps,
    /// Relocations left for the loader.
    pub relocations: Vec<Relocation>,
}

impl CompiledModule {
    /// The trap recorded at exactly `offset` in the text section.
    pub fn trap_at(&self, offset: u32) -> Option<Trap> {
        self.traps.lookup(offset)
    }

    /// Whether `offset` lies in a call adapter's code.
    pub fn is_call_adapter_at(&self, offset: u32) -> bool {
        let i = self.call_adapters.partition_point(|a| a.start <= offset);
        i.checked_sub(1)
            .and_then(|i| self.call_adapters.get(i))
            .is_some_and(|a| offset < a.start + a.length)
    }

    /// The defined function whose code contains `offset`.
    pub fn function_at(&self, offset: u32) -> Option<DefinedFuncIndex> {
        let functions = self.functions.as_values_slice();
        let i = functions.partition_point(|f| f.loc.start <= offset);
        let f = functions.get(i.checked_sub(1)?)?;
        (offset < f.loc.start + f.loc.length).then_some(DefinedFuncIndex::new(i - 1))
    }
}

//! The compiler seam: what any code generator (Cranelift today, LLVM or a
//! baseline tier later) implements so that the engine, the loader and the
//! artifact format never depend on which one made the code.
//!
//! A backend compiles one unit at a time into a [`CompiledBody`] (machine
//! code, its traps, its address map and the relocations it still needs);
//! [`link`](crate::link) lays bodies out into one text section and resolves
//! the calls between them, the same way for every backend. Compiling a
//! whole module is "every [`CompileJob`] of the module, then link", which
//! the trait provides; a backend may override it to compile in parallel.
//! Lazy compilation and a second tier call
//! [`Compiler::compile_function`] for one function later.

use std::fmt;

use crate::compiled::{CompiledBody, CompiledModule};
use crate::entity::{DefinedFuncIndex, EntityRef, TypeIndex};
use crate::error::CompileError;
use crate::module::ModuleInfo;
use crate::tunables::Tunables;
use crate::types::{FuncType, SubType};
use crate::vmoffsets::VMOffsets;

/// The instruction-set architectures the loader can link code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// x86-64.
    X86_64,
    /// 64-bit Arm.
    Aarch64,
}

impl Architecture {
    /// The architecture of the host Hayate was built for, if supported.
    pub const fn host() -> Option<Architecture> {
        if cfg!(target_arch = "x86_64") {
            Some(Architecture::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Architecture::Aarch64)
        } else {
            None
        }
    }

    /// Bytes that fill the gaps between bodies: never executed, and a trap
    /// if they ever were (`int3` on x86-64; zero words are permanently
    /// undefined instructions on Arm).
    pub const fn padding_byte(self) -> u8 {
        match self {
            Architecture::X86_64 => 0xcc,
            Architecture::Aarch64 => 0x00,
        }
    }
}

/// What code is generated for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub triple: String,
    /// Its architecture, which decides how relocations are patched.
    pub architecture: Architecture,
}

/// A module as a compiler sees it: its description, its bytes (function
/// bodies are ranges of them) and its VMContext layout, computed once for
/// all of its functions.
pub struct ModuleInput<'a> {
    /// The validated module.
    pub info: &'a ModuleInfo,
    /// The module's bytes.
    pub wasm: &'a [u8],
    /// The layout of its instances' VMContext.
    pub offsets: VMOffsets,
    /// Functions are compiled one at a time on first call (lazy
    /// compilation, which `Tunables::lazy_compilation` allows): calls
    /// between the module's functions go through the per-function entries
    /// of `VMOffsets::lazy_entries` instead of direct calls.
    pub lazy_calls: bool,
}

impl<'a> ModuleInput<'a> {
    /// The input for `info`, parsed from `wasm`, compiled all at once.
    pub fn new(info: &'a ModuleInfo, wasm: &'a [u8]) -> ModuleInput<'a> {
        ModuleInput {
            info,
            wasm,
            offsets: VMOffsets::new(info),
            lazy_calls: false,
        }
    }

    /// Function type `index` of the module: what a job naming a type
    /// that must be a function type (a call adapter's) compiles for.
    pub fn function_type(&self, index: TypeIndex) -> Result<&'a FuncType, CompileError> {
        self.info
            .types
            .get(index)
            .and_then(|t| t.as_func())
            .ok_or_else(|| CompileError::Codegen(format!("no function type {}", index.index())))
    }

    /// The input for `info`, parsed from `wasm`, whose functions are
    /// compiled one at a time (see [`ModuleInput::lazy_calls`]).
    pub fn lazy(info: &'a ModuleInfo, wasm: &'a [u8]) -> ModuleInput<'a> {
        ModuleInput {
            lazy_calls: true,
            ..ModuleInput::new(info, wasm)
        }
    }
}

/// One unit of compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileJob {
    /// A defined function's body.
    Function(DefinedFuncIndex),
    /// The array-to-wasm entry trampoline of a defined function.
    ArrayToWasm(DefinedFuncIndex),
    /// The wasm-to-array trampoline of a type of the module's type section.
    WasmToArray(TypeIndex),
    /// The call adapter of a function type of the module's type section
    /// (see [`Compiler::compile_call_adapter`]). Not a job of every
    /// module: a backend that calls through adapters adds the ones its
    /// code refers to, after the jobs of [`CompileJob::for_module`].
    CallAdapter(TypeIndex),
}

impl CompileJob {
    /// Every job of a module, in text-section order: each defined
    /// function, the entry trampoline of each escaping one, and a
    /// wasm-to-array trampoline per type.
    pub fn for_module(info: &ModuleInfo) -> Vec<CompileJob> {
        let defined = (0..info.num_defined_funcs() as usize).map(DefinedFuncIndex::new);
        let mut jobs: Vec<CompileJob> = defined.clone().map(CompileJob::Function).collect();
        jobs.extend(
            defined
                .filter(|d| info.is_escaping(*d))
                .map(CompileJob::ArrayToWasm),
        );
        jobs.extend((0..info.types.len()).map(|t| CompileJob::WasmToArray(TypeIndex::new(t))));
        jobs
    }
}

/// A code generator. `Send + Sync`: one serves many compilations at once.
pub trait Compiler: Send + Sync + fmt::Debug {
    /// What the code is for.
    fn target(&self) -> &Target;

    /// The settings the code depends on, which the artifact header records.
    fn tunables(&self) -> &Tunables;

    /// The CPU features the code may use, as `(flag, value)` pairs, so that
    /// a loader without a compiler can check them against its host.
    fn isa_flags(&self) -> Vec<(String, String)>;

    /// Text naming the backend and its version, the target, its CPU
    /// features and every code-generator setting. Code made under a
    /// different fingerprint must not be loaded.
    fn fingerprint(&self) -> String;

    /// Compiles defined function `index` of `module`.
    fn compile_function(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError>;

    /// Compiles the array-to-wasm entry trampoline of defined function
    /// `index`: how the host (and host-facing funcrefs) call it.
    fn compile_array_to_wasm(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError>;

    /// Compiles the wasm-to-array trampoline of `ty`: how Wasm calls a host
    /// function of that type.
    fn compile_wasm_to_array(
        &self,
        offsets: &VMOffsets,
        ty: &FuncType,
    ) -> Result<CompiledBody, CompileError>;

    /// Compiles the call adapter of `ty`, for code that cannot make a
    /// Wasm-convention call of that signature itself:
    /// `extern "C" (callee_vmctx, caller_vmctx, values, code)` loads the
    /// arguments from `values` (16 bytes each, as the array convention
    /// lays them out), calls `code` in the Wasm convention, and stores
    /// the results back into `values`. It neither enters nor leaves Wasm
    /// as far as the runtime is concerned: a trap or an exception below
    /// it unwinds through its frame, which backtraces leave out.
    fn compile_call_adapter(&self, ty: &FuncType) -> Result<CompiledBody, CompileError>;

    /// Compiles one job of `module`.
    fn compile_job(
        &self,
        module: &ModuleInput<'_>,
        job: CompileJob,
    ) -> Result<CompiledBody, CompileError> {
        match job {
            CompileJob::Function(index) => self.compile_function(module, index),
            CompileJob::ArrayToWasm(index) => self.compile_array_to_wasm(module, index),
            CompileJob::WasmToArray(index) => {
                let ty =
                    module.info.types.get(index).ok_or_else(|| {
                        CompileError::Codegen(format!("no type {}", index.index()))
                    })?;
                match ty.as_func() {
                    Some(ty) => self.compile_wasm_to_array(&module.offsets, ty),
                    // Structure and array types have no trampoline: an
                    // empty body keeps one entry per type.
                    None => Ok(CompiledBody::default()),
                }
            }
            CompileJob::CallAdapter(index) => {
                self.compile_call_adapter(module.function_type(index)?)
            }
        }
    }

    /// Compiles every job of `module` ([`CompileJob::for_module`]) and
    /// links them. Runs the jobs one after another; backends override it
    /// to use several threads.
    fn compile_module(&self, module: &ModuleInput<'_>) -> Result<CompiledModule, CompileError> {
        let jobs = CompileJob::for_module(module.info);
        let bodies = jobs
            .iter()
            .map(|job| self.compile_job(module, *job))
            .collect::<Result<Vec<_>, _>>()?;
        crate::link::link(self.target().architecture, &jobs, bodies)
    }

    /// Like [`Compiler::compile_module`], on at most `threads` threads
    /// whatever the settings say (background compilation leaves the other
    /// cores to the code running meanwhile). The default runs the jobs one
    /// after another.
    fn compile_module_on(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<CompiledModule, CompileError> {
        let _ = threads;
        Compiler::compile_module(self, module)
    }

    /// Compiles only wasm-to-array trampolines, one per type, into
    /// `wasm_to_array_trampolines` (no functions): for host functions
    /// that enter tables without being imported by a module.
    fn compile_trampolines(&self, types: &[FuncType]) -> Result<CompiledModule, CompileError> {
        let info = ModuleInfo {
            types: types.iter().cloned().map(SubType::func).collect(),
            rec_groups: (0..types.len()).map(TypeIndex::new).collect(),
            ..ModuleInfo::default()
        };
        self.compile_module(&ModuleInput::new(&info, &[]))
    }
}

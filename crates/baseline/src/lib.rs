//! Hayate's baseline compiler: WebAssembly to x86-64 in one pass over each
//! function, for the first tier of lazy compilation, where a function runs
//! a few times before the optimised code of the whole module replaces it.
//!
//! It compiles about a hundred times faster than Cranelift (no IR, no
//! register allocation: operands live in frame slots, see `func.rs`) and
//! produces code that runs a few times slower. Its code is a drop-in for
//! Cranelift's: the same `tail` calling convention (so either calls the
//! other), VMContext layout, builtins, trap table, address map and frame
//! pointers, so the runtime cannot tell them apart.
//!
//! What it does not handle it declines, function by function, to a
//! fallback compiler (Cranelift), which also compiles every trampoline:
//! float `min`/`max`, rounding and conversions to integers, SIMD,
//! references and tables beyond `call_indirect`, bulk memory, memories
//! other than a 32-bit memory 0, explicit bounds checks, fuel and epochs,
//! and functions returning more values than there are result registers.
//! The instructions are encoded by `cranelift-assembler-x64`.

#![forbid(unsafe_code)]

mod asm;
mod call;
mod control;
mod float;
mod func;
mod memory;
mod numeric;

use hayate_environ::{
    Architecture, CompileError, CompiledBody, Compiler, DefinedFuncIndex, FuncType, ModuleInput,
    Target, Tunables, VMOffsets, WasmError,
};

pub(crate) fn wasm_err(e: hayate_environ::wasmparser::BinaryReaderError) -> CompileError {
    CompileError::Wasm(WasmError::from(e))
}

/// The baseline compiler, with the compiler it hands everything else to.
#[derive(Debug)]
pub struct BaselineCompiler {
    fallback: Box<dyn Compiler>,
    has_bit_counts: bool,
}

impl BaselineCompiler {
    /// A baseline compiler for the host, declining to `fallback`, whose
    /// target and settings it shares; `fallback` back if the host is not
    /// x86-64.
    pub fn new(fallback: Box<dyn Compiler>) -> Result<BaselineCompiler, Box<dyn Compiler>> {
        if fallback.target().architecture != Architecture::X86_64
            || Architecture::host() != Some(Architecture::X86_64)
        {
            return Err(fallback);
        }
        Ok(BaselineCompiler {
            fallback,
            has_bit_counts: host_has_bit_counts(),
        })
    }

    /// The compiler that compiles what this one declines, and every
    /// trampoline.
    pub fn fallback(&self) -> &dyn Compiler {
        &*self.fallback
    }

    /// Compiles defined function `index`, with the fallback if this
    /// compiler declines it; and whether this compiler took it.
    pub fn compile_or_fall_back(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<(CompiledBody, bool), CompileError> {
        match self.compile_baseline(module, index) {
            Err(CompileError::Unsupported(_)) => self
                .fallback
                .compile_function(module, index)
                .map(|body| (body, false)),
            other => other.map(|body| (body, true)),
        }
    }

    /// Compiles defined function `index` with this compiler only, or
    /// says why it declines (for tests and statistics).
    pub fn compile_baseline(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        func::FuncCompiler::compile(module, index, self.tunables(), self.has_bit_counts)
    }
}

#[cfg(target_arch = "x86_64")]
fn host_has_bit_counts() -> bool {
    std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("popcnt")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_bit_counts() -> bool {
    false
}

impl Compiler for BaselineCompiler {
    fn target(&self) -> &Target {
        self.fallback.target()
    }

    fn tunables(&self) -> &Tunables {
        self.fallback.tunables()
    }

    fn isa_flags(&self) -> Vec<(String, String)> {
        self.fallback.isa_flags()
    }

    fn fingerprint(&self) -> String {
        format!("hayate-baseline 1 over {}", self.fallback.fingerprint())
    }

    fn compile_function(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.compile_or_fall_back(module, index)
            .map(|(body, _)| body)
    }

    fn compile_array_to_wasm(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_array_to_wasm(module, index)
    }

    fn compile_wasm_to_array(
        &self,
        offsets: &VMOffsets,
        ty: &FuncType,
    ) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_wasm_to_array(offsets, ty)
    }

    fn compile_call_adapter(&self, ty: &FuncType) -> Result<CompiledBody, CompileError> {
        self.fallback.compile_call_adapter(ty)
    }
}

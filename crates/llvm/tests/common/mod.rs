//! What the LLVM tier's integration tests share: compiling a module with
//! the tier in this process (not through the engine's child process) to
//! read its statistics.

use hayate_environ::{ModuleInfo, ModuleInput, features_for};
use hayate_llvm::{LlvmCompiler, LlvmModuleStats};

/// Compiles `wasm` with the LLVM tier (Cranelift behind it) in this
/// process: which functions LLVM took, and why it declined the others.
pub fn llvm_stats(wasm: &[u8]) -> LlvmModuleStats {
    let info = ModuleInfo::parse(wasm, features_for(None)).expect("a valid module");
    let cranelift =
        hayate_cranelift::Compiler::new(hayate_cranelift::CompilerSettings::default()).unwrap();
    let llvm = LlvmCompiler::new(Box::new(cranelift)).expect("an x86-64 host");
    let (_, stats) = llvm
        .compile_module_with_stats(&ModuleInput::new(&info, wasm))
        .expect("compiles");
    stats
}

//! Compiles a `.wasm` file and prints how long it took and how big the
//! result is: `cargo run --release -p hayate-cranelift --example
//! compile_file -- FILE [serial]`.

use hayate_cranelift::{Compiler, CompilerSettings};
use hayate_environ::{Compiler as _, ModuleInfo, ModuleInput, features_for};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: compile_file FILE [serial]")?;
    let parallel = args.next().as_deref() != Some("serial");
    let wasm = std::fs::read(&path)?;

    let start = std::time::Instant::now();
    let info = ModuleInfo::parse(&wasm, features_for(None))?;
    println!(
        "decode + validate: {:?} ({} functions)",
        start.elapsed(),
        info.num_defined_funcs()
    );

    let settings = CompilerSettings {
        parallel,
        verifier: false,
        ..Default::default()
    };
    let compiler = Compiler::new(settings)?;
    let start = std::time::Instant::now();
    let module = compiler.compile_module(&ModuleInput::new(&info, &wasm))?;
    println!(
        "compile: {:?} ({} bytes of code, {} trap sites, {} relocations)",
        start.elapsed(),
        module.text.len(),
        module.traps.len(),
        module.relocations.len()
    );
    Ok(())
}

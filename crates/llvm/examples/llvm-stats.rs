//! Which functions of a module the LLVM tier compiles, why it declines
//! the others, and how large the code and its backtrace maps are:
//!
//! ```sh
//! cargo run --release -p hayate-llvm --example llvm-stats -- app.wasm [-v]
//! ```
//!
//! `-v` also names each declined function and its reason.

use std::collections::BTreeMap;

use hayate_environ::{ModuleInfo, ModuleInput, features_for};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: llvm-stats FILE.wasm");
    let verbose = std::env::args().nth(2).is_some_and(|a| a == "-v");
    let wasm = std::fs::read(&path).expect("readable module");
    let info = ModuleInfo::parse(&wasm, features_for(None)).expect("valid module");
    let cranelift =
        hayate_cranelift::Compiler::new(hayate_cranelift::CompilerSettings::default()).unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let llvm = hayate_llvm::LlvmCompiler::new(Box::new(cranelift))
        .expect("an x86-64 host")
        .with_threads(threads);
    let start = std::time::Instant::now();
    let (compiled, stats) = llvm
        .compile_module_with_stats(&ModuleInput::new(&info, &wasm))
        .expect("compiles");
    println!(
        "{path}: {} functions by LLVM ({} of them copies beside Cranelift's entry) in {} partitions, {} declined, {} call_indirect sites dispatching to direct calls, in {:.2?} on {threads} threads",
        stats.compiled,
        stats.copies.len(),
        stats.partitions,
        stats.declined,
        stats.dispatching_call_sites,
        start.elapsed()
    );
    let maps = |f: &hayate_environ::CompiledFunction| {
        (
            f.address_map.as_bytes().len(),
            f.inline_map.as_bytes().len(),
        )
    };
    let (address_maps, inline_maps) = compiled
        .functions
        .values()
        .map(maps)
        .fold((0, 0), |(a, i), (fa, fi)| (a + fa, i + fi));
    let ranges: usize = compiled
        .functions
        .values()
        .map(|f| f.inline_map.iter().count())
        .sum();
    println!(
        "  text {} bytes; address maps {address_maps} bytes; inline maps {inline_maps} bytes ({ranges} inlined ranges)",
        compiled.text.len()
    );
    let mut why: BTreeMap<String, usize> = BTreeMap::new();
    for (index, reason) in &stats.reasons {
        if verbose {
            let func = info.func_index(*index);
            println!("  {}: {reason}", info.func_display_name(func));
        }
        // Operators print with their immediates; count by name.
        let key = reason
            .split(['{', '('])
            .next()
            .unwrap_or(reason)
            .trim()
            .to_string();
        *why.entry(key).or_default() += 1;
    }
    for (reason, count) in why {
        println!("  {count:5}  {reason}");
    }
}

//! The tier differential: `wasm-smith` modules under the LLVM tier and
//! under Cranelift, with the same bounds checks, every result, trap,
//! memory, global and table compared. A disagreement writes the module to
//! `tiers-mismatch.wasm` (in the current directory) and panics with both
//! sides and the module text. Needs Hayate's `llvm` feature (the fuzz
//! crate's `llvm` feature); without it both sides are Cranelift.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(mismatch) = hayate_fuzzing::oracles::tiers(data) {
        let _ = std::fs::write("tiers-mismatch.wasm", &mismatch.wasm);
        panic!("{mismatch}");
    }
});

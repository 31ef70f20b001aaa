//! Differential execution: `wasm-smith` modules under Hayate and under the
//! `wasmi` interpreter, every result, trap, memory, global and table
//! compared. A disagreement writes the module to `differential-mismatch.wasm`
//! (in the current directory) and panics with both sides and the module text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(mismatch) = hayate_fuzzing::oracles::differential(data) {
        let _ = std::fs::write("differential-mismatch.wasm", &mismatch.wasm);
        panic!("{mismatch}");
    }
});

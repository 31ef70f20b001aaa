//! `wasm-smith` modules (any configuration within Hayate's features) are
//! compiled, instantiated with dummy imports and their exports called:
//! traps are fine, panics and crashes are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hayate_fuzzing::oracles::instantiate(data);
});

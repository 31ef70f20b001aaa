//! Arbitrary bytes (binary or text) into `Module::new`: only `Ok` or an
//! error, never a panic or a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hayate_fuzzing::oracles::compile(data);
});

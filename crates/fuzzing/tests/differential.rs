//! The deterministic differential test: a few hundred seeded `wasm-smith`
//! modules run under Hayate and under the `wasmi` oracle, every result, trap,
//! memory, global and table compared. Run it alone with
//! `cargo test -p hayate-fuzzing differential`.
//!
//! Environment:
//! - `HAYATE_DIFF_SEEDS=N` runs N seeds instead of the default.
//! - `HAYATE_DIFF_FIRST_SEED=S` starts at seed S (to reproduce one seed:
//!   `HAYATE_DIFF_FIRST_SEED=S HAYATE_DIFF_SEEDS=1`).

use std::time::Instant;

use hayate_fuzzing::oracles::{self, DiffStats};
use hayate_fuzzing::seeded_input;

/// Seeds run by default: enough to cover every generator path many times,
/// few enough to finish in seconds in the debug test profile.
const DEFAULT_SEEDS: u64 = 300;

/// Seeds that find a known, reported engine bug, with its regression test.
/// A seed leaves this list when the bug is fixed.
const KNOWN_FAILING: &[(u64, &str)] = &[];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The input size for `seed`: from a few hundred bytes (tiny modules, many
/// defaults) to 16 KiB (dozens of functions).
fn input_len(seed: u64) -> usize {
    256 + (seed.wrapping_mul(0x9e37_79b9) % (16 << 10)) as usize
}

#[test]
fn differential_seeded_modules() {
    let first = env_u64("HAYATE_DIFF_FIRST_SEED", 0);
    let count = env_u64("HAYATE_DIFF_SEEDS", DEFAULT_SEEDS);
    let start = Instant::now();
    let mut total = DiffStats::default();
    let mut failures = Vec::new();
    for seed in first..first + count {
        let input = seeded_input(seed, input_len(seed));
        match oracles::differential(&input) {
            Ok(Some(stats)) => total.add(&stats),
            Ok(None) => {}
            Err(mismatch) => {
                if let Some((_, why)) = KNOWN_FAILING.iter().find(|(s, _)| *s == seed) {
                    eprintln!("seed {seed}: known failure ({why})");
                    continue;
                }
                let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential");
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("seed-{seed}.wasm"));
                let _ = std::fs::write(&path, &mismatch.wasm);
                eprintln!(
                    "seed {seed}: {} (module saved to {})",
                    mismatch.message,
                    path.display()
                );
                failures.push(seed);
            }
        }
    }
    eprintln!(
        "differential: {count} seeds in {:.1?}: {total:?}\ntraps: {:?}",
        start.elapsed(),
        total.traps()
    );
    assert!(
        failures.is_empty(),
        "Hayate and wasmi disagree on seeds {failures:?}"
    );
    // The oracle must actually have compared something: most seeds make a
    // module that instantiates and has functions to call.
    if count >= 100 {
        assert!(
            total.modules * 10 >= count * 9,
            "too few modules: {total:?}"
        );
        assert!(
            total.instantiated * 2 >= total.modules,
            "too few instances: {total:?}"
        );
        assert!(total.calls >= count, "too few calls: {total:?}");
    }
}

#[test]
fn instantiate_seeded_modules_never_crash() {
    // The crash oracle with `wasm-smith`'s full (Hayate-supported) range of
    // configurations: huge memories and tables, imports, start functions.
    for seed in 0..env_u64("HAYATE_INSTANTIATE_SEEDS", 40) {
        let input = seeded_input(seed ^ 0x5eed, input_len(seed));
        oracles::instantiate(&input);
    }
}

#[test]
fn compile_seeded_bytes_never_crash() {
    // Random bytes behind a valid header, and mutations of a valid module.
    let valid = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32)
             local.get 0 i32.const 1 i32.add) (data (i32.const 0) "hi"))"#,
    )
    .unwrap();
    for seed in 0..200u64 {
        let mut bytes = seeded_input(seed, 64);
        let mut data = b"\0asm\x01\0\0\0".to_vec();
        data.append(&mut bytes);
        oracles::compile(&data);
        let mut mutated = valid.clone();
        let noise = seeded_input(seed ^ 0xabcd, 8);
        for pair in noise.chunks(2) {
            let at = 8 + pair[0] as usize % (mutated.len() - 8);
            mutated[at] = pair[1];
        }
        oracles::compile(&mutated);
    }
}

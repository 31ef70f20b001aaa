//! The deterministic tier differential: seeded `wasm-smith` modules under
//! the LLVM tier and under Cranelift, every result, trap, memory, global
//! and table compared. Run it alone with `cargo test -p hayate-fuzzing
//! --features llvm --test tiers`.
//!
//! Environment: `HAYATE_TIER_SEEDS=N` runs N seeds instead of the default,
//! `HAYATE_TIER_FIRST_SEED=S` starts at seed S; with `HAYATE_REQUIRE_LLVM`
//! set, a build without the LLVM tier fails instead of comparing
//! Cranelift with itself.

use hayate::{Config, Engine, Strategy};
use hayate_fuzzing::oracles::{self, DiffStats};
use hayate_fuzzing::seeded_input;

/// Each seed compiles a module with LLVM (in a child process): fewer
/// than the `wasmi` differential runs.
const DEFAULT_SEEDS: u64 = 400;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn tiers_agree_on_seeded_modules() {
    let llvm = Engine::new(Config::new().strategy(Strategy::Llvm)).is_ok();
    if !llvm {
        assert!(
            std::env::var_os("HAYATE_REQUIRE_LLVM").is_none(),
            "HAYATE_REQUIRE_LLVM is set but this build has no LLVM tier"
        );
        eprintln!("skipped: no LLVM tier in this build");
        return;
    }
    let first = env_u64("HAYATE_TIER_FIRST_SEED", 0);
    let count = env_u64("HAYATE_TIER_SEEDS", DEFAULT_SEEDS);
    let mut total = DiffStats::default();
    let mut failures = Vec::new();
    for seed in first..first + count {
        // The same input sizes as the `wasmi` differential, other seeds.
        let len = 256 + (seed.wrapping_mul(0x9e37_79b9) % (16 << 10)) as usize;
        let input = seeded_input(seed ^ 0x7469_6572, len);
        match oracles::tiers(&input) {
            Ok(Some(stats)) => total.add(&stats),
            Ok(None) => {}
            Err(mismatch) => {
                let path = std::env::temp_dir().join(format!("hayate-tiers-{seed}.wasm"));
                let written = std::fs::write(&path, &mismatch.wasm).is_ok();
                eprintln!("seed {seed}: {}", mismatch.message);
                if written {
                    eprintln!("  the module: {}", path.display());
                }
                failures.push(seed);
            }
        }
    }
    eprintln!("{total:?}");
    assert!(
        failures.is_empty(),
        "LLVM and Cranelift disagree on seeds {failures:?}"
    );
    assert!(total.calls > 0, "no call compared: {total:?}");
}

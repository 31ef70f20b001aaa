//! The ways code gets compiled, for tests that must hold in each: eagerly;
//! lazily with Cranelift as the first tier; lazily with the baseline
//! compiler first (which leaves to Cranelift what it declines), compiling
//! on the calling thread so that each run is deterministic.

use hayate::Config;

/// Eager, lazy (Cranelift first tier) and lazy with the baseline compiler.
pub fn compilation_modes() -> Vec<(&'static str, Config)> {
    vec![
        ("eager", Config::new()),
        ("lazy", lazy()),
        ("baseline", baseline()),
    ]
}

/// Lazy compilation with Cranelift as the first tier.
pub fn lazy() -> Config {
    let mut config = Config::new();
    config.lazy_compilation(true).baseline_compilation(false);
    config
}

/// Lazy compilation with the baseline compiler first, on the calling thread.
pub fn baseline() -> Config {
    let mut config = Config::new();
    config
        .lazy_compilation(true)
        .baseline_compilation(true)
        .background_compilation(false);
    config
}

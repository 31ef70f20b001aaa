//! The criterion microbenchmarks (`benches/micro.rs`), by group name, with
//! what each measures; shared with the report that reads their results.

/// (criterion group, description); each group has a `hayate` and a
/// `wasmtime` benchmark.
pub const GROUPS: &[(&str, &str)] = &[
    (
        "instantiate",
        "instantiate a module with 1 MiB of data segments and a 10,000-entry table (new store each time)",
    ),
    (
        "instantiate_pooling",
        "the same instantiation with each runtime's pooling instance allocator (default pool settings)",
    ),
    (
        "call_empty",
        "call an empty exported function from the host (typed)",
    ),
    (
        "host_call",
        "call a host function from Wasm (per call, in a Wasm loop)",
    ),
    (
        "memory_grow",
        "`memory.grow` by one page (per grow, in a Wasm loop)",
    ),
];

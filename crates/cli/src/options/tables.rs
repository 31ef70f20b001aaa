//! The keys of `-W`, `-O` and `-C`: every key Wasmtime 49's `run` knows,
//! with what Hayate does with it. Keys Hayate honours are handled in
//! `options.rs`; the others carry the reason they are refused.

use super::keys::{Group, flag, off_only, refused, valued};

const NOT_IMPLEMENTED: &str = "this proposal is not implemented by Hayate yet";
const NO_COMPONENTS: &str = "the component model is not implemented by Hayate yet";
const NO_ASYNC: &str = "Hayate has no async support";
const NO_GC: &str = "Hayate has no GC heap (the GC proposal is not implemented)";
const DEPRECATED: &str = "deprecated in Wasmtime; use `-O memory-reservation` and \
                          `-O memory-guard-size`";

/// `-W`: WebAssembly semantics and limits.
pub static WASM: Group = Group {
    flag: "-W",
    long: "wasm",
    summary: "WebAssembly semantics and limits, e.g. `-W fuel=N,timeout=2s`, `-W simd=n`, \
              `-W max-memory-size=64Mi`; `-W help` lists them all",
    what: "wasm",
    refused_prefixes: &[],
    keys: &[
        valued(
            "fuel",
            "N",
            "Run with N units of fuel; trap when it runs out.",
        ),
        valued(
            "timeout",
            "N|Ns|Nms|..",
            "Interrupt the guest after this much wall-clock time (1, 2s, 100ms, 1m).",
        ),
        flag(
            "epoch-interruption",
            "Compile in epoch checks (with `timeout`, they interrupt the guest).",
        ),
        valued(
            "max-wasm-stack",
            "N",
            "Most bytes of stack Wasm may use before it traps (64Ki, 1Mi, ...).",
        ),
        valued(
            "max-memory-size",
            "N",
            "Most bytes any linear memory may grow to.",
        ),
        valued(
            "max-table-elements",
            "N",
            "Most elements any table may grow to.",
        ),
        valued("max-instances", "N", "Most instances the store may create."),
        valued("max-tables", "N", "Most tables the store may create."),
        valued(
            "max-memories",
            "N",
            "Most linear memories the store may create.",
        ),
        flag(
            "all-proposals",
            "Every proposal below that Wasmtime's `all-proposals` covers (bulk-memory, \
             extended-const, memory64, multi-memory, multi-value, reference-types, relaxed-simd, simd, \
             tail-call); single keys override it.",
        ),
        flag("bulk-memory", "The bulk memory proposal (on by default)."),
        flag("multi-memory", "The multi-memory proposal (on by default)."),
        flag("multi-value", "The multi-value proposal (on by default)."),
        flag(
            "reference-types",
            "The reference types proposal (on by default).",
        ),
        flag("simd", "The 128-bit SIMD proposal (on by default)."),
        flag(
            "extended-const",
            "Extended constant expressions (on by default): `i32.add` and friends in initialisers.",
        ),
        flag(
            "memory64",
            "The memory64 proposal (on by default): 64-bit linear memories.",
        ),
        flag(
            "relaxed-simd",
            "The relaxed SIMD proposal (on by default), with the same results on every host.",
        ),
        flag(
            "relaxed-simd-deterministic",
            "Deterministic relaxed SIMD results: always the case in Hayate, whatever the value.",
        ),
        flag(
            "gc",
            "The GC proposal (on by default): structures, arrays, i31, casts.",
        ),
        flag(
            "exceptions",
            "The exception-handling proposal (on by default): `try_table`, `throw`, `exnref`.",
        ),
        flag(
            "function-references",
            "The typed function references proposal (on by default): `call_ref`, non-null references.",
        ),
        flag(
            "tail-call",
            "The tail-call proposal (on by default): `return_call`, `return_call_indirect`.",
        ),
        flag(
            "mutable-global",
            "Import/export of mutable globals (on by default; Hayate only).",
        ),
        flag(
            "sign-extension",
            "The sign-extension operators (on by default; Hayate only).",
        ),
        flag(
            "nontrapping-float-to-int",
            "The saturating float-to-int conversions (on by default; Hayate only).",
        ),
        flag(
            "unknown-exports-allow",
            "Allow exports a command does not need (always the case in Hayate).",
        ),
        off_only("threads", NOT_IMPLEMENTED),
        off_only("shared-memory", NOT_IMPLEMENTED),
        off_only("shared-everything-threads", NOT_IMPLEMENTED),
        off_only("stack-switching", NOT_IMPLEMENTED),
        off_only("gc-support", NO_GC),
        off_only("custom-page-sizes", NOT_IMPLEMENTED),
        off_only("wide-arithmetic", NOT_IMPLEMENTED),
        off_only("branch-hinting", NOT_IMPLEMENTED),
        off_only("component-model", NO_COMPONENTS),
        off_only("component-model-async", NO_COMPONENTS),
        off_only("component-model-more-async-builtins", NO_COMPONENTS),
        off_only("component-model-async-stackful", NO_COMPONENTS),
        off_only("component-model-threading", NO_COMPONENTS),
        off_only("component-model-error-context", NO_COMPONENTS),
        off_only("component-model-gc", NO_COMPONENTS),
        off_only("component-model-map", NO_COMPONENTS),
        off_only("component-model-memory64", NO_COMPONENTS),
        off_only("component-model-fixed-length-lists", NO_COMPONENTS),
        off_only("component-model-implements", NO_COMPONENTS),
        off_only("concurrency-support", NO_ASYNC),
        off_only(
            "nan-canonicalization",
            "NaN canonicalization is not supported by Hayate yet",
        ),
        off_only(
            "trap-on-grow-failure",
            "not supported yet: `memory.grow` and `table.grow` past a limit return -1",
        ),
        flag(
            "unknown-imports-trap",
            "Define function imports nothing provides as functions that trap when called.",
        ),
        off_only(
            "unknown-imports-default",
            "not supported yet: `hayate run` refuses a module whose imports it does not \
             provide, naming them",
        ),
        off_only("wmemcheck", "Hayate has no memory checker"),
        off_only("async-stack-zeroing", NO_ASYNC),
        refused("async-stack-size", "N", NO_ASYNC),
    ],
};

/// `-O`: optimisation and memory layout.
pub static OPTIMIZE: Group = Group {
    flag: "-O",
    long: "optimize",
    summary: "Optimisation, memory layout and pooling, e.g. `-O opt-level=0`, \
              `-O pooling-allocator`; `-O help` lists them all",
    what: "optimize",
    refused_prefixes: &[],
    keys: &[
        valued(
            "opt-level",
            "0|1|2|s",
            "0: no optimisation; 1 and 2: for speed (default 2); s: for speed and size.",
        ),
        valued(
            "memory-reservation",
            "0|4GiB",
            "4GiB: guard pages (default); 0: explicit bounds checks, memories reserve only \
             what they use. Other sizes are refused.",
        ),
        valued(
            "memory-guard-size",
            "0|4GiB",
            "4GiB: guard pages (default); 0: explicit bounds checks. Other sizes are refused.",
        ),
        flag(
            "table-lazy-init",
            "Fill funcref tables on first use instead of at instantiation (default: yes).",
        ),
        flag(
            "memory-init-cow",
            "Map data segments copy-on-write instead of copying them (default: yes).",
        ),
        flag(
            "pooling-allocator",
            "Take instances, memories and tables from slots reserved up front.",
        ),
        valued(
            "pooling-total-core-instances",
            "N",
            "Pooling: instances alive at once (default 1000).",
        ),
        valued(
            "pooling-total-memories",
            "N",
            "Pooling: memories alive at once (default 1000).",
        ),
        valued(
            "pooling-total-tables",
            "N",
            "Pooling: tables alive at once (default 1000).",
        ),
        valued(
            "pooling-max-memories-per-module",
            "N",
            "Pooling: memories one module may define (default 1).",
        ),
        valued(
            "pooling-max-tables-per-module",
            "N",
            "Pooling: tables one module may define (default 1).",
        ),
        valued(
            "pooling-max-memory-size",
            "N",
            "Pooling: bytes of each memory slot, a multiple of 64Ki (default 4GiB).",
        ),
        valued(
            "pooling-table-elements",
            "N",
            "Pooling: elements of each table slot (default 20000).",
        ),
        valued(
            "pooling-max-core-instance-size",
            "N",
            "Pooling: bytes of each instance's VMContext (default 1Mi).",
        ),
        valued(
            "pooling-memory-keep-resident",
            "N",
            "Pooling: bytes at the start of each memory reset in place rather than \
             given back to the kernel when an instance ends (default 64Ki).",
        ),
        refused(
            "regalloc-algorithm",
            "backtracking|single-pass",
            "Hayate always uses Cranelift's default register allocator",
        ),
        refused(
            "memory-may-move",
            "",
            "follows from the layout: guard-page memories never move",
        ),
        refused(
            "memory-reservation-for-growth",
            "N",
            "Hayate's layouts have no such reserve",
        ),
        refused(
            "guard-before-linear-memory",
            "",
            "Hayate places guard regions after memories only",
        ),
        refused(
            "signals-based-traps",
            "",
            "Hayate always turns faults into traps with signal handlers",
        ),
        refused(
            "pooling-decommit-batch-size",
            "N",
            "not configurable in Hayate",
        ),
        refused(
            "pooling-memory-keep-resident",
            "N",
            "not configurable in Hayate",
        ),
        refused(
            "pooling-table-keep-resident",
            "N",
            "not configurable in Hayate",
        ),
        refused(
            "pooling-max-unused-warm-slots",
            "N",
            "not configurable in Hayate",
        ),
        refused(
            "pooling-pagemap-scan",
            "y|n|auto",
            "not configurable in Hayate",
        ),
        refused(
            "pooling-memory-protection-keys",
            "y|n|auto",
            "Hayate does not use memory protection keys",
        ),
        refused(
            "pooling-max-memory-protection-keys",
            "N",
            "Hayate does not use memory protection keys",
        ),
        refused(
            "memory-guaranteed-dense-image-size",
            "N",
            "not configurable in Hayate",
        ),
        refused("pooling-total-stacks", "N", NO_ASYNC),
        refused("pooling-async-stack-keep-resident", "N", NO_ASYNC),
        refused("pooling-total-component-instances", "N", NO_COMPONENTS),
        refused("pooling-max-component-instance-size", "N", NO_COMPONENTS),
        refused(
            "pooling-max-core-instances-per-component",
            "N",
            NO_COMPONENTS,
        ),
        refused("pooling-max-memories-per-component", "N", NO_COMPONENTS),
        refused("pooling-max-tables-per-component", "N", NO_COMPONENTS),
        refused("pooling-total-gc-heaps", "N", NO_GC),
        refused("gc-heap-may-move", "", NO_GC),
        refused("gc-heap-reservation", "N", NO_GC),
        refused("gc-heap-reservation-for-growth", "N", NO_GC),
        refused("gc-heap-guard-size", "N", NO_GC),
        refused("gc-heap-initial-size", "N", NO_GC),
        refused("gc-zeal-alloc-counter", "N", NO_GC),
        refused("dynamic-memory-guard-size", "N", DEPRECATED),
        refused("static-memory-guard-size", "N", DEPRECATED),
        refused("static-memory-forced", "", DEPRECATED),
        refused("static-memory-maximum-size", "N", DEPRECATED),
        refused("dynamic-memory-reserved-for-growth", "N", DEPRECATED),
    ],
};

/// `-C`: code generation.
pub static CODEGEN: Group = Group {
    flag: "-C",
    long: "codegen",
    summary: "Code generation, e.g. `-C cache=n`, `-C parallel-compilation=n`; \
              `-C help` lists them all",
    what: "codegen",
    refused_prefixes: &[(
        "cranelift-",
        "Cranelift settings cannot be set from the command line yet \
         (`hayate settings` prints those in effect)",
    )],
    keys: &[
        flag(
            "cache",
            "Cache compiled modules under ~/.cache/hayate (default: yes).",
        ),
        flag(
            "parallel-compilation",
            "Compile functions on all cores (default: yes).",
        ),
        valued(
            "lazy-compilation",
            "y|n|auto",
            "Compile each function when first called, and the whole module \
             meanwhile in the background (default: auto, lazily for Wasm binaries \
             of 512 KiB or more run by `hayate run`; a Hayate key, not Wasmtime's).",
        ),
        flag(
            "baseline-compilation",
            "With lazy compilation, compile functions on first call with the \
             one-pass baseline compiler, then again with Cranelift, until the \
             background's optimised code takes over (default: yes; x86-64; a \
             Hayate key, not Wasmtime's).",
        ),
        valued(
            "opt-level",
            "0|1|2|s",
            "The same as `-O opt-level` (kept for older command lines).",
        ),
        valued(
            "compiler",
            "cranelift|llvm",
            "The compiler: Cranelift (the default), or LLVM for faster code \
             that takes longer to compile (builds with the `llvm` feature; \
             winch is refused).",
        ),
        refused(
            "collector",
            "drc|null|copying",
            "Hayate has no GC heap (the GC proposal is not implemented)",
        ),
        refused(
            "cranelift-debug-verifier",
            "",
            "not configurable from the command line yet",
        ),
        refused(
            "cache-config",
            "FILE",
            "Hayate's cache lives in ~/.cache/hayate and has no configuration file",
        ),
        refused(
            "native-unwind-info",
            "",
            "Hayate unwinds Wasm frames itself and emits no native unwind info",
        ),
        refused(
            "inlining",
            "y|n|..",
            "Cranelift's code inlines nothing, and the LLVM tier (`-C compiler=llvm`) inlines as its `-O3` decides",
        ),
        refused(
            "metadata-for-internal-asserts",
            "",
            "not configurable in Hayate",
        ),
        refused("metadata-for-gc-heap-corruption", "", NO_GC),
    ],
};

/// The groups above, for tests.
#[cfg(test)]
pub fn all() -> [&'static Group; 3] {
    [&WASM, &OPTIMIZE, &CODEGEN]
}

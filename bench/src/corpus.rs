//! The benchmark corpus: what each program is, where its builds live, and
//! the arguments for a full and a quick run. Built by `corpus/build.sh`.

use std::path::{Path, PathBuf};

/// One program of the corpus.
pub struct Program {
    /// The name in tables and on the command line.
    pub name: &'static str,
    /// The file stem under `build/wasm/` and `build/native/`.
    pub stem: &'static str,
    /// Whether a native build from the same source exists.
    pub native: bool,
    /// What it does, for the table.
    pub what: &'static str,
    /// The size argument for a full run and for `--quick`.
    pub size: (&'static str, &'static str),
    /// Two small sizes for instruction counts: the table reports the
    /// difference, which leaves out start-up and loading.
    pub instr: (&'static str, &'static str),
}

/// The corpus in table order.
pub const PROGRAMS: &[Program] = &[
    Program {
        name: "nbody",
        stem: "nbody",
        native: true,
        what: "5 bodies, 5M steps (f64)",
        size: ("5000", "200"),
        instr: ("100", "200"),
    },
    Program {
        name: "fannkuch",
        stem: "fannkuch",
        native: true,
        what: "fannkuch-redux n=10",
        size: ("10", "8"),
        instr: ("7", "8"),
    },
    Program {
        name: "spectral-norm",
        stem: "spectral_norm",
        native: true,
        what: "n=2000",
        size: ("2000", "300"),
        instr: ("150", "300"),
    },
    Program {
        name: "sieve",
        stem: "sieve",
        native: true,
        what: "primes to 16M, 4 rounds",
        size: ("16000", "1000"),
        instr: ("500", "1000"),
    },
    Program {
        name: "matmul",
        stem: "matmul",
        native: true,
        what: "1000×1000 f64",
        size: ("1000", "200"),
        instr: ("100", "150"),
    },
    Program {
        name: "sha256",
        stem: "sha256",
        native: true,
        what: "96 MiB",
        size: ("96", "4"),
        instr: ("2", "4"),
    },
    Program {
        name: "base64",
        stem: "base64",
        native: true,
        what: "16 MiB × 8 round trips",
        size: ("16", "1"),
        instr: ("1", "2"),
    },
    Program {
        name: "sqlite",
        stem: "sqlite",
        native: true,
        what: "200k rows: insert, index, 50k lookups, joins, sorts",
        size: ("200", "10"),
        instr: ("5", "10"),
    },
    Program {
        name: "zlib",
        stem: "zlib",
        native: true,
        what: "10 MiB, levels 1 and 6, + inflate",
        size: ("10", "1"),
        instr: ("1", "2"),
    },
    Program {
        name: "zstd",
        stem: "zstd",
        native: true,
        what: "16 MiB, levels 3 and 9, + 8 decompressions",
        size: ("16", "1"),
        instr: ("1", "2"),
    },
    Program {
        name: "bzip2",
        stem: "bzip2",
        native: true,
        what: "6 MiB, -9, + decompression",
        size: ("6", "1"),
        instr: ("1", "2"),
    },
    Program {
        name: "lua",
        stem: "lua",
        native: true,
        what: "Lua 5.4 script: calls, sort, strings, objects",
        size: ("10", "1"),
        instr: ("1", "2"),
    },
    Program {
        name: "python",
        stem: "python",
        native: false,
        what: "CPython 3.12 script: calls, sort, dict, strings, objects",
        size: ("10", "1"),
        instr: ("1", "2"),
    },
];

/// Where `build.sh` puts its outputs.
pub struct Layout {
    /// `bench/`
    pub bench: PathBuf,
    /// `bench/build/`
    pub build: PathBuf,
}

impl Layout {
    /// The layout of the `bench/` directory this binary was built from.
    pub fn new() -> Layout {
        let bench = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Layout {
            build: bench.join("build"),
            bench,
        }
    }

    /// The wasm32-wasi command for `p`.
    pub fn wasm(&self, p: &Program) -> PathBuf {
        self.build.join("wasm").join(format!("{}.wasm", p.stem))
    }

    /// The kernel `stem` built as a reactor exporting `bench_run`.
    pub fn reactor(&self, stem: &str) -> PathBuf {
        self.build.join("wasm").join(format!("{stem}.reactor.wasm"))
    }

    /// The native build of `p`.
    pub fn native(&self, p: &Program) -> PathBuf {
        self.build.join("native").join(p.stem)
    }

    /// A file of generated data (precompiled artifacts, results).
    pub fn work(&self, name: &str) -> PathBuf {
        self.build.join("work").join(name)
    }

    /// The Wasmtime CLI fetched by `build.sh`.
    pub fn wasmtime(&self) -> PathBuf {
        self.build.join("tools/wasmtime/wasmtime_cli/wasmtime")
    }

    /// The Node.js WASI runner.
    pub fn node_runner(&self) -> PathBuf {
        self.bench.join("runners/node-wasi.mjs")
    }

    /// `target/release/hayate`.
    pub fn hayate_cli(&self) -> PathBuf {
        self.bench
            .parent()
            .unwrap_or(Path::new(".."))
            .join("target/release/hayate")
    }

    /// `BENCHMARKS.md` at the repository root.
    pub fn benchmarks_md(&self) -> PathBuf {
        self.bench
            .parent()
            .unwrap_or(Path::new(".."))
            .join("BENCHMARKS.md")
    }
}

/// The guest arguments of `p` (after the program name).
pub fn guest_args(layout: &Layout, p: &Program, quick: bool) -> Vec<String> {
    guest_args_sized(layout, p, if quick { p.size.1 } else { p.size.0 })
}

/// The guest arguments of `p` for size `size`.
pub fn guest_args_sized(layout: &Layout, p: &Program, size: &str) -> Vec<String> {
    let size = size.to_string();
    if p.stem == "python" {
        let script = std::fs::read_to_string(layout.bench.join("corpus/python/bench.py"))
            .expect("bench/corpus/python/bench.py");
        vec!["-c".into(), script, size]
    } else {
        vec![size]
    }
}

/// Finds a program by name.
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

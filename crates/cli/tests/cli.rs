//! End-to-end tests of the `hayate` binary: `run` and `wast`, their output
//! and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hayate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hayate"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run hayate")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch file under the target directory, unique per test.
fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("scratch file");
    path
}

#[test]
fn version() {
    let o = hayate(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("hayate "), "{}", stdout(&o));
}

#[test]
fn run_invokes_an_export_and_prints_results() {
    let o = hayate(&["run", "--invoke", "add", "examples/hello.wat", "1", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3\n");
    let o = hayate(&["run", "--invoke", "add", "examples/hello.wat", "-5", "2"]);
    assert_eq!(stdout(&o), "-3\n", "{}", stderr(&o));
    let o = hayate(&["run", "--invoke", "fac", "examples/hello.wat", "10"]);
    assert_eq!(stdout(&o), "3628800\n", "{}", stderr(&o));
}

#[test]
fn run_prints_floats_and_multiple_results() {
    let wat = r#"(module
      (func (export "half") (param f64) (result f64 f32)
        (f64.div (local.get 0) (f64.const 2)) (f32.const 0.25)))"#;
    let path = scratch("floats.wat", wat);
    let o = hayate(&["run", "--invoke", "half", path.to_str().unwrap(), "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2.5\n0.25\n");
}

#[test]
fn run_trap_exits_134_with_message() {
    let o = hayate(&["run", "--invoke", "oops", "examples/hello.wat"]);
    assert_eq!(o.status.code(), Some(134), "{}", stderr(&o));
    assert!(stderr(&o).contains("unreachable"), "{}", stderr(&o));
}

#[test]
fn run_errors_are_one_line_and_exit_1() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "no-such-file.wasm"], "cannot read"),
        (
            &["run", "--invoke", "nope", "examples/hello.wat"],
            "no exported function `nope`",
        ),
        (
            &["run", "--invoke", "add", "examples/hello.wat", "1"],
            "not enough arguments for `add`",
        ),
        (
            &["run", "--invoke", "add", "examples/hello.wat", "1", "x"],
            "invalid value `x`",
        ),
    ];
    for (args, needle) in cases {
        let o = hayate(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    let malformed = scratch("malformed.wasm", "\0asm\x01\0\0\0\x7f");
    let o = hayate(&["run", malformed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot load module"), "{}", stderr(&o));
    let imports = scratch("imports.wat", r#"(module (import "env" "f" (func)))"#);
    let o = hayate(&["run", imports.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("function `env::f`"), "{}", stderr(&o));
}

#[test]
fn a_module_without_subcommand_is_run() {
    // As `wasmtime app.wasm` and `wasmtime --dir . app.wasm` do.
    let o = hayate(&["--invoke", "add", "examples/hello.wat", "1", "2"]);
    assert_eq!(stdout(&o), "3\n", "{}", stderr(&o));
    let o = hayate(&["examples/hello.wat"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = hayate(&["frob"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read `frob`"), "{}", stderr(&o));
    // An unknown option names the closest known one.
    let o = hayate(&["run", "--dirr", ".", "x.wasm"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'--dir'"), "{}", stderr(&o));
    // `hayate` alone shows its usage and fails.
    let o = hayate(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage:"), "{}", stderr(&o));
}

#[test]
fn invoke_prints_and_parses_as_wasmtime_does() {
    let path = scratch(
        "invoke.wat",
        r#"(module
            (func (export "v") (result v128) (v128.const i32x4 1 2 3 4))
            (func (export "nulls") (result funcref externref) (ref.null func) (ref.null extern))
            (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
            (func (export "wide") (param i64) (result i64) (local.get 0)))"#,
    );
    let p = path.to_str().unwrap();
    let o = hayate(&["run", "--invoke", "v", p]);
    assert_eq!(
        stdout(&o),
        "316912650112397582603894390785\n",
        "{}",
        stderr(&o)
    );
    let o = hayate(&["run", "--invoke", "nulls", p]);
    assert_eq!(stdout(&o), "<null funcref>\n<null externref>\n");
    // Extra arguments are ignored; hexadecimal is accepted.
    let o = hayate(&["run", "--invoke", "add", p, "0x10", "1", "99"]);
    assert_eq!(stdout(&o), "17\n", "{}", stderr(&o));
    let o = hayate(&["run", "--invoke", "wide", p, "0x7fffffffffffffff"]);
    assert_eq!(stdout(&o), "9223372036854775807\n", "{}", stderr(&o));
    let o = hayate(&["run", "--invoke", "wide", p, "-0x10"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // An i32 is in the signed range: 4294967295 is refused.
    let o = hayate(&["run", "--invoke", "add", p, "4294967295", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid value `4294967295`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn load_errors_say_each_thing_once_and_name_the_file() {
    let invalid = scratch("invalid.wat", "(module (func (result i32) (i64.const 1)))");
    let o = hayate(&["run", invalid.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("type mismatch").count(),
        1,
        "{}",
        stderr(&o)
    );
    let unparsable = scratch("unparsable.wat", "(module (func)");
    let o = hayate(&["run", unparsable.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("unparsable.wat:1:"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("<anon>"), "{}", stderr(&o));
}

#[test]
fn wast_reports_failures_and_totals() {
    let script = r#"(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke "one") (i32.const 2))
"#;
    let path = scratch("mixed.wast", script);
    let o = hayate(&["wast", "--spec", "1.0", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("mixed.wast:3:2: "), "{out}");
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");

    let good = scratch(
        "good.wast",
        &script.replace("(i32.const 2)", "(i32.const 1)"),
    );
    let o = hayate(&["wast", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "3 passed, 0 failed\n");
}

#[test]
fn wast_spec_versions_choose_the_features() {
    // A tail call is WebAssembly 3.0: invalid under 2.0, valid under 3.0.
    let script = r#"(module (func $f (export "f") (param i32) (result i32)
  (if (result i32) (local.get 0)
    (then (return_call $f (i32.sub (local.get 0) (i32.const 1))))
    (else (i32.const 7)))))
(assert_return (invoke "f" (i32.const 1000000)) (i32.const 7))
"#;
    let path = scratch("tail.wast", script);
    let o = hayate(&["wast", "--spec", "3.0", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "2 passed, 0 failed\n");
    let o = hayate(&["wast", "--spec", "2.0", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("tail"), "{}", stdout(&o));
}

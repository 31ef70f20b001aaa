//! `hayate run` with `-W` limits: fuel, timeout, memory and stack caps stop
//! a misbehaving guest with a trap (exit 134) or a refused growth.

use std::path::PathBuf;
use std::process::{Command, Output};

const GUEST: &str = r#"(module (memory 1)
  (func (export "spin") (loop $l (br $l)))
  (func (export "grow") (result i32) (memory.grow (i32.const 10)))
  (func $r (export "rec") (call $r)))"#;

/// The guest, written once per test (tests run in parallel, so each has
/// its own file rather than rewriting one another's).
fn guest(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-limits");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{test}.wat"));
    std::fs::write(&path, GUEST).unwrap();
    path
}

fn run(flags: &[&str], export: &str) -> Output {
    let test = std::thread::current()
        .name()
        .unwrap_or("main")
        .replace("::", "_");
    let guest = guest(&format!(
        "{test}-{}",
        flags.join("_").replace(['=', '/'], "_")
    ));
    Command::new(env!("CARGO_BIN_EXE_hayate"))
        .arg("run")
        .args(flags)
        .args(["--invoke", export])
        .arg(&guest)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let o = run(&["-W", "fuel=10000"], "spin");
    assert_eq!(o.status.code(), Some(134));
    assert!(stderr(&o).contains("fuel"), "{}", stderr(&o));
}

#[test]
fn timeout_stops_an_infinite_loop() {
    let o = run(&["-W", "timeout=100ms"], "spin");
    assert_eq!(o.status.code(), Some(134));
    assert!(stderr(&o).contains("interrupt"), "{}", stderr(&o));
}

#[test]
fn max_memory_size_refuses_growth() {
    let o = run(&["-W", "max-memory-size=128Ki"], "grow");
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "-1");
    let o = run(&[], "grow");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1");
}

#[test]
fn max_wasm_stack_traps_recursion() {
    let o = run(&["-W", "max-wasm-stack=64Ki"], "rec");
    assert_eq!(o.status.code(), Some(134));
    assert!(
        stderr(&o).contains("call stack exhausted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unknown_or_malformed_flags_are_one_line_errors() {
    for flag in ["bogus=1", "fuel", "fuel=lots", "timeout=3fortnights"] {
        let o = run(&["-W", flag], "spin");
        assert_eq!(o.status.code(), Some(1), "{flag}");
        assert_eq!(
            stderr(&o).trim().lines().count(),
            1,
            "{flag}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn bad_command_line_flags_are_one_line_errors() {
    for args in [
        &["run", "--bogus", "x.wasm"][..],
        &["--bogus", "x.wasm"][..],
        &["run"][..],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_hayate"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o).trim().lines().count(),
            1,
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

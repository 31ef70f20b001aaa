//! Tests of the `.wast` runner itself on hand-written scripts, so that it
//! cannot silently pass everything: failing assertions must be reported as
//! failures, with their line.

use hayate::Config;
use hayate_wast::{Report, WastRunner};

fn run(script: &str) -> Report {
    let runner = WastRunner::new(&Config::new()).expect("engine");
    runner.run("test.wast", script)
}

const MODULE: &str = r#"
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "trap") unreachable)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func $rec (export "rec") (result i32) call $rec)
  (func (export "nan") (result f32) f32.const nan)
  (func (export "nan_payload") (result f32) f32.const nan:0x600000)
  (global (export "g") i32 (i32.const 42)))
"#;

#[test]
fn passing_script_passes() {
    let script = format!(
        r#"{MODULE}
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const -1) (i32.const 1)) (i32.const 0))
(invoke "add" (i32.const 5) (i32.const 6))
(assert_return (get "g") (i32.const 42))
(assert_trap (invoke "trap") "unreachable")
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_exhaustion (invoke "rec") "call stack exhausted")
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan_payload") (f32.const nan:arithmetic))
(assert_malformed (module quote "(func") "unexpected end")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_unlinkable (module (import "nowhere" "f" (func))) "unknown import")
(assert_trap (module (func $start unreachable) (start $start)) "unreachable")
(assert_uninstantiable (module (func $s unreachable) (start $s)) "unreachable")
"#
    );
    let report = run(&script);
    assert_eq!(report.failures, vec![], "{report:#?}");
    assert_eq!(report.passed, 17);
}

#[test]
fn failing_assertions_fail_with_their_line() {
    let script = format!(
        r#"{MODULE}
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_trap (invoke "trap") "integer overflow")
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")
(assert_return (invoke "trap"))
(assert_return (invoke "nan_payload") (f32.const nan:canonical))
(assert_invalid (module (func (result i32) i32.const 0)) "type mismatch")
(assert_return (invoke "missing"))
(assert_exception (invoke "add" (i32.const 1) (i32.const 2)))
(assert_uninstantiable (module) "unreachable")
"#
    );
    let report = run(&script);
    assert_eq!(report.passed, 1, "{report:#?}");
    assert_eq!(report.failed, 9, "{report:#?}");
    let first_line = MODULE.lines().count() + 2;
    let lines: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(lines, (first_line..first_line + 9).collect::<Vec<_>>());
    let failure = &report.failures[0];
    assert_eq!(failure.col, 2); // the directive keyword, after `(`
    assert!(
        failure.reason.contains("expected i32:4, got i32:3"),
        "{}",
        failure.reason
    );
    assert!(
        failure
            .to_string()
            .starts_with(&format!("test.wast:{first_line}:2: "))
    );
    assert!(
        report.failures[7]
            .reason
            .contains("expected an uncaught exception, got i32:3"),
        "{}",
        report.failures[7].reason
    );
}

#[test]
fn spectest_and_register_link_modules() {
    let script = r#"
(module $A
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $g i32))
  (import "spectest" "memory" (memory 1))
  (import "spectest" "table" (table 10 funcref))
  (func (export "get") (result i32) global.get $g)
  (func (export "print") (call $print (i32.const 7))))
(assert_return (invoke "get") (i32.const 666))
(invoke "print")
(register "A" $A)
(module
  (import "A" "get" (func $get (result i32)))
  (func (export "twice") (result i32) (i32.add (call $get) (call $get))))
(assert_return (invoke "twice") (i32.const 1332))
(assert_return (invoke $A "get") (i32.const 666))
"#;
    let report = run(script);
    assert_eq!(report.failures, vec![], "{report:#?}");
    assert_eq!(report.passed, 7);
}

#[test]
fn unparsable_script_is_one_failure() {
    let report = run("(module (func $f (result i32) i32.const 0)\n(assert_return (invoke \"f\")");
    assert_eq!(report.passed, 0);
    assert_eq!(report.failed, 1);
    assert!(report.failures[0].reason.contains("cannot parse script"));
}

#[test]
fn a_failed_module_fails_the_directives_that_use_it() {
    let script = r#"
(module (func (export "f") (result i32) (i64.const 0)))
(assert_return (invoke "f") (i32.const 0))
"#;
    let report = run(script);
    assert_eq!(report.failed, 2, "{report:#?}");
    assert_eq!(report.failures[0].line, 2);
    assert!(report.failures[1].reason.contains("last module failed"));
}

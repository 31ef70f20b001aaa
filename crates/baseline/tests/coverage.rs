//! Which functions the baseline compiler takes and which it declines to
//! Cranelift; that its code runs correctly is the spec suites' job
//! (`spec_v2_baseline`, `spec_simd_baseline` in `hayate-wast`).

use hayate_baseline::BaselineCompiler;
use hayate_environ::{
    CompileError, Compiler, DefinedFuncIndex, ModuleInfo, ModuleInput, Trap, features_for,
};

fn compiler() -> BaselineCompiler {
    let cranelift = hayate_cranelift::Compiler::new(hayate_cranelift::CompilerSettings {
        tunables: hayate_environ::Tunables {
            lazy_compilation: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("host compiler");
    BaselineCompiler::new(Box::new(cranelift)).expect("an x86-64 host")
}

/// What the baseline compiler makes of each function of `wat`.
fn compile_each(wat: &str) -> Vec<Result<hayate_environ::CompiledBody, CompileError>> {
    let wasm = wat::parse_str(wat).expect("valid text");
    let info = ModuleInfo::parse(&wasm, features_for(None)).expect("valid module");
    let input = ModuleInput::lazy(&info, &wasm);
    let c = compiler();
    (0..info.num_defined_funcs())
        .map(|i| c.compile_baseline(&input, DefinedFuncIndex::from_u32(i)))
        .collect()
}

#[test]
fn integer_code_with_calls_memory_and_branches_is_taken() {
    let bodies = compile_each(
        r#"(module
            (memory 1)
            (global $g (mut i64) (i64.const 0))
            (table 2 funcref)
            (type $t (func (param i32) (result i32)))
            (func $f (param i32 i64) (result i32)
              (local i32)
              (block $out
                (loop $l
                  (local.set 2 (i32.add (local.get 2) (i32.load offset=8 (local.get 0))))
                  (br_table $l $out $l (local.get 0))))
              (global.set $g (i64.div_s (local.get 1) (i64.const 3)))
              (call_indirect (type $t) (local.get 2) (i32.const 0)))
            (func (param f64 f32 i64) (result f64)
              (if (result f64) (f32.lt (local.get 1) (f32.const 1.5))
                (then (f64.sqrt (f64.promote_f32 (local.get 1))))
                (else (f64.add (f64.neg (local.get 0)) (f64.convert_i64_s (local.get 2)))))))"#,
    );
    for body in &bodies {
        let body = body.as_ref().expect("taken by the baseline compiler");
        assert!(!body.code.is_empty());
        assert!(!body.address_map.is_empty());
    }
    let traps: Vec<Trap> = bodies[0]
        .as_ref()
        .unwrap()
        .traps
        .iter()
        .map(|t| t.1)
        .collect();
    for expected in [
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::IntegerDivisionByZero,
        Trap::IntegerOverflow,
        Trap::TableOutOfBounds,
        Trap::IndirectCallToNull,
        Trap::BadSignature,
    ] {
        assert!(
            traps.contains(&expected),
            "no {expected:?} site in {traps:?}"
        );
    }
}

#[test]
fn float_min_and_vectors_are_declined_and_compiled_by_the_fallback() {
    let wat = r#"(module
        (func (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
        (func (param v128) (result v128) (local.get 0)))"#;
    for body in compile_each(wat) {
        assert!(
            matches!(body, Err(CompileError::Unsupported(_))),
            "{body:?}"
        );
    }
    let wasm = wat::parse_str(wat).unwrap();
    let info = ModuleInfo::parse(&wasm, features_for(None)).unwrap();
    let input = ModuleInput::lazy(&info, &wasm);
    let body = compiler()
        .compile_function(&input, DefinedFuncIndex::from_u32(0))
        .expect("Cranelift compiles it");
    assert!(!body.code.is_empty());
}

#[test]
fn thousands_of_declared_locals_cost_a_loop_not_a_store_each() {
    // Three bytes of Wasm declare 40,000 locals.
    let bodies = compile_each(
        r#"(module (func (param i64) (result i64)
            (local i64 i64 i64) (local i64) (local i32 i32 i32 i32 i32 i32 i32 i32 i32)
            (local $many i64) (local i64 i64)
            (i64.add (local.get 0) (local.get 1))))"#,
    );
    let few = bodies[0].as_ref().expect("taken").code.len();
    let many = compile_each(&format!(
        "(module (func (param i64) (result i64) (local {}) (i64.add (local.get 0) (local.get 1))))",
        "i64 ".repeat(40_000)
    ));
    let many = many[0].as_ref().expect("taken").code.len();
    assert!(
        many < 2 * few,
        "{many} bytes of code for 40,000 locals, {few} for 16"
    );
}

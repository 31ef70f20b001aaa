//! Compiles varied modules and checks that the `CompiledModule` is well
//! formed: functions laid out in order without overlap, traps sorted and
//! inside code, trampolines present where needed.

mod common;

use hayate_cranelift::{BoundsChecks, Compiler, CompilerSettings, OptLevel};
use hayate_environ::{
    CompiledModule, Compiler as _, FuncType, ModuleInfo, ModuleInput, SpecVersion, Trap, Tunables,
    WasmValType, features_for,
};

fn parse(wat: &str) -> (ModuleInfo, Vec<u8>) {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let info = ModuleInfo::parse(&wasm, features_for(Some(SpecVersion::V2))).expect("valid module");
    (info, wasm)
}

fn settings() -> CompilerSettings {
    CompilerSettings {
        verifier: true,
        ..CompilerSettings::default()
    }
}

fn compile_with(wat: &str, settings: CompilerSettings) -> (ModuleInfo, CompiledModule) {
    let (info, wasm) = parse(wat);
    let compiler = Compiler::new(settings).expect("host supported");
    let module = compiler
        .compile_module(&ModuleInput::new(&info, &wasm))
        .expect("compiles");
    common::check_well_formed(&info, &module);
    (info, module)
}

fn compile(wat: &str) -> (ModuleInfo, CompiledModule) {
    compile_with(wat, settings())
}

fn traps(m: &CompiledModule) -> Vec<Trap> {
    m.traps.iter().map(|t| t.1).collect()
}

#[test]
fn empty_module() {
    let (_, m) = compile("(module)");
    assert!(m.text.is_empty());
}

#[test]
fn arithmetic_and_calls() {
    let (_, m) = compile(
        r#"(module
            (func $fac (export "fac") (param i64) (result i64)
              local.get 0
              i64.eqz
              if (result i64)
                i64.const 1
              else
                local.get 0
                local.get 0
                i64.const 1
                i64.sub
                call $fac
                i64.mul
              end)
            (func (export "div") (param i32 i32) (result i32)
              local.get 0 local.get 1 i32.div_s)
            (func (export "trunc") (param f64) (result i32)
              local.get 0 i32.trunc_f64_s)
            (func (export "unreach") unreachable))"#,
    );
    let t = traps(&m);
    assert!(t.contains(&Trap::StackOverflow));
    assert!(t.contains(&Trap::IntegerDivisionByZero));
    assert!(t.contains(&Trap::IntegerOverflow));
    assert!(t.contains(&Trap::BadConversionToInteger));
    assert!(t.contains(&Trap::UnreachableCodeReached));
    assert!(m.relocations.is_empty());
}

#[test]
fn direct_calls_are_patched_to_the_callee() {
    let (_, m) = compile(
        r#"(module
            (func $a (export "a") (result i32) call $b)
            (func $b (result i32) i32.const 7))"#,
    );
    let a = m.functions.as_values_slice()[0].loc;
    let b = m.functions.as_values_slice()[1].loc;
    let code = &m.text[a.start as usize..(a.start + a.length) as usize];
    let found = code.windows(5).enumerate().any(|(i, w)| {
        let rel = i32::from_le_bytes([w[1], w[2], w[3], w[4]]);
        let next = i64::from(a.start) + i as i64 + 5;
        w[0] == 0xe8 && next + i64::from(rel) == i64::from(b.start)
    });
    assert!(found, "no call rel32 from a to b");
    assert!(m.relocations.is_empty());
}

#[test]
fn serial_and_parallel_compilation_agree() {
    let wat = r#"(module
        (memory 1)
        (func (export "f0") (param i32) (result i32) local.get 0 i32.load)
        (func (export "f1") (param i32) (result i32) local.get 0 call 0)
        (func (export "f2") (param i64) (result i64) local.get 0 i64.popcnt)
        (func (export "f3") (param f32) (result f32) local.get 0 f32.nearest)
        (func (export "f4") (param i32) (result i32) local.get 0 call 1))"#;
    let (_, a) = compile_with(
        wat,
        CompilerSettings {
            parallel: false,
            ..settings()
        },
    );
    let (_, b) = compile_with(
        wat,
        CompilerSettings {
            parallel: true,
            ..settings()
        },
    );
    assert_eq!(a.text, b.text);
    assert_eq!(a.traps, b.traps);
}

#[test]
fn every_setting_combination_compiles() {
    let wat = r#"(module
        (memory 1 2)
        (table 3 funcref)
        (global $g (mut i32) (i32.const 0))
        (func $f (export "f") (param i32) (result i32)
          (loop $l
            (global.set $g (i32.add (global.get $g) (i32.load8_u (local.get 0))))
            (br_if $l (i32.lt_u (global.get $g) (i32.const 100))))
          (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"#;
    for opt_level in [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize] {
        for bounds_checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
            for (consume_fuel, epoch_interruption) in [(false, false), (true, true)] {
                let s = CompilerSettings {
                    opt_level,
                    tunables: Tunables {
                        bounds_checks,
                        consume_fuel,
                        epoch_interruption,
                        lazy_compilation: consume_fuel,
                    },
                    ..settings()
                };
                let (_, m) = compile_with(wat, s);
                let t = traps(&m);
                assert!(t.contains(&Trap::MemoryOutOfBounds));
                assert!(t.contains(&Trap::TableOutOfBounds));
                assert!(t.contains(&Trap::IndirectCallToNull));
                assert!(t.contains(&Trap::BadSignature));
                assert_eq!(t.contains(&Trap::OutOfFuel), consume_fuel);
                assert_eq!(t.contains(&Trap::Interrupt), epoch_interruption);
            }
        }
    }
}

#[test]
fn trampolines_only() {
    let compiler = Compiler::new(settings()).unwrap();
    let types = [
        FuncType::new([], []),
        FuncType::new(
            [WasmValType::I32, WasmValType::V128],
            [WasmValType::F64; 12],
        ),
    ];
    let m = compiler.compile_trampolines(&types).unwrap();
    assert!(m.functions.is_empty());
    assert_eq!(m.wasm_to_array_trampolines.len(), 2);
    assert!(traps(&m).contains(&Trap::HostError));
    assert!(m.relocations.is_empty());
}

#[test]
fn escaping_functions_get_entry_trampolines() {
    let (info, m) = compile(
        r#"(module
            (table 1 funcref)
            (func $exported (export "e"))
            (func $internal)
            (func $in_table)
            (func $referenced (drop (ref.func $referenced)))
            (elem (i32.const 0) $in_table)
            (elem declare func $referenced))"#,
    );
    let escaping: Vec<bool> = m
        .array_to_wasm_trampolines
        .values()
        .map(Option::is_some)
        .collect();
    assert_eq!(escaping, [true, false, true, true]);
    assert_eq!(info.types.len(), m.wasm_to_array_trampolines.len());
}

#[test]
fn many_results_and_params() {
    let params = "i32 i64 f32 f64 v128 ".repeat(6);
    let results = "f64 i32 v128 i64 ".repeat(6);
    // Calls with more values than fit in registers, both ways.
    let wat = format!(
        r#"(module
            (func $many (export "many") (param {params}) (result {results})
              unreachable)
            (func (export "call") (param {params}) (result {results})
              {calls}))"#,
        calls = (0..30)
            .map(|i| format!("(local.get {i})"))
            .collect::<Vec<_>>()
            .join(" ")
            + " call $many"
    );
    compile(&wat);
}

#[test]
fn fingerprint_names_target_and_settings() {
    let a = Compiler::new(settings()).unwrap().fingerprint();
    let b = Compiler::new(CompilerSettings {
        tunables: Tunables {
            bounds_checks: BoundsChecks::Explicit,
            ..Tunables::default()
        },
        ..settings()
    })
    .unwrap()
    .fingerprint();
    let c = Compiler::new(CompilerSettings {
        verifier: false,
        parallel: false,
        ..settings()
    })
    .unwrap()
    .fingerprint();
    assert!(a.contains("x86_64"));
    assert!(a.contains("has_sse41"));
    assert_ne!(a, b);
    assert_eq!(a, c, "verifier and parallelism do not change code");
}

#[test]
fn function_clif_rejects_bad_index() {
    let (info, wasm) = parse("(module (func))");
    let compiler = Compiler::new(settings()).unwrap();
    assert!(
        compiler
            .function_clif(&info, &wasm, 0)
            .unwrap()
            .contains("function u0:0")
    );
    assert!(compiler.function_clif(&info, &wasm, 1).is_err());
}

#[test]
fn compiler_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Compiler>();
}

#[test]
fn unsupported_operators_are_errors_not_panics() {
    let wasm = wat::parse_str(
        r#"(module
            (memory 1 1 shared)
            (func $a (result i32) (i32.atomic.load (i32.const 0)))
            (func $b (result i32) i32.const 1)
            (func $c (result i32) i32.const 2))"#,
    )
    .unwrap();
    let info = ModuleInfo::parse(&wasm, hayate_environ::WasmFeatures::all()).unwrap();
    for parallel in [false, true] {
        let compiler = Compiler::new(CompilerSettings {
            parallel,
            ..settings()
        })
        .unwrap();
        let err = compiler
            .compile_module(&ModuleInput::new(&info, &wasm))
            .unwrap_err();
        assert!(
            matches!(err, hayate_environ::CompileError::Unsupported(_)),
            "{err}"
        );
        // The compiler stays usable.
        assert!(compiler.function_clif(&info, &wasm, 1).is_ok());
    }
}

#[test]
fn operators_of_unimplemented_proposals_name_operator_and_proposal() {
    let cases = [
        (
            "(tag) (func try catch 0 end)",
            "operator Try (legacy_exceptions proposal)",
        ),
        (
            "(memory 1 1 shared) (func (result i32) (i32.atomic.load (i32.const 0)))",
            "operator I32AtomicLoad (threads proposal)",
        ),
    ];
    let compiler = Compiler::new(settings()).unwrap();
    for (fields, expected) in cases {
        let wasm = wat::parse_str(format!("(module {fields})")).unwrap();
        let info = ModuleInfo::parse(&wasm, hayate_environ::WasmFeatures::all()).unwrap();
        let err = compiler
            .compile_module(&ModuleInput::new(&info, &wasm))
            .unwrap_err();
        match err {
            hayate_environ::CompileError::Unsupported(message) => {
                assert_eq!(message, expected)
            }
            other => panic!("{fields}: expected Unsupported, got {other}"),
        }
    }
}

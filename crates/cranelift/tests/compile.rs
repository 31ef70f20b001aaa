//! Compiles varied modules and checks that the `CompiledModule` is well
//! formed: functions laid out in order without overlap, traps sorted and
//! inside code, trampolines present where needed.

mod common;

use hayate_cranelift::{Compiler, CompilerSettings};
use hayate_environ::{CompiledModule, ModuleInfo, SpecVersion, Trap, features_for};

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
    let module = compiler.compile_module(&info, &wasm).expect("compiles");
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

//! Compiles varied modules and checks that the `CompiledModule` is well
//! formed: functions laid out in order without overlap, traps sorted and
//! inside code, trampolines present where needed.

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
    check_well_formed(&info, &module);
    (info, module)
}

fn compile(wat: &str) -> (ModuleInfo, CompiledModule) {
    compile_with(wat, settings())
}

fn check_well_formed(info: &ModuleInfo, m: &CompiledModule) {
    assert_eq!(m.functions.len(), info.num_defined_funcs() as usize);
    assert_eq!(
        m.array_to_wasm_trampolines.len(),
        info.num_defined_funcs() as usize
    );
    assert_eq!(m.wasm_to_array_trampolines.len(), info.types.len());
    let mut locs: Vec<_> = m.functions.iter().map(|f| f.loc).collect();
    for (i, f) in m.functions.iter().enumerate() {
        assert!(f.loc.length > 0, "function {i} is empty");
        if i > 0 {
            let prev = m.functions[i - 1].loc;
            assert!(
                prev.start + prev.length <= f.loc.start,
                "functions overlap or are out of order"
            );
        }
        assert!(
            f.address_map.windows(2).all(|w| w[0].0 < w[1].0),
            "address map sorted"
        );
        assert!(f.address_map.iter().all(|(o, _)| *o < f.loc.length));
        assert_eq!(m.function_at(f.loc.start), Some(i as u32));
    }
    for (i, t) in m.array_to_wasm_trampolines.iter().enumerate() {
        let escaping = info.escaping_funcs[info.num_imported_funcs as usize + i];
        assert_eq!(t.is_some(), escaping, "array-to-wasm trampoline of {i}");
        if let Some(t) = t {
            locs.push(*t);
        }
    }
    locs.extend(m.wasm_to_array_trampolines.iter().copied());
    locs.sort_by_key(|l| l.start);
    for w in locs.windows(2) {
        assert!(
            w[0].start + w[0].length <= w[1].start,
            "code ranges overlap"
        );
    }
    if let Some(last) = locs.last() {
        assert!((last.start + last.length) as usize <= m.text.len());
    }
    assert!(
        m.traps.windows(2).all(|w| w[0].0 < w[1].0),
        "traps sorted and unique"
    );
    for (offset, _) in &m.traps {
        assert!(
            locs.iter()
                .any(|l| *offset >= l.start && *offset < l.start + l.length),
            "trap at {offset:#x} outside code"
        );
    }
    for r in &m.relocations {
        assert!(r.offset as usize + 8 <= m.text.len());
    }
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

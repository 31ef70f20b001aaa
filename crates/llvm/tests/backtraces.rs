//! Backtraces through the LLVM tier's code name the same Wasm frames, at
//! the same module offsets, as Cranelift's: the trapping instruction's
//! offset in the innermost frame, each call's in the others, and a frame
//! for every function LLVM inlined (read from the debug information LLVM
//! emits, `dwarf.rs`).

mod common;

use common::{frames_of, llvm_compile};
use hayate::{BoundsChecks, Config, Engine, Func, Instance, Module, Store, Strategy, Trap, Val};
use hayate_environ::{DefinedFuncIndex, EntityRef};

const WAT: &str = r#"(module
  (import "host" "fail" (func $fail (param i32)))
  (memory 1)
  (table 2 funcref)
  (type $unary (func (param i32) (result i32)))
  (func $divide (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $remainder (param i32 i32) (result i32)
    (i32.add
      (i32.div_u (local.get 0) (i32.const 3))
      (i32.rem_u (local.get 0) (local.get 1))))
  (func $both (param i32 i32 i32) (result i32)
    (i32.add
      (call $divide (local.get 0) (local.get 1))
      (call $remainder (local.get 0) (local.get 2))))
  (func (export "arith") (param i32 i32 i32) (result i32)
    (i32.mul (call $both (local.get 0) (local.get 1) (local.get 2)) (i32.const 3)))

  (func $load (param i32) (result i32)
    (i32.load offset=8 (local.get 0)))
  (func $add_loads (param i32) (result i32)
    (i32.add (call $load (i32.const 0)) (call $load (local.get 0))))
  (func (export "peek") (param i32) (result i32)
    (i32.xor (call $add_loads (local.get 0)) (i32.const 5)))
  (global $kept (mut i32) (i32.const 0))
  (func $keep (param i32)
    (global.set $kept (call $load (local.get 0))))
  (func (export "fetch") (param i32)
    (call $keep (i32.add (local.get 0) (i32.const 4))))

  (func $report (param i32)
    (if (i32.gt_u (local.get 0) (i32.const 10)) (then (call $fail (local.get 0)))))
  (func (export "host") (param i32)
    (call $report (i32.add (local.get 0) (i32.const 1))))

  (func $dispatch (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 0) (local.get 1)))
  (func (export "indirect") (param i32 i32) (result i32)
    (i32.add (call $dispatch (local.get 0) (local.get 1)) (i32.const 1)))

  (func $spin (param i32) (result i32)
    (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i))
  (func (export "spin") (param i32) (result i32)
    (i32.add (call $spin (local.get 0)) (i32.const 2)))

  (func $d0 (param i32) (result i32) (call $d1 (i32.add (local.get 0) (i32.const 1))))
  (func $d1 (param i32) (result i32) (call $d2 (i32.mul (local.get 0) (i32.const 3))))
  (func $d2 (param i32) (result i32) (call $d3 (i32.sub (local.get 0) (i32.const 2))))
  (func $d3 (param i32) (result i32) (call $d4 (i32.xor (local.get 0) (i32.const 7))))
  (func $d4 (param i32) (result i32)
    ;; (Cranelift turns a branch to a lone `unreachable` into a
    ;; conditional trap at the branch's offset; the store keeps it apart.)
    (if (i32.eqz (local.get 0))
      (then (global.set $kept (local.get 0)) (unreachable)))
    (local.get 0))
  (func (export "deep") (param i32) (result i32)
    (i32.add (call $d0 (local.get 0)) (i32.const 9))))"#;

/// `export`'s trap frames under `strategy` with `config`'s other
/// settings: (function index, module offset), innermost first.
fn frames(
    strategy: Strategy,
    config: &Config,
    export: &str,
    args: &[Val],
) -> (Option<Trap>, Vec<(u32, Option<usize>)>) {
    let mut config = config.clone();
    config.strategy(strategy);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    run(&engine, &module, export, args)
}

fn run(
    engine: &Engine,
    module: &Module,
    export: &str,
    args: &[Val],
) -> (Option<Trap>, Vec<(u32, Option<usize>)>) {
    let mut store = Store::new(engine, ());
    // Fails without fuel consumption.
    let _ = store.set_fuel(500);
    let fail = Func::wrap(&mut store, |x: i32| -> hayate::Result<()> {
        Err(hayate::Error::msg(format!("host refuses {x}")))
    });
    let instance = Instance::new(&mut store, module, &[fail.into()]).unwrap();
    let func = instance.get_func(&mut store, export).unwrap();
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let e = func.call(&mut store, args, &mut results).unwrap_err();
    (e.downcast_ref::<Trap>().copied(), frames_of(&e))
}

/// Every case: an export, its arguments, and the trap (`None`: the host's
/// error).
fn cases() -> Vec<(&'static str, Vec<Val>, Option<Trap>)> {
    use Val::I32;
    vec![
        (
            "arith",
            vec![I32(7), I32(0), I32(1)],
            Some(Trap::IntegerDivisionByZero),
        ),
        (
            "arith",
            vec![I32(7), I32(1), I32(0)],
            Some(Trap::IntegerDivisionByZero),
        ),
        (
            "arith",
            vec![I32(i32::MIN), I32(-1), I32(1)],
            Some(Trap::IntegerOverflow),
        ),
        ("fetch", vec![I32(65536)], Some(Trap::MemoryOutOfBounds)),
        ("host", vec![I32(20)], None),
        (
            "indirect",
            vec![I32(1), I32(1)],
            Some(Trap::IndirectCallToNull),
        ),
        (
            "indirect",
            vec![I32(1), I32(5)],
            Some(Trap::TableOutOfBounds),
        ),
        ("deep", vec![I32(2)], Some(Trap::UnreachableCodeReached)),
    ]
}

fn configs() -> Vec<(&'static str, Config)> {
    let mut explicit = Config::new();
    explicit.bounds_checks(BoundsChecks::Explicit);
    let mut fuel = Config::new();
    fuel.consume_fuel(true);
    vec![
        ("default", Config::new()),
        ("explicit bounds checks", explicit),
        ("fuel", fuel),
    ]
}

#[test]
fn inlined_frames_match_cranelift() {
    for (name, config) in configs() {
        let mut cases = cases();
        if name == "fuel" {
            // Out of fuel inside the inlined loop.
            let spin = ("spin", vec![Val::I32(1 << 20)], Some(Trap::OutOfFuel));
            cases.push(spin);
        }
        for (export, args, trap) in cases {
            let llvm = frames(Strategy::Llvm, &config, export, &args);
            let cranelift = frames(Strategy::Cranelift, &config, export, &args);
            assert_eq!(llvm.0, trap, "{name}: {export}{args:?}");
            assert_eq!(llvm, cranelift, "{name}: {export}{args:?}");
            assert!(llvm.1.iter().all(|(_, offset)| offset.is_some()));
        }
    }
}

#[test]
fn the_calls_are_inlined() {
    let wasm = wat::parse_str(WAT).unwrap();
    let (compiled, _) = llvm_compile(&wasm, |llvm| llvm);
    let inlined = |defined: u32| {
        compiled.functions[DefinedFuncIndex::from_u32(defined)]
            .inline_map
            .iter()
            .collect::<Vec<_>>()
    };
    // `arith` (defined function 3) holds `both`, which holds both
    // divisions; `deep` (20) the whole chain.
    let arith = inlined(3);
    assert!(arith.iter().any(|r| r.depth == 1), "{arith:?}");
    let deep = inlined(20);
    let deepest = deep.iter().map(|r| r.depth).max();
    assert_eq!(deepest, Some(4), "{deep:?}");
    for range in deep.iter().chain(&arith) {
        assert!(range.callee.index() < 21 && range.call_offset > 0);
    }
}

/// Under guard pages, a load LLVM folds into the instruction that uses
/// its value (`add eax, [mem]`) faults with that instruction's location:
/// the frames are Cranelift's from the using function out, the innermost
/// at the use.
#[test]
fn a_folded_load_faults_at_its_use() {
    let args = [Val::I32(65536)];
    let (trap, llvm) = frames(Strategy::Llvm, &Config::new(), "peek", &args);
    let (_, cranelift) = frames(Strategy::Cranelift, &Config::new(), "peek", &args);
    assert_eq!(trap, Some(Trap::MemoryOutOfBounds));
    assert_eq!(cranelift.len(), 3);
    assert!(matches!(llvm.len(), 2 | 3), "{llvm:?}");
    let outer = llvm.len() - 1;
    assert_eq!(llvm[1..], cranelift[cranelift.len() - outer..]);
    assert_eq!(llvm[0].0, cranelift[cranelift.len() - llvm.len()].0);
    let mut explicit = Config::new();
    explicit.bounds_checks(BoundsChecks::Explicit);
    assert_eq!(
        frames(Strategy::Llvm, &explicit, "peek", &args),
        frames(Strategy::Cranelift, &explicit, "peek", &args)
    );
}

#[test]
fn two_trap_sites_of_one_function_keep_their_offsets() {
    let config = Config::new();
    use Val::I32;
    let divide = frames(Strategy::Llvm, &config, "arith", &[I32(7), I32(0), I32(1)]);
    let remainder = frames(Strategy::Llvm, &config, "arith", &[I32(7), I32(1), I32(0)]);
    assert_ne!(divide.1[0], remainder.1[0]);
    assert_eq!(divide.1.len(), 3);
    assert_eq!(remainder.1.len(), 3);
}

#[test]
fn artifacts_keep_the_inlined_frames() {
    let (engine, module) = common::llvm_artifact(WAT);
    for (export, args, _) in cases() {
        assert_eq!(
            run(&engine, &module, export, &args),
            frames(Strategy::Cranelift, &Config::new(), export, &args),
            "{export}{args:?}"
        );
    }
}

/// LLVM makes the two branches' calls one call (a merged instruction):
/// that call has no offset, not one of the two (which would be wrong for
/// the other branch).
#[test]
fn a_merged_call_has_no_offset() {
    let wat = r#"(module
      (import "host" "fail" (func $fail (param i32)))
      (func (export "merge") (param i32 i32) (result i32)
        (if (local.get 0)
          (then (call $fail (local.get 1)))
          (else (call $fail (local.get 1))))
        (i32.const 7)))"#;
    let frames = |strategy, branch| {
        let mut config = Config::new();
        config.strategy(strategy);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        run(&engine, &module, "merge", &[Val::I32(branch), Val::I32(3)])
    };
    let (then, otherwise) = (
        frames(Strategy::Cranelift, 1),
        frames(Strategy::Cranelift, 0),
    );
    assert_ne!(then, otherwise);
    for branch in [0, 1] {
        assert_eq!(frames(Strategy::Llvm, branch), (None, vec![(1, None)]));
    }
}

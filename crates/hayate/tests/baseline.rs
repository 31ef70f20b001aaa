//! The baseline compiler as the first tier (`Config::baseline_compilation`):
//! its code and Cranelift's call each other (arguments in registers and on
//! the stack, both ways), and traps, backtraces and the stack limit are
//! those of eagerly compiled code. No background compilation here, so only
//! first-tier code runs. The spec suites run under it too (`hayate-wast`'s
//! `spec_v2_baseline`, `spec_simd_baseline`).

use hayate::{Config, Engine, Instance, Module, Store, Trap};

fn engine(baseline: bool, edit: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config
        .lazy_compilation(baseline)
        .background_compilation(false)
        .baseline_compilation(baseline);
    edit(&mut config);
    Engine::new(&config).unwrap()
}

/// `$ints` and `$mixed` take more arguments than there are registers.
/// The baseline compiler takes all but `$mixed`, which uses `f64.min`, a
/// float operator it declines, so Cranelift compiles it: calls cross
/// between the two compilers both ways.
const MIXED: &str = r#"(module
    (func $ints (param i64 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i64)
      (i64.add
        (i64.add
          (i64.add (i64.mul (local.get 0) (i64.const 1)) (i64.mul (local.get 1) (i64.const 3)))
          (i64.add (i64.mul (local.get 2) (i64.const 5)) (i64.mul (local.get 3) (i64.const 7))))
        (i64.add
          (i64.add (i64.mul (local.get 4) (i64.const 11)) (i64.mul (local.get 5) (i64.const 13)))
          (i64.add
            (i64.add (i64.mul (local.get 6) (i64.const 17)) (i64.mul (local.get 7) (i64.const 19)))
            (i64.sub (i64.extend_i32_s (local.get 8)) (i64.extend_i32_u (local.get 9)))))))
    (func $mixed (param i64 f64 i64 f64 i64 f64 i64 f64 i64 f64 i64 f64 i64 f64 i64 f64 f64 f64 i64)
          (result f64)
      (f64.add
        (f64.add (f64.min (local.get 1) (local.get 3)) (f64.mul (local.get 15) (local.get 17)))
        (f64.add
          (f64.convert_i64_s (call $ints (local.get 0) (local.get 2) (local.get 4) (local.get 6)
                                         (local.get 8) (local.get 10) (local.get 12) (local.get 14)
                                         (i32.const -1) (i32.const -1)))
          (f64.convert_i64_s (local.get 18)))))
    (func (export "sum_ints") (param i64) (result i64)
      (call $ints (local.get 0) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5)
                  (i64.const 6) (i64.const 7) (i64.const 8) (i32.const -5) (i32.const 7)))
    (func (export "to_mixed") (param i64) (result f64)
      (call $mixed (local.get 0) (f64.const 0.5) (i64.const 2) (f64.const 1.5) (i64.const 3)
                   (f64.const 2.5) (i64.const 4) (f64.const 3.5) (i64.const 5) (f64.const 4.5)
                   (i64.const 6) (f64.const 5.5) (i64.const 7) (f64.const 6.5) (i64.const 8)
                   (f64.const 7.5) (f64.const 8.5) (f64.const 9.5) (i64.const 1000)))
    (func $deep (export "deep") (param i32 i64 i64 i64 i64 i64) (result i32)
      (i32.add (call $deep (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
                           (local.get 3) (local.get 4) (local.get 5))
               (i32.const 1))))"#;

#[test]
fn baseline_and_cranelift_code_call_each_other_with_stack_arguments() {
    let run = |baseline: bool| {
        let engine = engine(baseline, |_| {});
        let module = Module::new(&engine, MIXED).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let sum = i
            .get_typed_func::<i64, i64>(&mut store, "sum_ints")
            .unwrap();
        let mixed = i
            .get_typed_func::<i64, f64>(&mut store, "to_mixed")
            .unwrap();
        (
            sum.call(&mut store, 1).unwrap(),
            sum.call(&mut store, -1_000_000_007).unwrap(),
            mixed.call(&mut store, 1).unwrap(),
            mixed.call(&mut store, 1 << 40).unwrap(),
        )
    };
    let baseline = run(true);
    assert_eq!(baseline, run(false));
    // 1 + 2*3 + 3*5 + 4*7 + 5*11 + 6*13 + 7*17 + 8*19 + (-5 - 7)
    assert_eq!(baseline.0, 442);
}

#[test]
fn deep_recursion_with_stack_arguments_is_a_stack_overflow_on_a_small_host_stack() {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let engine = engine(true, |c| {
                c.max_wasm_stack(128 << 10);
            });
            let module = Module::new(&engine, MIXED).unwrap();
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, &module, &[]).unwrap();
            let deep = i
                .get_typed_func::<(i32, i64, i64, i64, i64, i64), i32>(&mut store, "deep")
                .unwrap();
            for _ in 0..3 {
                let err = deep.call(&mut store, (0, 1, 2, 3, 4, 5)).unwrap_err();
                assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

const TRAPS: &str = r#"(module
    (memory 1)
    (table 2 funcref)
    (elem (i32.const 0) $boom)
    (func $boom (param i32) (result i32) unreachable)
    (func $via_table (param i32 i32) (result i32)
      (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
    (func (export "outer") (param i32 i32) (result i32)
      (call $via_table (local.get 0) (local.get 1)))
    (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "rem") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i64) (i64.load offset=16 (local.get 0))))"#;

/// Trap and backtrace frames (index, name, Wasm offset) of a call.
type Outcome = Result<i64, (Trap, Vec<(u32, Option<String>, Option<u32>)>)>;

fn outcomes(baseline: bool) -> Vec<Outcome> {
    let engine = engine(baseline, |_| {});
    let module = Module::new(&engine, TRAPS).unwrap();
    outcomes_of(&module)
}

fn outcomes_of(module: &Module) -> Vec<Outcome> {
    let engine = module.engine();
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    let outer = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "outer")
        .unwrap();
    let div = i
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    let rem = i
        .get_typed_func::<(i64, i64), i64>(&mut store, "rem")
        .unwrap();
    let load = i.get_typed_func::<i32, i64>(&mut store, "load").unwrap();
    let outcome = |r: hayate::Result<i64>| {
        r.map_err(|e| {
            let trap = *e.downcast_ref::<Trap>().expect("a trap");
            let bt = e
                .downcast_ref::<hayate::WasmBacktrace>()
                .expect("a backtrace");
            let frames = bt
                .frames
                .iter()
                .map(|f| (f.func_index, f.func_name.clone(), f.module_offset))
                .collect();
            (trap, frames)
        })
    };
    let mut all = Vec::new();
    for (index, arg) in [(0, 1), (1, 1), (2, 1), (-1, 1)] {
        all.push(outcome(outer.call(&mut store, (index, arg)).map(i64::from)));
    }
    for (a, b) in [
        (7, 2),
        (-7, 2),
        (1, 0),
        (i32::MIN, -1),
        (i32::MIN, 1),
        (5, -1),
    ] {
        all.push(outcome(div.call(&mut store, (a, b)).map(i64::from)));
    }
    for (a, b) in [(7, 2), (-7, 2), (1, 0), (i64::MIN, -1), (i64::MIN, 3)] {
        all.push(outcome(rem.call(&mut store, (a, b))));
    }
    for addr in [0, 65536 - 24, 65536 - 23, -1] {
        all.push(outcome(load.call(&mut store, addr)));
    }
    all
}

#[test]
fn traps_and_backtraces_match_eager_compilation() {
    let baseline = outcomes(true);
    assert_eq!(baseline, outcomes(false));
    let traps: Vec<_> = baseline
        .iter()
        .filter_map(|o| o.as_ref().err().map(|e| e.0))
        .collect();
    assert_eq!(
        traps,
        [
            Trap::UnreachableCodeReached,
            Trap::IndirectCallToNull,
            Trap::TableOutOfBounds,
            Trap::TableOutOfBounds,
            Trap::IntegerDivisionByZero,
            Trap::IntegerOverflow,
            Trap::IntegerDivisionByZero,
            Trap::MemoryOutOfBounds,
            Trap::MemoryOutOfBounds,
        ]
    );
    // The backtrace of the `unreachable` names all three frames.
    let frames = &baseline[0].as_ref().unwrap_err().1;
    assert_eq!(frames.len(), 3, "{frames:?}");
}

#[test]
fn results_traps_and_backtraces_hold_through_every_tier_switch() {
    // With the background compilation on, functions the baseline compiler
    // took are compiled again by Cranelift one at a time (the second tier)
    // and then replaced by the whole module's code: call them throughout.
    let eager = outcomes(false);
    let mut config = Config::new();
    config.lazy_compilation(true).baseline_compilation(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, TRAPS).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut rounds = 0;
    loop {
        let done = module.is_fully_compiled();
        assert_eq!(outcomes_of(&module), eager, "round {rounds}");
        rounds += 1;
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never fully compiled");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn deep_operand_stacks_and_wide_branch_tables_agree_with_eager_code() {
    // 300 operands live at once (most of them spilled to their slots),
    // locals changed while reads of them are still on the stack, and a
    // branch table of 5,000 targets over a few depths.
    let mut body = String::new();
    for i in 0..300 {
        body.push_str(&format!("(i32.add (local.get 0) (i32.const {i}))\n"));
        if i % 7 == 0 {
            body.push_str("(local.get 1) (local.set 1 (i32.add (local.get 1) (i32.const 3)))\n");
            body.push_str("(i32.add)\n");
        }
    }
    body.push_str(&"(i32.add)\n".repeat(299));
    let targets: Vec<&str> = (0..5000).map(|i| ["0", "1", "2"][i % 3]).collect();
    let wat = format!(
        r#"(module
            (func (export "deep") (param i32) (result i32) (local i32) {body})
            (func (export "table") (param i32) (result i32)
              (block (block (block
                (br_table {} 0 (local.get 0)))
                (return (i32.const 10)))
                (return (i32.const 20)))
              (i32.const 30)))"#,
        targets.join(" ")
    );
    let run = |baseline: bool| {
        let engine = engine(baseline, |_| {});
        let module = Module::new(&engine, &wat).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let deep = i.get_typed_func::<i32, i32>(&mut store, "deep").unwrap();
        let table = i.get_typed_func::<i32, i32>(&mut store, "table").unwrap();
        let mut out: Vec<i32> = [0, 5, -1000]
            .into_iter()
            .map(|x| deep.call(&mut store, x).unwrap())
            .collect();
        for x in [0, 1, 2, 4, 4999, 5000, -1] {
            out.push(table.call(&mut store, x).unwrap());
        }
        out
    };
    let baseline = run(true);
    assert_eq!(baseline, run(false));
    assert_eq!(&baseline[3..], [10, 20, 30, 20, 20, 10, 10]);
}

#[test]
fn declared_locals_start_at_zero_however_many() {
    // A few locals are zeroed one store each, many with one loop: both
    // leave the parameters and the operand slots below them alone.
    let wat = r#"(module
        (func $few (param i64 i64) (result i64) (local i64 i64 f64)
          (i64.add (i64.add (local.get 0) (local.get 1))
                   (i64.add (local.get 2) (i64.reinterpret_f64 (local.get 4)))))
        (func $many (param i64 i64) (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i32 f32)
          (local.set 3 (i64.const 5))
          (i64.add (i64.add (local.get 0) (local.get 1))
                   (i64.add (i64.add (local.get 2) (local.get 3))
                            (i64.add (local.get 13) (i64.extend_i32_u (local.get 14))))))
        (func (export "run") (param i64) (result i64)
          (i64.add (call $few (local.get 0) (i64.const 1))
                   (i64.mul (call $many (local.get 0) (i64.const 2)) (i64.const 1000)))))"#;
    let run = |baseline: bool| {
        let engine = engine(baseline, |_| {});
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let f = i.get_typed_func::<i64, i64>(&mut store, "run").unwrap();
        (
            f.call(&mut store, 7).unwrap(),
            f.call(&mut store, -3).unwrap(),
        )
    };
    let baseline = run(true);
    assert_eq!(baseline, run(false));
    assert_eq!(baseline.0, 8 + 14_000);
}

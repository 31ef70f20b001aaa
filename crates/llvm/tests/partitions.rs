//! A module large enough to be cut into several LLVM modules: calls
//! between partitions in every convention (the Wasm one, `fastcc` with
//! several results, a copy beside Cranelift's entry, mutual recursion),
//! traps and backtraces through them, and code that does not depend on
//! the number of threads.

mod common;

use hayate::{Instance, Module, Store, Strategy, Trap, Val};
use hayate_llvm::PARTITION_BYTES;

/// Functions of `PARTITION_BYTES * 1.2` of straight-line code in all
/// (`x + 1 + 1 + ...`): no partition holds both the function before them
/// and the one after.
fn fillers(name: &str) -> String {
    let bytes = PARTITION_BYTES * 2 / 5;
    let adds = "i32.const 1 i32.add ".repeat(bytes / 3);
    (0..3)
        .map(|i| {
            format!("(func ${name}{i} (export \"{name}{i}\") (param i32) (result i32) local.get 0 {adds})\n")
        })
        .collect()
}

/// Functions in three partitions, separated by fillers:
/// - `run` (exported, the Wasm convention) calls `pair` in the second
///   partition (internal, two results) and `wide` through a direct call
///   (internal copy; its entry, in the table, is Cranelift's);
/// - `pair` calls `wide` in the third partition;
/// - `even` and `odd` recurse into each other across the first two;
/// - `wide` divides, so a zero divisor traps two partitions down;
/// - `far_table` calls `wide` or `near`, in the third partition, through
///   the table: a dispatch to direct calls, whereas nothing else calls
///   `near`.
fn module() -> String {
    let mut wat = String::from(
        r#"(module
  (table 2 funcref)
  (elem (i32.const 0) $wide $near)
  (type $w (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (func $run (export "run") (param i64 i64) (result i64)
    (local i64 i64)
    (call $pair (local.get 0) (local.get 1))
    (local.set 3) (local.set 2)
    (i64.add (local.get 2)
      (i64.add (local.get 3)
        (call $wide (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5)
          (local.get 1)))))
  (func $even (export "even") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "far_table") (param i32 i64) (result i64)
    (call_indirect (type $w) (i64.const 1) (i64.const 1) (i64.const 1) (i64.const 1)
      (i64.const 1) (local.get 1) (local.get 0)))
"#,
    );
    wat += &fillers("fill_a");
    wat += r#"
  (func $pair (param i64 i64) (result i64 i64)
    (i64.mul (local.get 0) (i64.const 3))
    (call $wide (local.get 0) (local.get 0) (local.get 0) (i64.const 0) (i64.const 7)
      (local.get 1)))
  (func $odd (export "odd") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (call $even (i32.sub (local.get 0) (i32.const 1))))))
"#;
    wat += &fillers("fill_b");
    wat += r#"
  (func $wide (export "wide") (type $w)
    (i64.div_s
      (i64.add (i64.add (local.get 0) (local.get 1))
        (i64.add (local.get 2) (i64.add (local.get 3) (local.get 4))))
      (local.get 5)))
  (func $near (type $w) (i64.rem_s (local.get 0) (local.get 5)))
  (func (export "via_table") (param i64) (result i64)
    (call_indirect (type $w) (i64.const 1) (i64.const 1) (i64.const 1) (i64.const 1)
      (i64.const 1) (local.get 0) (i32.const 0))))
"#;
    wat
}

/// The module instantiated under both tiers, compiled once each.
struct Tiers {
    llvm: (Store<()>, Instance),
    cranelift: (Store<()>, Instance),
}

impl Tiers {
    fn new(wat: &str) -> Tiers {
        let instance = |strategy| {
            let engine = common::engine(strategy);
            let module = Module::new(&engine, wat).expect("compiles");
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
            (store, instance)
        };
        Tiers {
            llvm: instance(Strategy::Llvm),
            cranelift: instance(Strategy::Cranelift),
        }
    }

    /// Calls `export` under both tiers, checks they agree, and returns
    /// the outcome.
    fn same(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, String> {
        let call = |(store, instance): &mut (Store<()>, Instance)| {
            let func = instance.get_func(&mut *store, export).expect("export");
            let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
            match func.call(&mut *store, args, &mut results) {
                Ok(()) => Ok(results),
                Err(e) => Err(format!("{:?}", e.downcast_ref::<Trap>())),
            }
        };
        let llvm = call(&mut self.llvm);
        let cranelift = call(&mut self.cranelift);
        assert_eq!(
            format!("{llvm:?}"),
            format!("{cranelift:?}"),
            "{export}({args:?}): the tiers disagree"
        );
        llvm
    }
}

#[test]
fn calls_between_partitions_agree_with_cranelift() {
    let wat = module();
    let wasm = wat::parse_str(&wat).unwrap();
    let mut tiers = Tiers::new(&wat);
    let stats = common::llvm_stats(&wasm);
    assert!(stats.partitions >= 3, "{} partitions", stats.partitions);
    // `wide` and `near` get a copy; `via_table` and `far_table` dispatch
    // to them.
    assert_eq!(stats.copies.len(), 2);
    assert_eq!(stats.dispatching_call_sites, 2);
    assert_eq!(stats.declined, 0);
    use Val::*;
    for (x, d) in [(0, 1), (5, 3), (-7, 2), (i64::MAX, -1), (4, 0)] {
        tiers.same("run", &[I64(x), I64(d)]).ok();
    }
    for d in [1, 5, 0] {
        tiers.same("via_table", &[I64(d)]).ok();
        for element in 0..3 {
            tiers.same("far_table", &[I32(element), I64(d)]).ok();
        }
    }
    // wide: (1+1+1+1+1)/2; near: 1 % 2.
    assert!(matches!(
        tiers.same("far_table", &[I32(0), I64(2)]).unwrap()[0],
        I64(2)
    ));
    assert!(matches!(
        tiers.same("far_table", &[I32(1), I64(2)]).unwrap()[0],
        I64(1)
    ));
    assert!(matches!(
        tiers.same("run", &[I64(5), I64(3)]).unwrap()[0],
        // pair: 15 and (5+5+5+0+7)/3 = 7; wide: (1+2+3+4+5)/3 = 5.
        I64(27)
    ));
    for n in [0, 1, 10, 2001] {
        tiers.same("even", &[I32(n)]).ok();
        tiers.same("odd", &[I32(n)]).ok();
    }
    assert!(matches!(
        tiers.same("even", &[I32(2001)]).unwrap()[0],
        I32(0)
    ));
    tiers.same("fill_b1", &[I32(1)]).ok();
}

#[test]
fn a_trap_two_partitions_down_names_every_frame() {
    let (trap, text) = common::llvm_trap(&module(), "run", &[Val::I64(1), Val::I64(0)]);
    assert_eq!(trap, Some(Trap::IntegerDivisionByZero));
    // Three partitions: LLVM inlined none of these calls.
    assert!(
        text.contains("wide") && text.contains("pair") && text.contains("run"),
        "{text}"
    );
}

#[test]
fn the_code_does_not_depend_on_the_threads() {
    let wasm = wat::parse_str(module()).unwrap();
    let small = PARTITION_BYTES / 4;
    let (one, one_stats) = common::llvm_compile(&wasm, |c| c.with_partition_bytes(small));
    let (four, four_stats) =
        common::llvm_compile(&wasm, |c| c.with_partition_bytes(small).with_threads(4));
    assert!(one_stats.partitions > 4, "{}", one_stats.partitions);
    assert_eq!(one_stats.partitions, four_stats.partitions);
    assert!(
        one.text == four.text,
        "the code differs between 1 and 4 threads"
    );
    assert_eq!(one.relocations.len(), four.relocations.len());
}

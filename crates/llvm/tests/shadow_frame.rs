//! Functions with a shadow-stack frame, as clang emits them: the LLVM
//! tier's frame copy (ordinary accesses at constant offsets from the
//! frame pointer, `translate/frame.rs`) must behave exactly as the
//! checked translation and as Cranelift, whatever the stack pointer: a
//! frame in bounds, one that ends past the memory, one that wraps.

mod common;

use common::llvm_stats;
use hayate::{BoundsChecks, Config, Engine, Instance, Memory, Module, Store, Strategy, Trap, Val};

/// Clang's shape: `$fp = $sp - N` once, at the top; the frame's slots at
/// constant offsets from `$fp`; a heap address `$p` that may fault.
const WAT: &str = r#"(module
  (memory (export "memory") 1)
  (global $sp (export "sp") (mut i32) (i32.const 4096))
  (global $g (export "g") (mut i32) (i32.const 0))

  ;; Stores to its frame and to the heap around accesses that may fault:
  ;; what a trap leaves must not depend on the tier.
  (func (export "slots") (param $x i32) (result i32) (local $fp i32)
    global.get $sp
    i32.const 32
    i32.sub
    local.tee $fp
    global.set $sp
    (i32.store offset=4 (local.get $fp) (local.get $x))
    (i32.store (i32.const 100) (i32.const 7))
    (global.set $g (i32.const 1))
    (i32.store offset=24 (local.get $fp) (i32.add (local.get $x) (i32.const 1)))
    (i32.store (i32.const 104) (i32.load offset=4 (local.get $fp)))
    (global.set $g (i32.const 2))
    (drop (i32.load offset=28 (local.get $fp)))
    (i32.add (i32.load offset=24 (local.get $fp)) (i32.load offset=4 (local.get $fp)))
    (global.set $sp (i32.add (local.get $fp) (i32.const 32))))

  ;; A frame slot stored on every turn of a loop whose heap store faults
  ;; at `$p + 4 * i` once past the end: the slot holds the turn that
  ;; faulted (a store LLVM moved out of the loop would leave another).
  (func (export "loop") (param $p i32) (param $n i32) (local $fp i32) (local $i i32)
    global.get $sp
    i32.const 16
    i32.sub
    local.set $fp
    (loop $l
      (i32.store offset=8 (local.get $fp) (local.get $i))
      (i32.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))
        (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))

  ;; A heap store through another address that is the frame slot: the
  ;; slot's load must see it.
  (func (export "overlap") (param $p i32) (result i32) (local $fp i32)
    global.get $sp
    i32.const 16
    i32.sub
    local.set $fp
    (i32.store offset=8 (local.get $fp) (i32.const 1))
    (i32.store (local.get $p) (i32.const 99))
    (i32.load offset=8 (local.get $fp)))

  ;; A frame out of bounds traps in the checked function, called from
  ;; another function.
  (func $deep (param $x i32) (result i32) (local $fp i32)
    global.get $sp
    i32.const 16
    i32.sub
    local.set $fp
    (i32.store offset=12 (local.get $fp) (local.get $x))
    (i32.load offset=12 (local.get $fp)))
  (func $outer (export "outer") (param i32) (result i32)
    (i32.add (call $deep (local.get 0)) (i32.const 1)))

  ;; The frame pointer set a second time: no frame copy.
  (func (export "reset") (result i32) (local $fp i32)
    global.get $sp
    i32.const 16
    i32.sub
    local.set $fp
    (i32.store (local.get $fp) (i32.const 5))
    (local.set $fp (i32.const 0))
    (i32.load (local.get $fp)))

  ;; A frame function calling a chain of callees it alone calls ($mid,
  ;; which calls $leaf) and one another function calls too ($shared);
  ;; its frame store comes after the calls.
  (func $chain (export "chain") (param $p i32) (result i32) (local $fp i32) (local $r i32)
    global.get $sp
    i32.const 16
    i32.sub
    local.set $fp
    (local.set $r (i32.add (call $mid (local.get $p)) (call $shared (local.get $p))))
    (i32.store offset=12 (local.get $fp) (local.get $r))
    (i32.load offset=12 (local.get $fp)))
  (func $mid (param $p i32) (result i32)
    (global.set $g (i32.const 3))
    (i32.add (call $leaf (local.get $p)) (i32.const 1)))
  (func $leaf (param $p i32) (result i32)
    (i32.load (local.get $p)))
  (func $shared (param $p i32) (result i32)
    (i32.load offset=4 (local.get $p)))
  (func (export "share") (param $p i32) (result i32)
    (call $shared (local.get $p))))"#;

/// Exports of `WAT` in order of definition, as defined-function indices.
const SLOTS: u32 = 0;
const LOOP: u32 = 1;
const OVERLAP: u32 = 2;
const DEEP: u32 = 3;
const RESET: u32 = 5;
const CHAIN: u32 = 6;
const MID: u32 = 7;
const LEAF: u32 = 8;

/// Stack pointers for `slots` (whose frame is 32 bytes, reached up to
/// offset 32): a frame in bounds, the last one in bounds, one whose
/// unused load at offset 28 is past the end, one whose slot at offset 24
/// is, one starting at the end, one that wraps below zero, and the
/// highest address.
const STACK_POINTERS: [u32; 7] = [4096, 65536, 65536 + 4, 65536 + 8, 65536 + 32, 16, u32::MAX];

/// An instance of `WAT` under `config`, with its stack pointer set to
/// `sp`.
fn instance_at(config: &Config, sp: u32) -> (Store<()>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    instance
        .get_global(&mut store, "sp")
        .unwrap()
        .set(&mut store, Val::I32(sp as i32))
        .unwrap();
    (store, instance)
}

/// The outcome of calling `export` with `args` after setting the stack
/// pointer to `sp`, and what it left: `$g`, `$sp` and the memory's words
/// that any function here writes.
fn outcome(
    strategy: Strategy,
    checks: BoundsChecks,
    sp: u32,
    export: &str,
    args: &[Val],
) -> String {
    let mut config = Config::new();
    config.strategy(strategy).bounds_checks(checks);
    let (mut store, instance) = instance_at(&config, sp);
    let global =
        |store: &mut Store<()>, name: &str| instance.get_global(&mut *store, name).unwrap();
    let f = instance.get_func(&mut store, export).unwrap();
    let mut results = vec![Val::I32(0); f.ty(&store).results().len()];
    let result = match f.call(&mut store, args, &mut results) {
        Ok(()) => format!("{results:?}"),
        Err(e) => format!("trap {:?}", e.downcast_ref::<Trap>().expect("a trap")),
    };
    let (g, sp) = (
        global(&mut store, "g").get(&mut store),
        global(&mut store, "sp").get(&mut store),
    );
    let memory: Memory = instance.get_memory(&mut store, "memory").unwrap();
    let words: Vec<String> = memory
        .data(&store)
        .chunks(4)
        .enumerate()
        .filter(|(_, w)| w.iter().any(|b| *b != 0))
        .map(|(i, w)| format!("{}={:?}", i * 4, w))
        .collect();
    format!("{result}; g {g:?}; sp {sp:?}; memory {}", words.join(" "))
}

/// Runs `export` under both tiers and both bounds modes for every stack
/// pointer: every outcome the same as Cranelift's; the outcomes.
fn agree(export: &str, args: &[Val], stack_pointers: &[u32]) -> Vec<String> {
    let mut seen = Vec::new();
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for &sp in stack_pointers {
            let llvm = outcome(Strategy::Llvm, checks, sp, export, args);
            let cranelift = outcome(Strategy::Cranelift, checks, sp, export, args);
            assert_eq!(llvm, cranelift, "{export}{args:?}, sp {sp:#x}, {checks:?}");
            seen.push(llvm);
        }
    }
    seen
}

#[test]
fn frame_copies_are_made_only_for_a_frame_pointer_set_once() {
    let stats = llvm_stats(&wat::parse_str(WAT).unwrap());
    let copies: Vec<u32> = stats.frame_copies.iter().map(|f| f.as_u32()).collect();
    assert_eq!(copies, [SLOTS, LOOP, OVERLAP, DEEP, CHAIN], "{stats:?}");
    assert!(!copies.contains(&RESET));
}

#[test]
fn a_frame_out_of_bounds_traps_where_the_checked_code_does() {
    let seen = agree("slots", &[Val::I32(40)], &STACK_POINTERS);
    // In bounds: 41 + 40.
    for s in &seen[0..2] {
        assert!(s.starts_with("[I32(81)]"), "{s}");
    }
    // Past the end: each a trap, each leaving a different state.
    for s in &seen[2..STACK_POINTERS.len()] {
        assert!(s.starts_with("trap MemoryOutOfBounds"), "{s}");
    }
    assert!(
        seen[2].contains("g I32(2)"),
        "only the unused load faults: {}",
        seen[2]
    );
    assert!(
        seen[3].contains("g I32(1)"),
        "the second slot faults: {}",
        seen[3]
    );
    for s in &seen[4..STACK_POINTERS.len()] {
        assert!(s.contains("g I32(0)"), "the first slot faults: {s}");
    }
}

#[test]
fn a_frame_store_stays_in_its_loop_turn() {
    let p = 65536 - 40;
    for sp in [4096, 65536 + 8, 16] {
        let seen = agree("loop", &[Val::I32(p), Val::I32(100)], &[sp]);
        assert!(seen[0].starts_with("trap MemoryOutOfBounds"), "{}", seen[0]);
    }
    let seen = agree("loop", &[Val::I32(p), Val::I32(100)], &[4096]);
    // The frame's slot at 4096 - 16 + 8 holds the turn whose store
    // faulted, 10.
    assert!(seen[0].contains("4088=[10, 0, 0, 0]"), "{}", seen[0]);
    agree("loop", &[Val::I32(1024), Val::I32(100)], &[4096, 2048]);
}

#[test]
fn a_heap_store_to_a_frame_slot_is_seen_by_the_frame() {
    let seen = agree("overlap", &[Val::I32(4096 - 16 + 8)], &[4096]);
    assert!(seen[0].starts_with("[I32(99)]"), "{}", seen[0]);
    agree(
        "overlap",
        &[Val::I32(65536)],
        &[4096, 65536 + 16, 65536 + 8],
    );
    agree("reset", &[], &[4096, 65536 + 16]);
}

/// The trap of calling `export` with `arg` under `strategy`, with the
/// stack pointer at `sp`: as text with its backtrace, and its frames.
fn backtrace(
    strategy: Strategy,
    sp: u32,
    export: &str,
    arg: i32,
) -> (String, Vec<(u32, Option<usize>)>) {
    let mut config = Config::new();
    config.strategy(strategy);
    let (mut store, instance) = instance_at(&config, sp);
    let f = instance.get_func(&mut store, export).unwrap();
    let e = f
        .call(&mut store, &[Val::I32(arg)], &mut [Val::I32(0)])
        .expect_err("traps");
    (format!("{e:?}"), common::frames_of(&e))
}

#[test]
fn a_trap_in_the_checked_function_names_the_function_once() {
    for sp in [65536 + 16, 8] {
        let seen = agree("outer", &[Val::I32(3)], &[sp]);
        assert!(seen[0].starts_with("trap MemoryOutOfBounds"), "{}", seen[0]);
        let (text, frames) = backtrace(Strategy::Llvm, sp, "outer", 3);
        assert_eq!(text.matches("deep").count(), 1, "{text}");
        assert!(text.contains("outer"), "{text}");
        assert_eq!(frames, backtrace(Strategy::Cranelift, sp, "outer", 3).1);
    }
    assert!(agree("outer", &[Val::I32(3)], &[4096])[0].starts_with("[I32(4)]"));
}

#[test]
fn fuel_is_charged_alike_on_both_copies() {
    let run = |strategy: Strategy, sp: u32, fuel: u64| {
        let mut config = Config::new();
        config.strategy(strategy).consume_fuel(true);
        let (mut store, instance) = instance_at(&config, sp);
        store.set_fuel(fuel).unwrap();
        let f = instance.get_func(&mut store, "loop").unwrap();
        let outcome = match f.call(&mut store, &[Val::I32(0), Val::I32(50)], &mut []) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("{:?}", e.downcast_ref::<Trap>()),
        };
        format!("{outcome}, {} left", store.get_fuel().unwrap())
    };
    for sp in [4096, 65536 + 8] {
        for fuel in [0, 3, 5, 6, 40, 1000] {
            assert_eq!(
                run(Strategy::Llvm, sp, fuel),
                run(Strategy::Cranelift, sp, fuel),
                "sp {sp:#x}, fuel {fuel}"
            );
        }
    }
}

#[test]
fn a_checked_function_calls_checked_copies_of_the_callees_it_alone_calls() {
    let stats = llvm_stats(&wat::parse_str(WAT).unwrap());
    let checked: Vec<u32> = stats.checked.iter().map(|f| f.as_u32()).collect();
    assert_eq!(
        checked,
        [SLOTS, LOOP, OVERLAP, DEEP, CHAIN, MID, LEAF],
        "{stats:?}"
    );
    // The frame in bounds, or past the end (its store after the calls
    // faults); the leaf's load in bounds, or past the end.
    let seen = agree("chain", &[Val::I32(64)], &[4096, 65536 + 4]);
    assert!(seen[0].starts_with("[I32(1)]"), "{}", seen[0]);
    assert!(seen[1].starts_with("trap MemoryOutOfBounds"), "{}", seen[1]);
    assert!(seen[1].contains("g I32(3)"), "{}", seen[1]);
    let seen = agree("chain", &[Val::I32(65536)], &[4096, 65536 + 4]);
    assert!(seen.iter().all(|s| s.starts_with("trap MemoryOutOfBounds")));
    agree("share", &[Val::I32(64)], &[4096]);
    // A trap in the leaf's checked copy, reached from the chain's.
    let (text, frames) = backtrace(Strategy::Llvm, 65536 + 4, "chain", 65536);
    for name in ["leaf", "mid", "chain"] {
        assert_eq!(text.matches(name).count(), 1, "{name}: {text}");
    }
    let cranelift = backtrace(Strategy::Cranelift, 65536 + 4, "chain", 65536);
    assert_eq!(frames, cranelift.1);
}

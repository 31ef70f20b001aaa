//! The cost of exception handling, Hayate and Wasmtime side by side: a
//! throw caught in the throwing function, one frame up and ten frames up,
//! and the cost of calls inside a `try_table` when nothing is thrown
//! (which must be none), as nanoseconds per iteration.

use anyhow::Result;

use crate::per_op::{self, Proposals, Row};

/// The kernels: each export `run(n) -> i32` loops `n` times.
const MODULE: &str = r#"(module
  (tag $e (param i32))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $throw_at (param $depth i32) (param $v i32)
    (if (i32.eqz (local.get $depth)) (then (throw $e (local.get $v))))
    (call $throw_at (i32.sub (local.get $depth) (i32.const 1)) (local.get $v)))
  (func (export "local") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (throw $e (local.get $n)))
          (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func $caught_at (param $n i32) (param $depth i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (call $throw_at (local.get $depth) (local.get $n)))
          (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "one_frame") (param i32) (result i32)
    (call $caught_at (local.get 0) (i32.const 0)))
  (func (export "ten_frames") (param i32) (result i32)
    (call $caught_at (local.get 0) (i32.const 9)))
  (func (export "calls_in_try") (param $n i32) (result i32)
    (local $sum i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (loop $l
          (local.set $sum (call $leaf (local.get $sum)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $sum))))
  (func (export "calls") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (call $leaf (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
)"#;

/// Kernels and their iteration counts.
const KERNELS: &[(&str, i32)] = &[
    ("local", 2_000_000),
    ("one_frame", 1_000_000),
    ("ten_frames", 500_000),
    ("calls_in_try", 100_000_000),
    ("calls", 100_000_000),
];

/// Runs every kernel `runs` times per engine.
pub fn exceptions_cost(runs: usize) -> Result<Vec<Row>> {
    per_op::run(
        MODULE,
        KERNELS,
        runs,
        false,
        Proposals {
            exceptions: true,
            gc: false,
        },
    )
}

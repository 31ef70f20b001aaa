//! The cost of GC allocation, Hayate and Wasmtime side by side: small
//! structures allocated and dropped, a list kept alive while it grows,
//! and arrays allocated and filled, as nanoseconds per object.

use anyhow::Result;

use crate::per_op::{self, Proposals, Row};

const MODULE: &str = r#"(module
  (type $node (struct (field $v i32) (field $next (mut (ref null $node)))))
  (type $ints (array (mut i32)))
  ;; `n` two-field structures, none kept.
  (func (export "garbage") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (struct.get $node $v (struct.new $node (local.get $n) (ref.null $node)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; A list of `n` nodes, all kept until the end, then summed.
  (func (export "list") (param $n i32) (result i32)
    (local $head (ref null $node)) (local $sum i32)
    (loop $l
      (local.set $head (struct.new $node (local.get $n) (local.get $head)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (block $done
      (loop $s
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum (i32.add (local.get $sum) (struct.get $node $v (local.get $head))))
        (local.set $head (struct.get $node $next (local.get $head)))
        (br $s)))
    (local.get $sum))
  ;; `n` arrays of 16 i32s, each filled by array.new.
  (func (export "arrays") (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (array.len (array.new $ints (local.get $n) (i32.const 16)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
)"#;

const KERNELS: &[(&str, i32)] = &[
    ("garbage", 10_000_000),
    ("list", 1_000_000),
    ("arrays", 5_000_000),
];

/// Runs every kernel `runs` times per engine.
pub fn gc_cost(runs: usize) -> Result<Vec<Row>> {
    per_op::run(
        MODULE,
        KERNELS,
        runs,
        true,
        Proposals {
            exceptions: false,
            gc: true,
        },
    )
}

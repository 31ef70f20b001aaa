//! Guest modules shared by the SQLite tests, in the text format, and
//! quoting for SQL.

#![allow(dead_code)]

/// Numbers: `add` (i64), `mul32` (i32), `addf` (f64), `half32` (f32),
/// `mixed` (i32, i64, f64) -> f64, `mixed_null` (i32, f32) -> i32.
pub const NUMBERS: &str = r#"(module
  (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "mul32") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func (export "addf") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func (export "half32") (param f32) (result f32) (f32.mul (local.get 0) (f32.const 0.5)))
  (func (export "v128") (param v128) (result i32) (i32.const 0))
  (func (export "mixed") (param i32 i64 f64) (result f64)
    (f64.add (f64.convert_i32_s (local.get 0))
             (f64.add (f64.convert_i64_s (local.get 1)) (local.get 2))))
  (func (export "mixed_null") (param i32 f32) (result i32)
    (i32.add (local.get 0) (i32.trunc_f32_s (local.get 1))))
  (global $calls (mut i64) (i64.const 0))
  (func (export "count") (param i64) (result i64)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (global.get $calls)))"#;

/// TEXT and BLOB with a bump allocator: `echo`, `len`, `len_plus`, `rev`,
/// `is_null`, `bad_utf8`, `top` (the allocator's top).
pub const BYTES: &str = r#"(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func $alloc (export "alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $top))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (local.get $end) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (return (i32.const 0))))
        (br $grow)))
    (global.set $top (local.get $end))
    (local.get $p))
  (func (export "dealloc") (param $p i32) (param $n i32)
    (if (i32.eq (i32.add (local.get $p) (local.get $n)) (global.get $top))
      (then (global.set $top (local.get $p)))))
  (func (export "top") (result i64) (i64.extend_i32_u (global.get $top)))
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))
  (func (export "echo") (param i32 i32) (result i64) (call $pack (local.get 0) (local.get 1)))
  (func (export "len") (param i32 i32) (result i64) (i64.extend_i32_s (local.get 1)))
  (func (export "len_plus") (param i32 i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 1)) (local.get 2)))
  (func (export "is_null") (param i32 i32) (result i32) (i32.eq (local.get 1) (i32.const -1)))
  (func (export "bad_utf8") (param i32 i32) (result i64)
    (i32.store8 (i32.const 0) (i32.const 255))
    (call $pack (i32.const 0) (i32.const 1)))
  (func (export "rev") (param $p i32) (param $n i32) (result i64)
    (local $q i32) (local $i i32)
    (local.set $q (call $alloc (local.get $n)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $q) (local.get $i))
          (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $n))
                                (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (call $pack (local.get $q) (local.get $n))))"#;

/// Aggregates: `step`/`total` (sum of i64), `fstep`/`mean` (average of f64).
pub const AGGREGATES: &str = r#"(module
  (global $s (mut i64) (i64.const 0))
  (global $fs (mut f64) (f64.const 0))
  (global $n (mut f64) (f64.const 0))
  (func (export "step") (param i64) (global.set $s (i64.add (global.get $s) (local.get 0))))
  (func (export "total") (result i64) (global.get $s))
  (func (export "fstep") (param f64)
    (global.set $fs (f64.add (global.get $fs) (local.get 0)))
    (global.set $n (f64.add (global.get $n) (f64.const 1))))
  (func (export "mean") (result f64) (f64.div (global.get $fs) (global.get $n))))"#;

/// Misbehaving guests: `spin` (infinite loop), `bomb` (grows memory until
/// refused, then traps), `boom` (unreachable), `deep` (unbounded
/// recursion), `div` (division, traps on zero), `burn` (counts down from
/// its argument).
pub const MALICIOUS: &str = r#"(module
  (memory 1)
  (func (export "spin") (param i64) (result i64) (loop $l (br $l)) (i64.const 0))
  (func (export "bomb") (param i64) (result i64)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)
  (func (export "boom") (param i64) (result i64) unreachable)
  (func (export "burn") (param $n i64) (result i64)
    (loop $l
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br_if $l (i64.gt_s (local.get $n) (i64.const 0))))
    (local.get $n))
  (func $deep (export "deep") (param i64) (result i64)
    (i64.add (call $deep (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "div") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1))))"#;

/// Escapes `'` for an SQL string literal.
pub fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

//! What several component test files share.

/// A core module with a memory and a bump `realloc`, shared by the tests.
pub const LIBC: &str = r#"
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32)
      (local.set $p
        (i32.and
          (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $bump (i32.add (local.get $p) (local.get $size)))
      (local.get $p))
"#;

/// Sums the `n` u32s at `p` (a core function body's helper).
pub const SUM: &str = r#"
    (func $sum (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (block $done
        (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
      (local.get $s))
"#;

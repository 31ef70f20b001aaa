(module
  (table $t 1 funcref)
  (table $e 1 externref)
  (global $g (mut i64) (i64.const 0))
  (global $c i32 (i32.const 7))
  (elem declare func $f)
  (func $f (export "f") (param i32) (result funcref)
    local.get 0
    table.get $t)
  (func (export "set") (param i32 externref)
    local.get 0 local.get 1 table.set $e)
  (func (export "grow") (result i32)
    ref.func $f
    i32.const 2
    table.grow $t)
  (func (export "is_null") (param externref) (result i32)
    local.get 0 ref.is_null)
  (func (export "globals") (result i32)
    global.get $g
    i64.const 1
    i64.add
    global.set $g
    global.get $c))

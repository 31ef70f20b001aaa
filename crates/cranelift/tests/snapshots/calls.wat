(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "host" (func $host (param i32) (result i32)))
  (table 2 funcref)
  (func $direct (param i32) (result i32)
    local.get 0
    call $host
    call $direct)
  (func (export "indirect") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    call_indirect (type $ii))
  (func (export "multi") (param i64) (result i64 i32 f64)
    local.get 0 i32.const 1 f64.const 2.5))

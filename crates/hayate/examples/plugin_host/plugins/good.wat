;; A well-behaved plugin: process(x) = 2x + host.bonus(x).
(module
  (import "host" "bonus" (func $bonus (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 2)) (call $bonus (local.get 0)))))

;; Calls a host function that fails: the host's error comes back unchanged.
(module
  (import "host" "fail" (func $fail (param i32)))
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (call $fail (local.get 0))
    (local.get 0)))

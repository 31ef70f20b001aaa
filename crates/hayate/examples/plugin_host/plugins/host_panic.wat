;; Calls a host function that panics: the panic reaches the host, which
;; catches it around the plugin call.
(module
  (import "host" "panic" (func $panic))
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (call $panic)
    (local.get 0)))

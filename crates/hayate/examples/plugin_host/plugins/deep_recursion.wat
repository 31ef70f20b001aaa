;; Recurses without end: stopped by the Wasm stack limit.
(module
  (memory (export "memory") 1)
  (func $process (export "process") (param i32) (result i32)
    (i32.add (i32.const 1) (call $process (local.get 0)))))

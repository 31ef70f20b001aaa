;; Reads far outside its linear memory: stopped by the guard region.
(module
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (i32.load (i32.const 0xfffffff0))))

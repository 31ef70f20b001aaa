;; Never returns: stopped by fuel (and, as a backstop, the epoch deadline).
(module
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (loop $forever (br $forever))
    (local.get 0)))

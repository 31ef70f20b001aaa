;; Grows memory until refused, then insists: stopped by the store's limiter
;; (memory.grow returns -1) and then by its own trap.
(module
  (memory (export "memory") 1)
  (func (export "process") (param i32) (result i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $more)))
    unreachable))

;; hostile: memory.grow by huge and wrapping amounts, memory.fill/copy with wrapping lengths
;; run: --invoke f
;; expect: trap=out of bounds
(module
  (memory 1)
  (func (export "f")
    (if (i32.ne (memory.grow (i32.const -1)) (i32.const -1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const 65536)) (i32.const -1)) (then unreachable))
    ;; Growing to 4 GiB is allowed by default but touches nothing.
    (if (i32.ne (memory.grow (i32.const 65535)) (i32.const 1)) (then unreachable))
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 4096))
    (memory.fill (i32.const -1) (i32.const 0) (i32.const 2))))

;; hostile: table.grow by 0xFFFFFFFF and by the largest allowed amount, then fill
;; run: --invoke f
;; expect: trap=out of bounds table access
(module
  (table $t 0 funcref)
  (func $g)
  (func (export "f")
    (if (i32.ne (table.grow $t (ref.null func) (i32.const -1)) (i32.const -1))
      (then unreachable))
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 10000001)) (i32.const -1))
      (then unreachable))
    ;; Growing to the limit is allowed; filling a few elements stays cheap.
    (drop (table.grow $t (ref.null func) (i32.const 9999999)))
    (table.fill $t (i32.const 9999000) (ref.func $g) (i32.const 999))
    ;; A range that wraps is out of bounds (a trap), not a huge loop.
    (table.fill $t (i32.const -1) (ref.func $g) (i32.const 2)))
  (elem declare func $g))

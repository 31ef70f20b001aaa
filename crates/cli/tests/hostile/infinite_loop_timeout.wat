;; hostile: an infinite loop, and one inside deep recursion, stopped by the epoch deadline
;; run: -W timeout=500ms --invoke f
;; expect: trap=interrupt
(module
  (func $spin (param i32)
    (if (local.get 0)
      (then (call $spin (i32.sub (local.get 0) (i32.const 1))))
      (else (loop $l (br $l)))))
  (func (export "f") (call $spin (i32.const 1000))))

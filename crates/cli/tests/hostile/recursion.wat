;; hostile: unbounded recursion
;; run: --invoke f
;; expect: trap=call stack exhausted
(module (func $f (export "f") (call $f)))

;; hostile: random_get of all 64 MiB of memory, and of 0xFFFFFFFF bytes
;; run: -W max-memory-size=64Mi
;; expect: exit=0
(module
  ;; The random bytes go straight into guest memory (no host buffer of
  ;; buf_len bytes); a length that runs past memory, or wraps, is a fault
  ;; (21). Exit 1-3 name the check that failed.
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1024 1024)
  (func (export "_start")
    (local $i i32)
    (loop $again
      (if (call $random_get (i32.const 0) (i32.const 0x4000000))
        (then (call $proc_exit (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 4))))
    (if (i32.ne (call $random_get (i32.const 1) (i32.const 0xFFFFFFFF)) (i32.const 21))
      (then (call $proc_exit (i32.const 2))))
    (if (i32.ne (call $random_get (i32.const 0x3FFFFFC) (i32.const 8)) (i32.const 21))
      (then (call $proc_exit (i32.const 3))))
    (call $proc_exit (i32.const 0))))

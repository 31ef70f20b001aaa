;; hostile: fd_write with iovec lengths and counts that wrap u32 (70000 x 1 MiB, 0xFFFFFFFF)
;; run: -W max-memory-size=1Mi
;; expect: exit=0
(module
  ;; 70000 iovecs of the whole 1 MiB memory add up to 73 GB, far past a
  ;; u32; counts of 0x20000000 and 0xFFFFFFFF make count x 8 wrap; an entry
  ;; of 0xFFFFFFFF bytes at 1 wraps its end. The wrapping counts and the
  ;; wrapping entry must fail with fault (21); the big sum must be a short
  ;; write of at most the memory's size. Exit 1-4 name the check that
  ;; failed.
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 16 16)
  (func (export "_start")
    (local $i i32)
    (loop $fill
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store offset=4 (i32.mul (local.get $i) (i32.const 8)) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 70000))))
    (if (call $fd_write (i32.const 2) (i32.const 0) (i32.const 70000) (i32.const 1048568))
      (then (call $proc_exit (i32.const 1))))
    (if (i32.gt_u (i32.load (i32.const 1048568)) (i32.const 1048576))
      (then (call $proc_exit (i32.const 2))))
    (if (i32.ne (call $fd_write (i32.const 2) (i32.const 0) (i32.const 0x20000000) (i32.const 1048568))
                (i32.const 21))
      (then (call $proc_exit (i32.const 3))))
    (if (i32.ne (call $fd_write (i32.const 2) (i32.const 0) (i32.const 0xFFFFFFFF) (i32.const 1048568))
                (i32.const 21))
      (then (call $proc_exit (i32.const 3))))
    (i32.store (i32.const 0) (i32.const 1))
    (i32.store (i32.const 4) (i32.const 0xFFFFFFFF))
    (if (i32.ne (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 1048568))
                (i32.const 21))
      (then (call $proc_exit (i32.const 4))))
    (call $proc_exit (i32.const 0))))

;; hostile: args_get and fd_write with result pointers past the end of memory and wrapping
;; run: -W max-memory-size=64Ki
;; expect: exit=0
(module
  ;; Every pointer a host call writes through is checked against memory:
  ;; argv or its strings past the end, or at 0xFFFFFFFF, and an nwritten
  ;; pointer past the end, are a fault (21), never a host crash. Exit 1-4
  ;; name the check that failed.
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1)
  (func (export "_start")
    (if (i32.ne (call $args_get (i32.const 0) (i32.const 65535)) (i32.const 21))
      (then (call $proc_exit (i32.const 1))))
    (if (i32.ne (call $args_get (i32.const 65532) (i32.const 0xFFFFFFF0)) (i32.const 21))
      (then (call $proc_exit (i32.const 2))))
    (if (i32.ne (call $args_get (i32.const 0xFFFFFFFC) (i32.const 0)) (i32.const 21))
      (then (call $proc_exit (i32.const 3))))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 65536))
                (i32.const 21))
      (then (call $proc_exit (i32.const 4))))
    (call $proc_exit (i32.const 0))))

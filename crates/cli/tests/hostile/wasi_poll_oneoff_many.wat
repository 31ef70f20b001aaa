;; hostile: poll_oneoff with 131074 subscriptions, and with 0xFFFFFFFF
;; run: -W max-memory-size=16Mi
;; expect: exit=0
(module
  ;; All-zero subscriptions are relative realtime clocks of 0 ns. One call
  ;; takes at most MAX_SUBSCRIPTIONS (131073) of them: one more is inval
  ;; (28), a count whose array does not fit memory is fault (21), and the
  ;; maximum works and reports every clock. Exit 1-4 name the check that
  ;; failed.
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 256 256)
  ;; subscriptions at 0 (131074 x 48 bytes), events from 6291552,
  ;; nevents at the end of memory.
  (func (export "_start")
    (if (i32.ne (call $poll_oneoff (i32.const 0) (i32.const 6291552) (i32.const 131074)
                  (i32.const 16777208))
                (i32.const 28))
      (then (call $proc_exit (i32.const 1))))
    (if (i32.ne (call $poll_oneoff (i32.const 0) (i32.const 6291552) (i32.const 0xFFFFFFFF)
                  (i32.const 16777208))
                (i32.const 21))
      (then (call $proc_exit (i32.const 2))))
    (if (call $poll_oneoff (i32.const 0) (i32.const 6291552) (i32.const 131073)
          (i32.const 16777208))
      (then (call $proc_exit (i32.const 3))))
    (if (i32.ne (i32.load (i32.const 16777208)) (i32.const 131073))
      (then (call $proc_exit (i32.const 4))))
    (call $proc_exit (i32.const 0))))

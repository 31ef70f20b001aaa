;; hostile: fd_write with 131000 iovecs over the same 32000 bytes
;; run: -W max-memory-size=1Mi
;; expect: exit=0
(module
  ;; The iovec array fills the 1 MiB memory and every entry names its first
  ;; 32000 bytes. A host that gathers the buffers into one allocation needs
  ;; 131000 x 32000 bytes (4 GB). Hayate uses at most IOV_MAX (1024)
  ;; entries, cut to the size of memory, and writes them straight from
  ;; guest memory. Exit 1: fd_write failed; 2: it wrote more than memory
  ;; holds; 3: it wrote nothing.
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 16 16)
  (func (export "_start")
    (local $i i32)
    (loop $fill
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store offset=4 (i32.mul (local.get $i) (i32.const 8)) (i32.const 32000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 131000))))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 131000) (i32.const 1048568))
      (then (call $proc_exit (i32.const 1))))
    (if (i32.gt_u (i32.load (i32.const 1048568)) (i32.const 1048576))
      (then (call $proc_exit (i32.const 2))))
    (if (i32.eqz (i32.load (i32.const 1048568)))
      (then (call $proc_exit (i32.const 3))))
    (call $proc_exit (i32.const 0))))

;; hostile: every path function 200 times with a 64 MiB path, a 0xFFFFFFFF one and a 4096-byte one
;; run: -W max-memory-size=64Mi
;; expect: exit=0
(module
  ;; A host that copies each path out of memory before looking at it
  ;; copies 64 MiB per call here (and 4 GiB is "only" a fault). Hayate
  ;; refuses a path of PATH_MAX (4096) bytes or more with nametoolong (37)
  ;; before copying anything, whatever the fd. Exit N: the Nth function
  ;; (in the order below) did not say nametoolong.
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $path_filestat_set_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink" (func $path_readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory" (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1024 1024)
  ;; Every function with a path of $len bytes at $p: the index (from 1)
  ;; of the first that does not fail with nametoolong, or 0.
  (func $all (param $p i32) (param $len i32) (result i32)
    (if (i32.ne (call $path_create_directory (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 1))))
    (if (i32.ne (call $path_filestat_get (i32.const 3) (i32.const 0) (local.get $p) (local.get $len) (i32.const 64)) (i32.const 37)) (then (return (i32.const 2))))
    (if (i32.ne (call $path_filestat_set_times (i32.const 3) (i32.const 0) (local.get $p) (local.get $len) (i64.const 0) (i64.const 0) (i32.const 0)) (i32.const 37)) (then (return (i32.const 3))))
    (if (i32.ne (call $path_link (i32.const 3) (i32.const 0) (local.get $p) (local.get $len) (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 4))))
    (if (i32.ne (call $path_open (i32.const 3) (i32.const 0) (local.get $p) (local.get $len) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 64)) (i32.const 37)) (then (return (i32.const 5))))
    (if (i32.ne (call $path_readlink (i32.const 3) (local.get $p) (local.get $len) (i32.const 128) (i32.const 64) (i32.const 64)) (i32.const 37)) (then (return (i32.const 6))))
    (if (i32.ne (call $path_remove_directory (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 7))))
    (if (i32.ne (call $path_rename (i32.const 3) (local.get $p) (local.get $len) (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 8))))
    (if (i32.ne (call $path_symlink (local.get $p) (local.get $len) (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 9))))
    (if (i32.ne (call $path_unlink_file (i32.const 3) (local.get $p) (local.get $len)) (i32.const 37)) (then (return (i32.const 10))))
    (i32.const 0))
  (func (export "_start")
    (local $i i32)
    (local $bad i32)
    (memory.fill (i32.const 0) (i32.const 97) (i32.const 0x4000000))
    (loop $again
      (local.set $bad (call $all (i32.const 0) (i32.const 0x4000000)))
      (if (local.get $bad) (then (call $proc_exit (local.get $bad))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 200))))
    (local.set $bad (call $all (i32.const 1) (i32.const 0xFFFFFFFF)))
    (if (local.get $bad) (then (call $proc_exit (i32.add (local.get $bad) (i32.const 20)))))
    (local.set $bad (call $all (i32.const 0) (i32.const 4096)))
    (if (local.get $bad) (then (call $proc_exit (i32.add (local.get $bad) (i32.const 40)))))
    (call $proc_exit (i32.const 0))))

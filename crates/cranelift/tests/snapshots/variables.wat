;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (import "env" "imported" (global $imported (mut i32)))
  (global $counter (mut i64) (i64.const 0))
  (global $constant f32 (f32.const 1.5))
  (func $locals (export "locals") (param i32) (result i32)
    (local i32 v128)
    local.get 0
    local.tee 1
    local.get 1
    i32.add)
  (func $globals (export "globals") (result f32)
    global.get $counter i64.const 1 i64.add global.set $counter
    global.get $imported i32.const 1 i32.add global.set $imported
    global.get $constant))

;; ==== function 0: locals ====
;; function u0:0(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     const0 = 0x00000000000000000000000000000000
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0062                               jump block1
;;
;;                                 block1:
;; @0061                               v6 = iadd.i32 v2, v2
;; @0062                               return v6
;; }
;;
;; ==== function 1: globals ====
;; function u0:1(i64 vmctx, i64) -> f32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64):
;; @0065                               v3 = load.i64 notrap aligned region2 v0+80
;; @0067                               v4 = iconst.i64 1
;; @0069                               v5 = iadd v3, v4  ; v4 = 1
;; @006a                               store notrap aligned region2 v5, v0+80
;; @006c                               v6 = load.i64 notrap aligned readonly can_move v0+72
;; @006c                               v7 = load.i32 notrap aligned region2 v6
;; @006e                               v8 = iconst.i32 1
;; @0070                               v9 = iadd v7, v8  ; v8 = 1
;; @0071                               store notrap aligned region2 v9, v6
;; @0073                               v11 = load.f32 notrap aligned readonly region2 v0+96
;; @0075                               jump block1
;;
;;                                 block1:
;; @0075                               return v11
;; }

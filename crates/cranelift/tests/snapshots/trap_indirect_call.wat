;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (type $v (func))
  (table 4 funcref)
  (func $call (export "call") (param i32)
    local.get 0
    call_indirect (type $v)))

;; ==== function 0: call ====
;; function u0:0(i64 vmctx, i64, i32) tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32, i32) -> i64 system_v
;;     sig1 = (i64 vmctx, i64) tail
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @002d                               v3 = load.i64 notrap aligned region2 v0+80
;; @002d                               v4 = uextend.i64 v2
;; @002d                               v5 = icmp uge v4, v3
;; @002d                               trapnz v5, user3
;; @002d                               v6 = load.i64 notrap aligned region2 v0+72
;; @002d                               v7 = iconst.i64 3
;; @002d                               v8 = ishl v4, v7  ; v7 = 3
;; @002d                               v9 = iadd v6, v8
;; @002d                               v10 = load.i64 notrap aligned region1 v9
;; @002d                               v11 = iconst.i64 -2
;; @002d                               v12 = band v10, v11  ; v11 = -2
;; @002d                               brif v10, block3(v12), block2
;;
;;                                 block2 cold:
;; @002d                               v15 = load.i64 notrap aligned readonly can_move v0+32
;; @002d                               v16 = load.i64 notrap aligned readonly can_move v15+96
;; @002d                               v14 = iconst.i32 0
;; @002d                               v17 = call_indirect sig0, v16(v0, v14, v2)  ; v14 = 0
;; @002d                               jump block3(v17)
;;
;;                                 block3(v13: i64):
;; @002d                               trapz v13, user4
;; @002d                               v18 = load.i32 notrap aligned readonly v13+24
;; @002d                               v19 = load.i64 notrap aligned readonly can_move v0+40
;; @002d                               v20 = load.i32 notrap aligned readonly can_move v19
;; @002d                               v21 = icmp eq v18, v20
;; @002d                               trapz v21, user5
;; @002d                               v22 = load.i64 notrap aligned readonly v13
;; @002d                               v23 = load.i64 notrap aligned readonly v13+16
;; @002d                               call_indirect sig1, v22(v23, v0)
;; @0030                               jump block1
;;
;;                                 block1:
;; @0030                               return
;; }

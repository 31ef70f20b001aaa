;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (table 4 externref)
  (func $get (export "get") (param i32) (result externref)
    local.get 0 table.get 0))

;; ==== function 0: get ====
;; function u0:0(i64 vmctx, i64, i32) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @002a                               v4 = load.i64 notrap aligned region2 v0+80
;; @002a                               v5 = uextend.i64 v2
;; @002a                               v6 = icmp uge v5, v4
;; @002a                               trapnz v6, user3
;; @002a                               v7 = load.i64 notrap aligned region2 v0+72
;; @002a                               v8 = iconst.i64 3
;; @002a                               v9 = ishl v5, v8  ; v8 = 3
;; @002a                               v10 = iadd v7, v9
;; @002a                               v11 = load.i64 notrap aligned region1 v10
;; @002c                               jump block1
;;
;;                                 block1:
;; @002c                               return v11
;; }

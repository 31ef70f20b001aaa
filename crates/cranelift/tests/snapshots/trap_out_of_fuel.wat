;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = true, epoch_interruption = false }
;;! test = "optimize"
(module
  (func $spin (export "spin") (param i32)
    loop
      local.get 0
      br_if 0
    end))

;; ==== function 0: spin ====
;; function u0:0(i64 vmctx, i64, i32) tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64) -> i8 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0021                               v3 = load.i64 notrap aligned readonly can_move v0+24
;; @0021                               v4 = load.i64 notrap aligned v3+8
;; @0021                               v5 = iconst.i64 0
;; @0021                               v6 = icmp sge v4, v5  ; v5 = 0
;; @0021                               brif v6, block1, block2(v4)
;;
;;                                 block1 cold:
;; @0021                               v8 = load.i64 notrap aligned readonly can_move v0+32
;; @0021                               v9 = load.i64 notrap aligned readonly can_move v8+80
;; @0021                               v10 = call_indirect sig0, v9(v0)
;; @0021                               trapz v10, user11
;; @0021                               v12 = load.i64 notrap aligned v3+8
;; @0021                               jump block2(v12)
;;
;;                                 block2(v27: i64):
;;                                     v32 = load.i64 notrap aligned readonly can_move v0+32
;;                                     v33 = load.i64 notrap aligned readonly can_move v32+80
;; @0026                               v25 = iconst.i64 2
;; @0022                               jump block4(v27)
;;
;;                                 block4(v13: i64):
;;                                     v30 = iconst.i64 0
;;                                     v31 = icmp sge v13, v30  ; v30 = 0
;; @0022                               brif v31, block6, block7(v13)
;;
;;                                 block6 cold:
;; @0022                               store.i64 notrap aligned v13, v3+8
;; @0022                               v19 = call_indirect.i64 sig0, v33(v0)
;; @0022                               trapz v19, user11
;; @0022                               v21 = load.i64 notrap aligned v3+8
;; @0022                               jump block7(v21)
;;
;;                                 block7(v24: i64):
;;                                     v34 = iconst.i64 2
;;                                     v35 = iadd v24, v34  ; v34 = 2
;; @0026                               brif.i32 v2, block4(v35), block8
;;
;;                                 block8:
;; @0028                               jump block5
;;
;;                                 block5:
;; @0029                               jump block3
;;
;;                                 block3:
;; @0029                               store.i64 notrap aligned v35, v3+8
;; @0029                               return
;; }

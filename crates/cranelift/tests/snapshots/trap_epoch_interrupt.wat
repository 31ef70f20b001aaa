;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = true }
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
;; @0021                               v4 = load.i64 notrap aligned v3+16
;; @0021                               v5 = load.i64 notrap aligned readonly can_move v0+56
;; @0021                               v6 = load.i64 notrap aligned v5
;; @0021                               v7 = icmp uge v6, v4
;; @0021                               brif v7, block1, block2(v4)
;;
;;                                 block1 cold:
;; @0021                               v8 = load.i64 notrap aligned readonly can_move v0+32
;; @0021                               v9 = load.i64 notrap aligned readonly can_move v8+88
;; @0021                               v10 = call_indirect sig0, v9(v0)
;; @0021                               trapz v10, user10
;; @0021                               v12 = load.i64 notrap aligned v3+16
;; @0021                               jump block2(v12)
;;
;;                                 block2(v24: i64):
;;                                     v27 = load.i64 notrap aligned readonly can_move v0+32
;;                                     v28 = load.i64 notrap aligned readonly can_move v27+88
;; @0022                               jump block4(v24)
;;
;;                                 block4(v15: i64):
;; @0022                               v14 = load.i64 notrap aligned v5
;; @0022                               v16 = icmp uge v14, v15
;; @0022                               brif v16, block6, block7(v15)
;;
;;                                 block6 cold:
;; @0022                               v19 = call_indirect.i64 sig0, v28(v0)
;; @0022                               trapz v19, user10
;; @0022                               v21 = load.i64 notrap aligned v3+16
;; @0022                               jump block7(v21)
;;
;;                                 block7(v25: i64):
;; @0026                               brif.i32 v2, block4(v25), block8
;;
;;                                 block8:
;; @0028                               jump block5
;;
;;                                 block5:
;; @0029                               jump block3
;;
;;                                 block3:
;; @0029                               return
;; }

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = true, epoch_interruption = true }
;;! test = "optimize"
(module
  (func (export "count") (param i32) (result i32)
    loop
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      br_if 0
    end
    local.get 0))

;; ==== function 0: <wasm function 0> ====
;; function u0:0(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64) -> i8 system_v
;;     sig1 = (i64) -> i8 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0023                               v3 = load.i64 notrap aligned readonly can_move v0+24
;; @0023                               v4 = load.i64 notrap aligned v3+8
;; @0023                               v5 = iconst.i64 0
;; @0023                               v6 = icmp sge v4, v5  ; v5 = 0
;; @0023                               brif v6, block1, block2(v4)
;;
;;                                 block1 cold:
;; @0023                               v8 = load.i64 notrap aligned readonly can_move v0+32
;; @0023                               v9 = load.i64 notrap aligned readonly can_move v8+80
;; @0023                               v10 = call_indirect sig0, v9(v0)
;; @0023                               trapz v10, user11
;; @0023                               v12 = load.i64 notrap aligned v3+8
;; @0023                               jump block2(v12)
;;
;;                                 block2(v19: i64):
;; @0023                               v14 = load.i64 notrap aligned v3+16
;; @0023                               v15 = load.i64 notrap aligned readonly can_move v0+56
;; @0023                               v16 = load.i64 notrap aligned v15
;; @0023                               v17 = icmp uge v16, v14
;; @0023                               brif v17, block3, block4(v14, v19)
;;
;;                                 block3 cold:
;; @0023                               store.i64 notrap aligned v19, v3+8
;;                                     v75 = load.i64 notrap aligned readonly can_move v0+32
;; @0023                               v21 = load.i64 notrap aligned readonly can_move v75+88
;; @0023                               v22 = call_indirect sig1, v21(v0)
;; @0023                               trapz v22, user10
;; @0023                               v24 = load.i64 notrap aligned v3+8
;; @0023                               v26 = load.i64 notrap aligned v3+16
;; @0023                               jump block4(v26, v24)
;;
;;                                 block4(v58: i64, v61: i64):
;;                                     v76 = load.i64 notrap aligned readonly can_move v0+32
;;                                     v77 = load.i64 notrap aligned readonly can_move v76+88
;;                                     v80 = load.i64 notrap aligned readonly can_move v76+80
;; @0028                               v53 = iconst.i32 1
;; @002d                               v56 = iconst.i64 5
;; @0024                               jump block6(v58, v61, v2)
;;
;;                                 block6(v30: i64, v33: i64, v52: i32):
;; @0024                               v29 = load.i64 notrap aligned v15
;; @0024                               v31 = icmp uge v29, v30
;; @0024                               brif v31, block8, block9(v33, v30)
;;
;;                                 block8 cold:
;; @0024                               store.i64 notrap aligned v33, v3+8
;; @0024                               v36 = call_indirect.i64 sig1, v77(v0)
;; @0024                               trapz v36, user10
;; @0024                               v38 = load.i64 notrap aligned v3+8
;; @0024                               v40 = load.i64 notrap aligned v3+16
;; @0024                               jump block9(v38, v40)
;;
;;                                 block9(v41: i64, v60: i64):
;;                                     v78 = iconst.i64 0
;;                                     v79 = icmp sge v41, v78  ; v78 = 0
;; @0024                               brif v79, block10, block11(v41)
;;
;;                                 block10 cold:
;; @0024                               store.i64 notrap aligned v41, v3+8
;; @0024                               v47 = call_indirect.i64 sig0, v80(v0)
;; @0024                               trapz v47, user11
;; @0024                               v49 = load.i64 notrap aligned v3+8
;; @0024                               jump block11(v49)
;;
;;                                 block11(v55: i64):
;;                                     v81 = iconst.i32 1
;;                                     v82 = isub.i32 v52, v81  ; v81 = 1
;;                                     v83 = iconst.i64 5
;;                                     v84 = iadd v55, v83  ; v83 = 5
;; @002d                               brif v82, block6(v60, v84, v82), block12
;;
;;                                 block12:
;; @002f                               jump block7
;;
;;                                 block7:
;; @0032                               jump block5
;;
;;                                 block5:
;;                                     v68 = iconst.i64 6
;;                                     v73 = iadd.i64 v55, v68  ; v68 = 6
;; @0032                               store notrap aligned v73, v3+8
;; @0032                               return v82
;; }

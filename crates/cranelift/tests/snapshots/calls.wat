;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "host" (func $host (param i32) (result i32)))
  (table 2 funcref)
  (func $direct (param i32) (result i32)
    local.get 0
    call $host
    call $direct)
  (func (export "indirect") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    call_indirect (type $ii))
  (func (export "multi") (param i64) (result i64 i32 f64)
    local.get 0 i32.const 1 f64.const 2.5))

;; ==== function 0: direct ====
;; function u0:0(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64 vmctx, i64, i32) -> i32 tail
;;     fn0 = colocated u0:0 sig0
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0054                               v4 = load.i64 notrap aligned readonly can_move v0+72
;; @0054                               v5 = load.i64 notrap aligned readonly can_move v0+80
;; @0054                               v6 = call_indirect sig0, v4(v5, v0, v2)
;; @0056                               v7 = call fn0(v0, v0, v6)
;; @0058                               jump block1
;;
;;                                 block1:
;; @0058                               return v7
;; }
;;
;; ==== function 1: <wasm function 2> ====
;; function u0:1(i64 vmctx, i64, i32, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32, i32) -> i64 system_v
;;     sig1 = (i64 vmctx, i64, i32) -> i32 tail
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i32):
;; @005f                               v5 = load.i64 notrap aligned region2 v0+96
;; @005f                               v6 = uextend.i64 v3
;; @005f                               v7 = icmp uge v6, v5
;; @005f                               trapnz v7, user3
;; @005f                               v8 = load.i64 notrap aligned region2 v0+88
;; @005f                               v9 = iconst.i64 3
;; @005f                               v10 = ishl v6, v9  ; v9 = 3
;; @005f                               v11 = iadd v8, v10
;; @005f                               v12 = load.i64 notrap aligned region1 v11
;; @005f                               v13 = iconst.i64 -2
;; @005f                               v14 = band v12, v13  ; v13 = -2
;; @005f                               brif v12, block3(v14), block2
;;
;;                                 block2 cold:
;; @005f                               v17 = load.i64 notrap aligned readonly can_move v0+32
;; @005f                               v18 = load.i64 notrap aligned readonly can_move v17+96
;; @005f                               v16 = iconst.i32 0
;; @005f                               v19 = call_indirect sig0, v18(v0, v16, v3)  ; v16 = 0
;; @005f                               jump block3(v19)
;;
;;                                 block3(v15: i64):
;; @005f                               trapz v15, user4
;; @005f                               v20 = load.i32 notrap aligned readonly v15+24
;; @005f                               v21 = load.i64 notrap aligned readonly can_move v0+40
;; @005f                               v22 = load.i32 notrap aligned readonly can_move v21
;; @005f                               v23 = icmp eq v20, v22
;; @005f                               trapz v23, user5
;; @005f                               v24 = load.i64 notrap aligned readonly v15
;; @005f                               v25 = load.i64 notrap aligned readonly v15+16
;; @005f                               v26 = call_indirect sig1, v24(v25, v0, v2)
;; @0062                               jump block1
;;
;;                                 block1:
;; @0062                               return v26
;; }
;;
;; ==== function 2: <wasm function 3> ====
;; function u0:2(i64 vmctx, i64, i64) -> i64, i32, f64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64):
;; @0072                               jump block1
;;
;;                                 block1:
;; @0067                               v6 = iconst.i32 1
;; @0069                               v7 = f64const 0x1.4000000000000p1
;; @0072                               return v2, v6, v7  ; v6 = 1, v7 = 0x1.4000000000000p1
;; }

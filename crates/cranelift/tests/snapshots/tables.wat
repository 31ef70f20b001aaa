;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (table $t 1 funcref)
  (table $e 1 externref)
  (global $g (mut i64) (i64.const 0))
  (global $c i32 (i32.const 7))
  (elem declare func $f)
  (func $f (export "f") (param i32) (result funcref)
    local.get 0
    table.get $t)
  (func (export "set") (param i32 externref)
    local.get 0 local.get 1 table.set $e)
  (func (export "grow") (result i32)
    ref.func $f
    i32.const 2
    table.grow $t)
  (func (export "is_null") (param externref) (result i32)
    local.get 0 ref.is_null)
  (func (export "globals") (result i32)
    global.get $g
    i64.const 1
    i64.add
    global.set $g
    global.get $c))

;; ==== function 0: f ====
;; function u0:0(i64 vmctx, i64, i32) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32, i32) -> i64 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0072                               v4 = load.i64 notrap aligned region2 v0+80
;; @0072                               v5 = uextend.i64 v2
;; @0072                               v6 = icmp uge v5, v4
;; @0072                               trapnz v6, user3
;; @0072                               v7 = load.i64 notrap aligned region2 v0+72
;; @0072                               v8 = iconst.i64 3
;; @0072                               v9 = ishl v5, v8  ; v8 = 3
;; @0072                               v10 = iadd v7, v9
;; @0072                               v11 = load.i64 notrap aligned region1 v10
;; @0072                               v12 = iconst.i64 -2
;; @0072                               v13 = band v11, v12  ; v12 = -2
;; @0072                               brif v11, block3(v13), block2
;;
;;                                 block2 cold:
;; @0072                               v16 = load.i64 notrap aligned readonly can_move v0+32
;; @0072                               v17 = load.i64 notrap aligned readonly can_move v16+96
;; @0072                               v15 = iconst.i32 0
;; @0072                               v18 = call_indirect sig0, v17(v0, v15, v2)  ; v15 = 0
;; @0072                               jump block3(v18)
;;
;;                                 block3(v14: i64):
;; @0074                               jump block1(v14)
;;
;;                                 block1(v3: i64):
;; @0074                               return v3
;; }
;;
;; ==== function 1: <wasm function 1> ====
;; function u0:1(i64 vmctx, i64, i32, i64) tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i64):
;; @007b                               v4 = load.i64 notrap aligned region2 v0+96
;; @007b                               v5 = uextend.i64 v2
;; @007b                               v6 = icmp uge v5, v4
;; @007b                               trapnz v6, user3
;; @007b                               v7 = load.i64 notrap aligned region2 v0+88
;; @007b                               v8 = iconst.i64 3
;; @007b                               v9 = ishl v5, v8  ; v8 = 3
;; @007b                               v10 = iadd v7, v9
;; @007b                               store notrap aligned region1 v3, v10
;; @007d                               jump block1
;;
;;                                 block1:
;; @007d                               return
;; }
;;
;; ==== function 2: <wasm function 2> ====
;; function u0:2(i64 vmctx, i64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32) -> i64 system_v
;;     sig1 = (i64, i32, i64, i64) -> i64 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64):
;; @0080                               v3 = iconst.i64 144
;; @0080                               v4 = iadd v0, v3  ; v3 = 144
;; @0080                               v5 = load.i64 notrap aligned v4+16
;; @0080                               brif v5, block3(v4), block2
;;
;;                                 block2 cold:
;; @0080                               v8 = load.i64 notrap aligned readonly can_move v0+32
;; @0080                               v9 = load.i64 notrap aligned readonly can_move v8+104
;; @0080                               v7 = iconst.i32 0
;; @0080                               v10 = call_indirect sig0, v9(v0, v7)  ; v7 = 0
;; @0080                               jump block3(v10)
;;
;;                                 block3(v6: i64):
;;                                     v19 = load.i64 notrap aligned readonly can_move v0+32
;; @0084                               v15 = load.i64 notrap aligned readonly can_move v19+40
;;                                     v20 = iconst.i32 0
;;                                     v18 = iconst.i64 2
;; @0084                               v16 = call_indirect sig1, v15(v0, v20, v18, v6)  ; v20 = 0, v18 = 2
;; @0087                               jump block1
;;
;;                                 block1:
;; @0084                               v17 = ireduce.i32 v16
;; @0087                               return v17
;; }
;;
;; ==== function 3: <wasm function 3> ====
;; function u0:3(i64 vmctx, i64, i64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64):
;; @008d                               jump block1
;;
;;                                 block1:
;; @008c                               v4 = iconst.i64 0
;; @008c                               v5 = icmp.i64 eq v2, v4  ; v4 = 0
;; @008c                               v6 = uextend.i32 v5
;; @008d                               return v6
;; }
;;
;; ==== function 4: <wasm function 4> ====
;; function u0:4(i64 vmctx, i64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64):
;; @0090                               v3 = load.i64 notrap aligned region2 v0+112
;; @0092                               v4 = iconst.i64 1
;; @0094                               v5 = iadd v3, v4  ; v4 = 1
;; @0095                               store notrap aligned region2 v5, v0+112
;; @0097                               v6 = load.i32 notrap aligned readonly region2 v0+128
;; @0099                               jump block1
;;
;;                                 block1:
;; @0099                               return v6
;; }

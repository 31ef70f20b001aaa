;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (func (export "br_table") (param i32) (result i32)
    block (result i32)
      block (result i32)
        i32.const 10
        local.get 0
        br_table 1 0 1
      end
      i32.const 20
      i32.add
    end)
  (func (export "loop_params") (param i32) (result i32)
    local.get 0
    loop (param i32) (result i32)
      i32.const 1
      i32.sub
      local.tee 0
      local.get 0
      br_if 0
    end)
  (func (export "if_no_else") (param i32 i64) (result i64)
    local.get 1
    local.get 0
    if (param i64) (result i64)
      i64.const 1
      i64.add
    end)
  (func (export "dead_code") (result i32)
    i32.const 1
    return
    block
      unreachable
      i32.add
      drop
    end
    i32.const 2))

;; ==== function 0: <wasm function 0> ====
;; function u0:0(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0068                               br_table v2, block4, [block4, block5]
;;
;;                                 block4:
;; @0064                               v6 = iconst.i32 10
;; @0068                               jump block2(v6)  ; v6 = 10
;;
;;                                 block5:
;; @0068                               jump block3
;;
;;                                 block3:
;;                                     v9 = iconst.i32 30
;; @0071                               jump block2(v9)  ; v9 = 30
;;
;;                                 block2(v4: i32):
;; @0072                               jump block1(v4)
;;
;;                                 block1(v3: i32):
;; @0072                               return v3
;; }
;;
;; ==== function 1: <wasm function 1> ====
;; function u0:1(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @0079                               v6 = iconst.i32 1
;; @0077                               jump block2(v2)
;;
;;                                 block2(v4: i32):
;;                                     v8 = iconst.i32 1
;;                                     v9 = isub v4, v8  ; v8 = 1
;; @0080                               brif v9, block2(v9), block4
;;
;;                                 block4:
;; @0082                               jump block3
;;
;;                                 block3:
;; @0083                               jump block1
;;
;;                                 block1:
;; @0083                               return v9
;; }
;;
;; ==== function 2: <wasm function 2> ====
;; function u0:2(i64 vmctx, i64, i32, i64) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i64):
;; @008a                               brif v2, block2, block3
;;
;;                                 block2:
;; @008c                               v6 = iconst.i64 1
;; @008e                               v7 = iadd.i64 v3, v6  ; v6 = 1
;; @008f                               jump block4(v7)
;;
;;                                 block3:
;; @008f                               jump block4(v3)
;;
;;                                 block4(v5: i64):
;; @0090                               jump block1(v5)
;;
;;                                 block1(v4: i64):
;; @0090                               return v4
;; }
;;
;; ==== function 3: <wasm function 3> ====
;; function u0:3(i64 vmctx, i64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64):
;; @0093                               v3 = iconst.i32 1
;; @0095                               return v3  ; v3 = 1
;; }

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (memory 1)
  (func (export "load") (param i32) (result i32)
    local.get 0
    i32.load offset=4)
  (func (export "store8") (param i32 i64)
    local.get 0
    local.get 1
    i64.store8 offset=0x80000000)
  (func (export "size_grow") (param i32) (result i32)
    local.get 0
    memory.grow
    memory.size
    i32.add)
  (func (export "fill") (param i32 i32 i32)
    local.get 0 local.get 1 local.get 2 memory.fill)
  (func (export "copy_word") (param i32 i32)
    local.get 0
    local.get 1
    i32.load
    i32.store
    local.get 0
    local.get 1
    i32.load offset=4
    i32.store offset=4))

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
;; @0063                               v5 = load.i64 notrap aligned readonly can_move v0+72
;; @0066                               v4 = uextend.i64 v2
;; @0066                               v6 = iadd v5, v4
;; @0066                               v7 = load.i32 little region0 v6+4
;; @0069                               jump block1
;;
;;                                 block1:
;; @0069                               return v7
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
;; @006b                               v5 = load.i64 notrap aligned readonly can_move v0+72
;; @0070                               v4 = uextend.i64 v2
;; @0070                               v6 = iadd v5, v4
;; @0070                               v7 = iconst.i64 0x8000_0000
;; @0070                               v8 = iadd v6, v7  ; v7 = 0x8000_0000
;; @0070                               istore8 little region0 v3, v8
;; @0077                               jump block1
;;
;;                                 block1:
;; @0077                               return
;; }
;;
;; ==== function 2: <wasm function 2> ====
;; function u0:2(i64 vmctx, i64, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32, i64) -> i64 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32):
;; @007c                               v6 = load.i64 notrap aligned readonly can_move v0+32
;; @007c                               v7 = load.i64 notrap aligned readonly can_move v6
;; @007c                               v5 = iconst.i32 0
;; @007c                               v4 = uextend.i64 v2
;; @007c                               v8 = call_indirect sig0, v7(v0, v5, v4)  ; v5 = 0
;; @007e                               v10 = load.i64 notrap aligned region2 v0+80
;; @0081                               jump block1
;;
;;                                 block1:
;; @007c                               v9 = ireduce.i32 v8
;; @007e                               v11 = iconst.i64 16
;; @007e                               v12 = ushr.i64 v10, v11  ; v11 = 16
;; @007e                               v13 = ireduce.i32 v12
;; @0080                               v14 = iadd v9, v13
;; @0081                               return v14
;; }
;;
;; ==== function 3: <wasm function 3> ====
;; function u0:3(i64 vmctx, i64, i32, i32, i32) tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     sig0 = (i64, i32, i64, i32, i64) -> i8 system_v
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i32, v4: i32):
;; @008a                               v8 = load.i64 notrap aligned readonly can_move v0+32
;; @008a                               v9 = load.i64 notrap aligned readonly can_move v8+8
;; @008a                               v7 = iconst.i32 0
;; @008a                               v5 = uextend.i64 v2
;; @008a                               v6 = uextend.i64 v4
;; @008a                               v10 = call_indirect sig0, v9(v0, v7, v5, v3, v6)  ; v7 = 0
;; @008a                               trapz v10, heap_oob
;; @008d                               jump block1
;;
;;                                 block1:
;; @008d                               return
;; }
;;
;; ==== function 4: <wasm function 4> ====
;; function u0:4(i64 vmctx, i64, i32, i32) tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i32):
;; @008f                               v5 = load.i64 notrap aligned readonly can_move v0+72
;; @0094                               v4 = uextend.i64 v3
;; @0094                               v6 = iadd v5, v4
;; @0094                               v7 = load.i32 little region0 v6
;; @0097                               v8 = uextend.i64 v2
;; @0097                               v9 = iadd v5, v8
;; @0097                               store little region0 v7, v9
;; @009e                               v12 = load.i32 little region0 v6+4
;; @00a1                               store little region0 v12, v9+4
;; @00a4                               jump block1
;;
;;                                 block1:
;; @00a4                               return
;; }

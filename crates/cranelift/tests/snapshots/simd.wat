;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (memory 1)
  (func (export "swizzle") (param v128 v128) (result v128)
    local.get 0 local.get 1 i8x16.swizzle)
  (func (export "pmin") (param v128 v128) (result v128)
    local.get 0 local.get 1 f32x4.pmin)
  (func (export "min") (param v128 v128) (result v128)
    local.get 0 local.get 1 f64x2.min)
  (func (export "narrow") (param v128 v128) (result v128)
    local.get 0 local.get 1 i8x16.narrow_i16x8_s)
  (func (export "lane") (param i32 v128) (result v128)
    local.get 0 local.get 1 v128.load16_lane 3)
  (func (export "shuffle") (param v128 v128) (result i32)
    local.get 0 local.get 1
    i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
    i32x4.extract_lane 1))

;; ==== function 0: <wasm function 0> ====
;; function u0:0(i64 vmctx, i64, i8x16, i8x16) -> i8x16 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i8x16, v3: i8x16):
;; @006a                               jump block1
;;
;;                                 block1:
;; @0068                               v5 = swizzle v2, v3
;; @006a                               return v5
;; }
;;
;; ==== function 1: <wasm function 1> ====
;; function u0:1(i64 vmctx, i64, i8x16, i8x16) -> i8x16 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i8x16, v3: i8x16):
;; @0074                               jump block1
;;
;;                                 block1:
;; @0071                               v5 = bitcast.f32x4 little v3
;; @0071                               v6 = bitcast.f32x4 little v2
;; @0071                               v7 = fcmp lt v5, v6
;; @0071                               v8 = bitcast.f32x4 little v7
;; @0071                               v9 = bitselect v8, v5, v6
;; @0074                               v10 = bitcast.i8x16 little v9
;; @0074                               return v10
;; }
;;
;; ==== function 2: <wasm function 2> ====
;; function u0:2(i64 vmctx, i64, i8x16, i8x16) -> i8x16 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i8x16, v3: i8x16):
;; @007e                               jump block1
;;
;;                                 block1:
;; @007b                               v6 = bitcast.f64x2 little v2
;; @007b                               v5 = bitcast.f64x2 little v3
;; @007b                               v7 = fmin v6, v5
;; @007e                               v8 = bitcast.i8x16 little v7
;; @007e                               return v8
;; }
;;
;; ==== function 3: <wasm function 3> ====
;; function u0:3(i64 vmctx, i64, i8x16, i8x16) -> i8x16 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i8x16, v3: i8x16):
;; @0087                               jump block1
;;
;;                                 block1:
;; @0085                               v6 = bitcast.i16x8 little v2
;; @0085                               v5 = bitcast.i16x8 little v3
;; @0085                               v7 = snarrow v6, v5
;; @0087                               return v7
;; }
;;
;; ==== function 4: <wasm function 4> ====
;; function u0:4(i64 vmctx, i64, i32, i8x16) -> i8x16 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i8x16):
;; @0089                               v7 = load.i64 notrap aligned readonly can_move v0+72
;; @008e                               v6 = uextend.i64 v2
;; @008e                               v8 = iadd v7, v6
;; @008e                               v9 = load.i16 little region0 v8
;; @0093                               jump block1
;;
;;                                 block1:
;; @008e                               v5 = bitcast.i16x8 little v3
;; @008e                               v10 = insertlane v5, v9, 3
;; @0093                               v11 = bitcast.i8x16 little v10
;; @0093                               return v11
;; }
;;
;; ==== function 5: <wasm function 5> ====
;; function u0:5(i64 vmctx, i64, i8x16, i8x16) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i8x16, v3: i8x16):
;; @00af                               jump block1
;;
;;                                 block1:
;; @009a                               v5 = shuffle v2, v3, 0x17161514131211100706050403020100
;; @00ac                               v6 = bitcast.i32x4 little v5
;; @00ac                               v7 = extractlane v6, 1
;; @00af                               return v7
;; }

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (func $arith (export "arith") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.div
    local.get 1 f64.min
    f64.sqrt)
  (func $round (export "round") (param f32) (result f32)
    local.get 0 f32.nearest
    f32.const -1.5 f32.copysign)
  (func $compare (export "compare") (param f32 f32) (result i32)
    local.get 0 local.get 1 f32.ge))

;; ==== function 0: arith ====
;; function u0:0(i64 vmctx, i64, f64, f64) -> f64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: f64, v3: f64):
;; @004d                               jump block1
;;
;;                                 block1:
;; @0048                               v5 = fdiv.f64 v2, v3
;; @004b                               v6 = fmin v5, v3
;; @004c                               v7 = sqrt v6
;; @004d                               return v7
;; }
;;
;; ==== function 1: round ====
;; function u0:1(i64 vmctx, i64, f32) -> f32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: f32):
;; @0059                               jump block1
;;
;;                                 block1:
;; @0052                               v4 = nearest.f32 v2
;; @0053                               v5 = f32const -0x1.800000p0
;; @0058                               v6 = fcopysign v4, v5  ; v5 = -0x1.800000p0
;; @0059                               return v6
;; }
;;
;; ==== function 2: compare ====
;; function u0:2(i64 vmctx, i64, f32, f32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: f32, v3: f32):
;; @0061                               jump block1
;;
;;                                 block1:
;; @0060                               v5 = fcmp.f32 ge v2, v3
;; @0060                               v6 = uextend.i32 v5
;; @0061                               return v6
;; }

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (func $wrap_extend (export "wrap_extend") (param i64) (result i64)
    local.get 0 i32.wrap_i64 i64.extend_i32_u)
  (func $trunc_sat (export "trunc_sat") (param f64) (result i32)
    local.get 0 i32.trunc_sat_f64_u)
  (func $convert (export "convert") (param i64) (result f32)
    local.get 0 f32.convert_i64_s)
  (func $promote_reinterpret (export "promote_reinterpret") (param f32) (result i64)
    local.get 0 f64.promote_f32 i64.reinterpret_f64))

;; ==== function 0: wrap_extend ====
;; function u0:0(i64 vmctx, i64, i64) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64):
;; @006c                               jump block1
;;
;;                                 block1:
;; @006a                               v4 = ireduce.i32 v2
;; @006b                               v5 = uextend.i64 v4
;; @006c                               return v5
;; }
;;
;; ==== function 1: trunc_sat ====
;; function u0:1(i64 vmctx, i64, f64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: f64):
;; @0073                               jump block1
;;
;;                                 block1:
;; @0071                               v4 = fcvt_to_uint_sat.i32 v2
;; @0073                               return v4
;; }
;;
;; ==== function 2: convert ====
;; function u0:2(i64 vmctx, i64, i64) -> f32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64):
;; @0079                               jump block1
;;
;;                                 block1:
;; @0078                               v4 = fcvt_from_sint.f32 v2
;; @0079                               return v4
;; }
;;
;; ==== function 3: promote_reinterpret ====
;; function u0:3(i64 vmctx, i64, f32) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: f32):
;; @0080                               jump block1
;;
;;                                 block1:
;; @007e                               v4 = fpromote.f64 v2
;; @007f                               v5 = bitcast.i64 little v4
;; @0080                               return v5
;; }

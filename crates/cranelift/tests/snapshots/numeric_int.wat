;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
(module
  (func $arith (export "arith") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.mul
    local.get 1 i32.rotl
    i32.popcnt)
  (func $compare (export "compare") (param i64 i64) (result i32)
    local.get 0 local.get 1 i64.lt_u
    local.get 0 i64.eqz
    i32.or)
  (func $shift_extend (export "shift_extend") (param i64) (result i64)
    local.get 0 i64.const 3 i64.shr_s
    i64.extend8_s))

;; ==== function 0: arith ====
;; function u0:0(i64 vmctx, i64, i32, i32) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i32, v3: i32):
;; @0054                               jump block1
;;
;;                                 block1:
;; @004f                               v5 = imul.i32 v2, v3
;; @0052                               v6 = rotl v5, v3
;; @0053                               v7 = popcnt v6
;; @0054                               return v7
;; }
;;
;; ==== function 1: compare ====
;; function u0:1(i64 vmctx, i64, i64, i64) -> i32 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64, v3: i64):
;; @0060                               jump block1
;;
;;                                 block1:
;; @005b                               v5 = icmp.i64 ult v2, v3
;; @005e                               v7 = iconst.i64 0
;; @005e                               v8 = icmp.i64 eq v2, v7  ; v7 = 0
;;                                     v11 = bor v5, v8
;;                                     v12 = uextend.i32 v11
;; @0060                               return v12
;; }
;;
;; ==== function 2: shift_extend ====
;; function u0:2(i64 vmctx, i64, i64) -> i64 tail {
;;     region0 = 0 "heap"
;;     region1 = 1 "table"
;;     region2 = 2 "vmctx"
;;     gv0 = vmctx
;;     gv1 = load.i64 notrap aligned readonly gv0+24
;;     gv2 = load.i64 notrap aligned readonly gv1
;;     stack_limit = gv2
;;
;;                                 block0(v0: i64, v1: i64, v2: i64):
;; @0069                               jump block1
;;
;;                                 block1:
;; @0065                               v4 = iconst.i64 3
;; @0067                               v5 = sshr.i64 v2, v4  ; v4 = 3
;; @0068                               v6 = ireduce.i8 v5
;; @0068                               v7 = sextend.i64 v6
;; @0069                               return v7
;; }

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
;;! code = "array-to-wasm"
(module
  (func $internal (param i32) (result i32) local.get 0)
  (func $entry (export "entry") (param i32 f64) (result i64 v128)
    i64.const 1
    v128.const i64x2 0 0))

;; ==== array-to-wasm trampoline of function 1: entry ====
;; function u1:1(i64, i64, i64, i64) -> i8 system_v {
;;     sig0 = (i64 vmctx, i64, i32, f64) -> i64, i8x16 tail
;;     fn0 = colocated u0:1 sig0
;;
;; block0(v0: i64, v1: i64, v2: i64, v3: i64):
;;     v4 = load.i32 notrap aligned little v2
;;     v5 = load.f64 notrap aligned little v2+16
;;     v6, v7 = call fn0(v0, v1, v4, v5)
;;     store notrap aligned little v6, v2
;;     store notrap aligned little v7, v2+16
;;     v8 = iconst.i8 1
;;     return v8  ; v8 = 1
;; }

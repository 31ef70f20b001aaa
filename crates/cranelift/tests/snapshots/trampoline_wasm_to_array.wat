;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "optimize"
;;! code = "wasm-to-array"
(module
  (type (func (param i32 f32) (result i64)))
  (type (func (param v128) (result i32 f64))))

;; ==== wasm-to-array trampoline of type 0: (func (param i32 f32) (result i64)) ====
;; function u2:0(i64 vmctx, i64, i32, f32) -> i64 tail {
;;     ss0 = explicit_slot 32, align = 16
;;     sig0 = (i64, i64, i64, i64) -> i8 system_v
;;
;; block0(v0: i64, v1: i64, v2: i32, v3: f32):
;;     v5 = get_frame_pointer.i64
;;     v4 = load.i64 notrap aligned readonly can_move v1+24
;;     store notrap aligned v5, v4+24
;;     v6 = get_return_address.i64
;;     store notrap aligned v6, v4+32
;;     v7 = stack_addr.i64 ss0
;;     store notrap aligned little v2, v7
;;     store notrap aligned little v3, v7+16
;;     v8 = load.i64 notrap aligned readonly can_move v0+8
;;     v9 = iconst.i64 2
;;     v10 = call_indirect sig0, v8(v0, v1, v7, v9)  ; v9 = 2
;;     trapz v10, user13
;;     v11 = load.i64 notrap aligned little v7
;;     return v11
;; }
;;
;; ==== wasm-to-array trampoline of type 1: (func (param v128) (result i32 f64)) ====
;; function u2:1(i64 vmctx, i64, i8x16) -> i32, f64 tail {
;;     ss0 = explicit_slot 32, align = 16
;;     sig0 = (i64, i64, i64, i64) -> i8 system_v
;;
;; block0(v0: i64, v1: i64, v2: i8x16):
;;     v4 = get_frame_pointer.i64
;;     v3 = load.i64 notrap aligned readonly can_move v1+24
;;     store notrap aligned v4, v3+24
;;     v5 = get_return_address.i64
;;     store notrap aligned v5, v3+32
;;     v6 = stack_addr.i64 ss0
;;     store notrap aligned little v2, v6
;;     v7 = load.i64 notrap aligned readonly can_move v0+8
;;     v8 = iconst.i64 2
;;     v9 = call_indirect sig0, v7(v0, v1, v6, v8)  ; v8 = 2
;;     trapz v9, user13
;;     v10 = load.i32 notrap aligned little v6
;;     v11 = load.f64 notrap aligned little v6+16
;;     return v10, v11
;; }

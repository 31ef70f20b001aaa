;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (func $trunc_s (export "trunc_s") (param f32) (result i32)
    local.get 0 i32.trunc_f32_s)
  (func $trunc_u (export "trunc_u") (param f64) (result i64)
    local.get 0 i64.trunc_f64_u))

;; ==== function 0: trunc_s ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   cvt_float32_to_sint32_seq %xmm0, %eax, %rsi, %xmm3
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq
;;
;; ==== function 1: trunc_u ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   cvt_float64_to_uint64_seq %xmm0, %rax, %rsi, %xmm3, %xmm4
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

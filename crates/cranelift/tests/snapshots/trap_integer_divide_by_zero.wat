;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (func $div_u (export "div_u") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_u)
  (func $rem_u (export "rem_u") (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.rem_u))

;; ==== function 0: div_u ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   movq %rdx, %rax
;;   uninit  %rdx
;;   xorq %rdx, %rdx
;;   divl %ecx ;; implicit: %eax, %edx, trap=254
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq
;;
;; ==== function 1: rem_u ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   movq %rdx, %rax
;;   uninit  %rdx
;;   xorq %rdx, %rdx
;;   divq %rcx ;; implicit: %rax, %rdx, trap=254
;;   jmp     label1
;; block1:
;;   movq %rdx, %rax
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

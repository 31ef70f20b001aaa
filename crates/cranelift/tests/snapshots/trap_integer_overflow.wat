;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (func $div_s (export "div_s") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s))

;; ==== function 0: div_s ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   movq %rdx, %rax
;;   cltd  ;; implicit: %edx, %eax
;;   testl %ecx, %ecx
;;   jz #trap=int_divz
;;   idivl %ecx ;; implicit: %eax, %edx, trap=252
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

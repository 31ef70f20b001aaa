;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (func $never (export "never") (param i32) (result i32)
    local.get 0
    if
      unreachable
    end
    local.get 0))

;; ==== function 0: never ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   testl %edx, %edx
;;   jnz #trap=user9
;;   jmp     label1
;; block1:
;;   jmp     label2
;; block2:
;;   jmp     label3
;; block3:
;;   movq %rdx, %rax
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0
    call $recurse))

;; ==== function 0: recurse ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;;   movq 0x18(%rdi), %r10
;;   movq (%r10), %r10
;;   addq $0x10, %r10
;;   cmpq %rsp, %r10
;;   jnbe #trap=stk_ovf
;; block0:
;;   movq %rdi, %rsi
;;   call    User(userextname0)
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

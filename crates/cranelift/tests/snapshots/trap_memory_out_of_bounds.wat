;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "explicit", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
(module
  (memory 1)
  (func $load (export "load") (param i32) (result i32)
    local.get 0 i32.load offset=16)
  (func $store (export "store") (param i32 i64)
    local.get 0 local.get 1 i64.store8))

;; ==== function 0: load ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   movl %edx, %esi
;;   leaq 0x14(%rsi), %r8
;;   cmpq 0x50(%rdi), %r8
;;   jnbe #trap=heap_oob
;;   movq 0x48(%rdi), %r8
;;   movl 0x10(%r8, %rsi), %eax
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq
;;
;; ==== function 1: store ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;; block0:
;;   movl %edx, %esi
;;   leaq 1(%rsi), %r8
;;   cmpq 0x50(%rdi), %r8
;;   jnbe #trap=heap_oob
;;   movq 0x48(%rdi), %r8
;;   movb %cl, (%r8, %rsi)
;;   jmp     label1
;; block1:
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

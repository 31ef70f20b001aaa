;;! target = "x86_64"
;;! flags = ["has_sse3", "has_ssse3", "has_cmpxchg16b", "has_sse41", "has_sse42", "has_popcnt", "has_avx", "has_avx2", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt"]
;;! settings = { opt_level = "speed", bounds_checks = "guard-pages", consume_fuel = false, epoch_interruption = false }
;;! test = "compile"
;;! code = "wasm-to-array"
(module
  (type (func (param i32) (result i32))))

;; ==== wasm-to-array trampoline of type 0: (func (param i32) (result i32)) ====
;;   pushq %rbp
;;   movq %rsp, %rbp
;;   subq $0x10, %rsp
;; block0:
;;   movq %rdx, %r8
;;   movq    %rbp, %rcx
;;   movq 0x18(%rsi), %rax
;;   movq %rcx, 0x18(%rax)
;;   movq    %rbp, %rcx
;;   movq 8(%rcx), %rcx
;;   movq %rcx, 0x20(%rax)
;;   leaq <offset:1>+(%rsp), %rdx
;;   movq %r8, %rax
;;   movl %eax, <offset:1>+(%rsp)
;;   movq 8(%rdi), %rax
;;   movl $0x1, %ecx
;;   call    *%rax
;;   testb %al, %al
;;   jz #trap=user13
;;   movl <offset:1>+(%rsp), %eax
;;   addq $0x10, %rsp
;;   movq %rbp, %rsp
;;   popq %rbp
;;   retq

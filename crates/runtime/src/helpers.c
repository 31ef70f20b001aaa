/*
 * The few things Rust cannot do itself for Hayate's trap handling: a call
 * that a signal handler can jump back out of (setjmp/longjmp: a function
 * that returns twice cannot be called from Rust) and instruction-cache
 * maintenance. See src/traphandlers/mod.rs.
 *
 * hayate_call_with_setjmp(jmp_buf_out, entry, a, b, c, d) saves what it
 * needs to resume on its own frame, stores the resume point's address in
 * *jmp_buf_out, and calls entry(a, b, c, d): an array-call trampoline
 * (callee and caller VMContexts, values, their count), the host's usual
 * way into Wasm, or a Rust shim of the same signature that runs a closure.
 * It returns 1 when entry returns, and 0 when hayate_longjmp() jumps back
 * to the resume point (from the signal handler). No signal mask is saved
 * or restored: the handler runs with the interrupted mask (SA_NODEFER,
 * empty sa_mask), so the mask after the jump is the mask before the call.
 *
 * Symbols are hidden so that, inside a shared library (the SQLite
 * extension), calls to them are direct rather than through the PLT.
 */

#include <setjmp.h>
#include <stddef.h>

#define HIDDEN __attribute__((visibility("hidden")))

#if defined(__x86_64__)
/*
 * x86_64 System V: the resume point is the stack pointer after the
 * callee-saved registers (rbp, rbx, r12-r15) are pushed, which is all a
 * jump back must restore. About 20 instructions a call where glibc's
 * setjmp (pointer mangling, shadow-stack checks, __sigjmp_save) and the
 * PLT cost about 60: it is paid on every call from the host into Wasm.
 * The stack is 16-byte aligned at the inner call (8 for the return address
 * + 6 * 8 pushed + 8 padding).
 */
__asm__(
    ".text\n"
    ".globl hayate_call_with_setjmp\n"
    ".hidden hayate_call_with_setjmp\n"
    ".type hayate_call_with_setjmp, @function\n"
    "hayate_call_with_setjmp:\n"
    "    .cfi_startproc\n"
    "    pushq %rbp\n"
    "    .cfi_def_cfa_offset 16\n"
    "    .cfi_offset %rbp, -16\n"
    "    movq %rsp, %rbp\n"
    "    .cfi_def_cfa_register %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    .cfi_offset %rbx, -24\n"
    "    .cfi_offset %r12, -32\n"
    "    .cfi_offset %r13, -40\n"
    "    .cfi_offset %r14, -48\n"
    "    .cfi_offset %r15, -56\n"
    "    subq $8, %rsp\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rax\n"
    "    movq %rdx, %rdi\n"
    "    movq %rcx, %rsi\n"
    "    movq %r8, %rdx\n"
    "    movq %r9, %rcx\n"
    "    callq *%rax\n"
    "    movl $1, %eax\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    .cfi_def_cfa %rsp, 8\n"
    "    retq\n"
    "    .cfi_endproc\n"
    ".size hayate_call_with_setjmp, . - hayate_call_with_setjmp\n"
    "\n"
    ".globl hayate_longjmp\n"
    ".hidden hayate_longjmp\n"
    ".type hayate_longjmp, @function\n"
    "hayate_longjmp:\n"
    "    movq %rdi, %rsp\n"
    "    xorl %eax, %eax\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    retq\n"
    ".size hayate_longjmp, . - hayate_longjmp\n");
#else
HIDDEN int hayate_call_with_setjmp(void **jmp_buf_out,
                                         unsigned char (*entry)(void *, void *, void *, size_t),
                                         void *callee_vmctx, void *caller_vmctx, void *values,
                                         size_t len) {
    jmp_buf buf;
    if (setjmp(buf) != 0) {
        return 0;
    }
    *jmp_buf_out = &buf;
    entry(callee_vmctx, caller_vmctx, values, len);
    return 1;
}

HIDDEN __attribute__((noreturn)) void hayate_longjmp(void *jmp_buf_ptr) {
    longjmp(*(jmp_buf *)jmp_buf_ptr, 1);
}
#endif

/* Makes the instruction cache see code just written (a no-op on x86). */
HIDDEN void hayate_flush_icache(void *start, size_t len) {
    __builtin___clear_cache((char *)start, (char *)start + len);
}

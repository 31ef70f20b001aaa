/*
 * The few things Rust cannot do itself for Hayate's trap handling:
 * setjmp/longjmp (a function that returns twice cannot be called from
 * Rust) and instruction-cache maintenance. See src/traphandlers/mod.rs.
 */

#include <setjmp.h>
#include <stddef.h>

/*
 * setjmp()s into a buffer on this frame, stores the buffer's address in
 * *jmp_buf_out, and runs body(payload). Returns 1 when body returns, and 0
 * when hayate_longjmp() jumps back to the buffer (from the signal handler).
 * glibc's setjmp saves no signal mask; the handler runs with the
 * interrupted mask (SA_NODEFER, empty sa_mask), so none needs restoring.
 */
int hayate_call_with_setjmp(void **jmp_buf_out, void (*body)(void *), void *payload) {
    jmp_buf buf;
    if (setjmp(buf) != 0) {
        return 0;
    }
    *jmp_buf_out = &buf;
    body(payload);
    return 1;
}

/* Jumps back to a buffer stored by hayate_call_with_setjmp(). */
__attribute__((noreturn)) void hayate_longjmp(void *jmp_buf_ptr) {
    longjmp(*(jmp_buf *)jmp_buf_ptr, 1);
}

/* Makes the instruction cache see code just written (a no-op on x86). */
void hayate_flush_icache(void *start, size_t len) {
    __builtin___clear_cache((char *)start, (char *)start + len);
}

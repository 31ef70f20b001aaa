/* Empty: see nothrow.h. WASI libc has no setjmp.h. */

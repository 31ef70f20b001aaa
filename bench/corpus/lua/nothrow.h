/* Forced into every Lua source file (-include): WebAssembly without the
 * exception-handling proposal has no setjmp/longjmp, so a Lua error aborts
 * instead of unwinding. The benchmark script raises no errors. Used for the
 * native build too, so both run the same code. */
#include <stdlib.h>
#define LUAI_THROW(L, c) abort()
#define LUAI_TRY(L, c, a) { a }
#define luai_jmpbuf int
/* Nor has it <signal.h>: hooks are never set from a signal handler here. */
#define l_signalT int

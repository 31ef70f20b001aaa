/* The function both UDFs compute, shared by the native extension
 * (native_udf.c) and the Wasm module (udf.c -> udf.wasm). */
#include <stdint.h>

static inline int64_t udf_mix(int64_t x, int64_t y) {
    return x * 3 + (y ^ (x >> 7));
}

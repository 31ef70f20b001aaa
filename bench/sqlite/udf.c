/* The Wasm UDF: `f(x, y)` as an export, no libc (see build.sh). */
#include "udf.h"

__attribute__((export_name("f"))) int64_t f(int64_t x, int64_t y) {
    return udf_mix(x, y);
}

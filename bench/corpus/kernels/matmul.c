/* Dense matrix multiply, C = A * B, in double precision with the i-k-j loop
 * order, on pseudo-random matrices. Size: the matrix order. */
#include "../common/bench.h"
#include <stdlib.h>
#include <string.h>

#define BENCH_DEFAULT_SIZE 1000

static uint64_t bench(int n) {
    size_t nn = (size_t)n * n;
    double *a = malloc(nn * sizeof(double));
    double *b = malloc(nn * sizeof(double));
    double *c = malloc(nn * sizeof(double));
    bench_rng rng = {42};
    for (size_t i = 0; i < nn; i++) {
        a[i] = (double)(bench_next(&rng) >> 11) / 9007199254740992.0 - 0.5;
        b[i] = (double)(bench_next(&rng) >> 11) / 9007199254740992.0 - 0.5;
    }
    memset(c, 0, nn * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *brow = b + (size_t)k * n;
            double *crow = c + (size_t)i * n;
            for (int j = 0; j < n; j++)
                crow[j] += aik * brow[j];
        }
    uint64_t h = BENCH_FNV_INIT;
    for (size_t i = 0; i < nn; i += 97)
        h = bench_mix_double(h, c[i]);
    free(a);
    free(b);
    free(c);
    return h;
}

BENCH_MAIN("matmul")

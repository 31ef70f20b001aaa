/* zstd: compression at levels 3 and 9, then decompression (several times,
 * as it is fast), of generated data; checks the round trip. Size: MiB. */
#include "datagen.h"
#include "zstd.h"
#include <stdio.h>

#define BENCH_DEFAULT_SIZE 16

static uint64_t bench(int mib) {
    size_t n = (size_t)mib << 20;
    unsigned char *data = datagen(n, 2);
    size_t cap = ZSTD_compressBound(n);
    unsigned char *packed = malloc(cap);
    unsigned char *back = malloc(n);
    uint64_t h = BENCH_FNV_INIT;
    static const int levels[] = {3, 9};
    for (int li = 0; li < 2; li++) {
        size_t plen = ZSTD_compress(packed, cap, data, n, levels[li]);
        if (ZSTD_isError(plen))
            return 1;
        for (int rep = 0; rep < 4; rep++) {
            size_t blen = ZSTD_decompress(back, n, packed, plen);
            if (ZSTD_isError(blen) || blen != n || memcmp(back, data, n) != 0)
                return 2;
        }
        h = bench_mix(h, plen);
        h = bench_fnv(h, packed, plen < 4096 ? plen : 4096);
        h = bench_fnv(h, packed + plen - (plen < 4096 ? plen : 4096), plen < 4096 ? plen : 4096);
    }
    free(data);
    free(packed);
    free(back);
    return h;
}

BENCH_MAIN("zstd")

/* zlib: deflate at levels 1 and 6, then inflate, of generated data; checks
 * the round trip. Size: MiB of input. */
#include "datagen.h"
#include "zlib.h"
#include <stdio.h>

#define BENCH_DEFAULT_SIZE 10

static uint64_t bench(int mib) {
    size_t n = (size_t)mib << 20;
    unsigned char *data = datagen(n, 1);
    uLongf cap = compressBound((uLong)n);
    unsigned char *packed = malloc(cap);
    unsigned char *back = malloc(n);
    uint64_t h = BENCH_FNV_INIT;
    static const int levels[] = {1, 6};
    for (int li = 0; li < 2; li++) {
        uLongf plen = cap;
        if (compress2(packed, &plen, data, (uLong)n, levels[li]) != Z_OK)
            return 1;
        uLongf blen = (uLongf)n;
        if (uncompress(back, &blen, packed, plen) != Z_OK || blen != n ||
            memcmp(back, data, n) != 0)
            return 2;
        h = bench_mix(h, plen);
        h = bench_mix(h, crc32(0, packed, (uInt)plen));
    }
    free(data);
    free(packed);
    free(back);
    return h;
}

BENCH_MAIN("zlib")

/* bzip2: compression at block size 9, then decompression, of generated
 * data; checks the round trip. Size: MiB of input. */
#include "bzlib.h"
#include "datagen.h"
#include <stdio.h>

#define BENCH_DEFAULT_SIZE 6

/* Required by libbz2 built with BZ_NO_STDIO. */
void bz_internal_error(int code) {
    fprintf(stderr, "bzip2 internal error %d\n", code);
    exit(3);
}

static uint64_t bench(int mib) {
    size_t n = (size_t)mib << 20;
    unsigned char *data = datagen(n, 3);
    unsigned int cap = (unsigned int)(n + n / 100 + 600);
    char *packed = malloc(cap);
    char *back = malloc(n);
    unsigned int plen = cap;
    if (BZ2_bzBuffToBuffCompress(packed, &plen, (char *)data, (unsigned int)n, 9, 0, 0) != BZ_OK)
        return 1;
    unsigned int blen = (unsigned int)n;
    if (BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 0, 0) != BZ_OK || blen != n ||
        memcmp(back, data, n) != 0)
        return 2;
    uint64_t h = bench_mix(BENCH_FNV_INIT, plen);
    h = bench_fnv(h, packed, plen);
    free(data);
    free(packed);
    free(back);
    return h;
}

BENCH_MAIN("bzip2")

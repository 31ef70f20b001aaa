/* Sieve of Eratosthenes over a byte array, run several times; counts the
 * primes and hashes the last 1000 of them. Size: the bound, in thousands. */
#include "../common/bench.h"
#include <stdlib.h>
#include <string.h>

#define BENCH_DEFAULT_SIZE 16000
#define ROUNDS 4

static uint64_t bench(int size) {
    size_t n = (size_t)size * 1000;
    unsigned char *composite = malloc(n + 1);
    uint64_t h = BENCH_FNV_INIT;
    for (int round = 0; round < ROUNDS; round++) {
        memset(composite, 0, n + 1);
        for (size_t i = 2; i * i <= n; i++)
            if (!composite[i])
                for (size_t j = i * i; j <= n; j += i)
                    composite[j] = 1;
        uint64_t count = 0;
        for (size_t i = 2; i <= n; i++)
            count += !composite[i];
        h = bench_mix(h, count);
    }
    int seen = 0;
    for (size_t i = n; i >= 2 && seen < 1000; i--)
        if (!composite[i]) {
            h = bench_mix(h, i);
            seen++;
        }
    free(composite);
    return h;
}

BENCH_MAIN("sieve")

/* Shared helpers for the benchmark corpus: a deterministic PRNG, a 64-bit
 * checksum, and the entry point.
 *
 * Every program defines `uint64_t bench(int size)` and `BENCH_DEFAULT_SIZE`,
 * then `BENCH_MAIN(name)`. As a command (native, or wasm32-wasi with
 * `_start`) it takes the size as its first argument and prints
 * `name size checksum`; built with -DBENCH_REACTOR it instead exports
 * `bench_run(size) -> i64` and imports nothing, for `--invoke` and the
 * in-process harness. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifndef BENCH_REACTOR
#include <stdio.h>
#include <stdlib.h>
#endif

/* splitmix64: small, fast, and the same on every platform. */
typedef struct {
    uint64_t s;
} bench_rng;

static inline uint64_t bench_next(bench_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a, 64-bit. */
#define BENCH_FNV_INIT 0xcbf29ce484222325ULL

static inline uint64_t bench_fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline uint64_t bench_mix(uint64_t h, uint64_t v) {
    return bench_fnv(h, &v, sizeof v);
}

static inline uint64_t bench_mix_double(uint64_t h, double d) {
    union {
        double d;
        uint64_t u;
    } u;
    u.d = d;
    return bench_mix(h, u.u);
}

#ifdef BENCH_REACTOR
#define BENCH_MAIN(name)                                                       \
    __attribute__((export_name("bench_run"))) uint64_t bench_run(int size) {   \
        return bench(size > 0 ? size : BENCH_DEFAULT_SIZE);                    \
    }
#else
#define BENCH_MAIN(name)                                                       \
    int main(int argc, char **argv) {                                          \
        int size = argc > 1 ? atoi(argv[1]) : BENCH_DEFAULT_SIZE;              \
        uint64_t sum = bench(size);                                            \
        printf("%s %d %016llx\n", name, size, (unsigned long long)sum);        \
        return 0;                                                              \
    }
#endif

#endif

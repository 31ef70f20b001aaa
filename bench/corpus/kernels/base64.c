/* Base64 (RFC 4648) encoding and decoding of pseudo-random data, round
 * tripped and checked. Size: MiB encoded and decoded per round (8 rounds). */
#include "../common/bench.h"
#include <stdlib.h>
#include <string.h>

#define BENCH_DEFAULT_SIZE 16
#define ROUNDS 8

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(const unsigned char *in, size_t n, char *out) {
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = ALPHABET[v >> 18];
        *o++ = ALPHABET[(v >> 12) & 63];
        *o++ = ALPHABET[(v >> 6) & 63];
        *o++ = ALPHABET[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = ALPHABET[v >> 18];
        *o++ = ALPHABET[(v >> 12) & 63];
        *o++ = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

static signed char DECODE[256];

static void init_decode(void) {
    memset(DECODE, -1, sizeof DECODE);
    for (int i = 0; i < 64; i++)
        DECODE[(unsigned char)ALPHABET[i]] = (signed char)i;
}

/* Returns the decoded length, or (size_t)-1 on bad input. */
static size_t decode(const char *in, size_t n, unsigned char *out) {
    if (n % 4)
        return (size_t)-1;
    unsigned char *o = out;
    for (size_t i = 0; i < n; i += 4) {
        int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
        int a = DECODE[(unsigned char)in[i]], b = DECODE[(unsigned char)in[i + 1]];
        int c = pad > 1 ? 0 : DECODE[(unsigned char)in[i + 2]];
        int d = pad > 0 ? 0 : DECODE[(unsigned char)in[i + 3]];
        if ((a | b | c | d) < 0 || (pad && i + 4 != n))
            return (size_t)-1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        *o++ = (unsigned char)(v >> 16);
        if (pad < 2)
            *o++ = (unsigned char)(v >> 8);
        if (pad < 1)
            *o++ = (unsigned char)v;
    }
    return (size_t)(o - out);
}

static uint64_t bench(int mib) {
    size_t n = (size_t)mib << 20;
    unsigned char *data = malloc(n);
    char *text = malloc(n / 3 * 4 + 8);
    unsigned char *back = malloc(n);
    bench_rng rng = {99};
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)bench_next(&rng);
    init_decode();
    uint64_t h = BENCH_FNV_INIT;
    for (int round = 0; round < ROUNDS; round++) {
        size_t len = n - (size_t)round; /* exercise every padding case */
        size_t tlen = encode(data, len, text);
        size_t blen = decode(text, tlen, back);
        if (blen != len || memcmp(back, data, len) != 0)
            return 0;
        h = bench_fnv(h, text + tlen / 2, 64);
        h = bench_mix(h, tlen);
        data[round * 977 % n] ^= 0x5a;
    }
    free(data);
    free(text);
    free(back);
    return h;
}

BENCH_MAIN("base64")

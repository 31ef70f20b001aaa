/* Generates compressible test data: text from a skewed vocabulary with
 * numbers and line breaks, interleaved with short runs of random bytes, so
 * that the compressors see both matches and literals. */
#ifndef DATAGEN_H
#define DATAGEN_H

#include "../common/bench.h"
#include <stdlib.h>
#include <string.h>

static const char *const DATAGEN_WORDS[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
    "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
    "but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
    "compression", "benchmark", "webassembly", "runtime", "function", "memory", "table",
    "instance", "module", "store", "engine", "cranelift", "sandbox", "native"};

static unsigned char *datagen(size_t n, uint64_t seed) {
    unsigned char *buf = malloc(n);
    bench_rng rng = {seed};
    size_t i = 0;
    while (i < n) {
        uint64_t r = bench_next(&rng);
        size_t room = n - i;
        if ((r & 63) == 0) { /* a run of random bytes */
            size_t len = 8 + (r >> 8) % 56;
            for (size_t j = 0; j < len && j < room; j++)
                buf[i + j] = (unsigned char)bench_next(&rng);
            i += len < room ? len : room;
            continue;
        }
        char tmp[32];
        size_t len;
        if ((r & 7) == 1) { /* a number */
            len = (size_t)snprintf(tmp, sizeof tmp, "%u", (unsigned)((r >> 16) % 100000));
        } else { /* a word, skewed to the front of the list */
            size_t nw = sizeof DATAGEN_WORDS / sizeof DATAGEN_WORDS[0];
            size_t w = ((r >> 16) % nw) * ((r >> 32) % nw) / nw;
            len = strlen(DATAGEN_WORDS[w]);
            memcpy(tmp, DATAGEN_WORDS[w], len);
        }
        tmp[len++] = (r >> 56) % 13 == 0 ? '\n' : ' ';
        if (len > room)
            len = room;
        memcpy(buf + i, tmp, len);
        i += len;
    }
    return buf;
}

#endif

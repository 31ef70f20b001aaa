/* Fannkuch-redux (after the Computer Language Benchmarks Game): maximum
 * number of pancake flips over all permutations, and the alternating
 * checksum. Size: the permutation length. */
#include "../common/bench.h"

#define BENCH_DEFAULT_SIZE 10

static uint64_t bench(int n) {
    int perm[32], perm1[32], count[32];
    int max_flips = 0, checksum = 0, perm_count = 0;
    if (n < 3 || n > 16)
        n = BENCH_DEFAULT_SIZE;
    for (int i = 0; i < n; i++)
        perm1[i] = i;
    int r = n;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r--;
        }
        for (int i = 0; i < n; i++)
            perm[i] = perm1[i];
        int flips = 0;
        int k;
        while ((k = perm[0]) != 0) {
            int k2 = (k + 1) >> 1;
            for (int i = 0; i < k2; i++) {
                int t = perm[i];
                perm[i] = perm[k - i];
                perm[k - i] = t;
            }
            flips++;
        }
        if (flips > max_flips)
            max_flips = flips;
        checksum += (perm_count % 2 == 0) ? flips : -flips;
        for (;;) {
            if (r == n)
                return bench_mix(bench_mix(BENCH_FNV_INIT, (uint64_t)max_flips),
                                 (uint64_t)(int64_t)checksum);
            int perm0 = perm1[0];
            for (int i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = perm0;
            count[r]--;
            if (count[r] > 0)
                break;
            r++;
        }
        perm_count++;
    }
}

BENCH_MAIN("fannkuch")

/* Helpers for Hayate's WASI test programs: checks that print where they
 * failed and exit 1, and raw imports for calls that wasi-libc does not
 * expose or that must be made with deliberately bad arguments. */
#ifndef WASI_TEST_H
#define WASI_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* Checks that a WASI call returns exactly `want` (an errno, 0 for success). */
#define CHECK_ERRNO(call, want)                                              \
    do {                                                                     \
        int got_ = (int)(call);                                              \
        if (got_ != (int)(want)) {                                           \
            fprintf(stderr, "%s:%d: %s returned errno %d, expected %d\n",    \
                    __FILE__, __LINE__, #call, got_, (int)(want));           \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define OK(call) CHECK_ERRNO(call, 0)

#define RAW(name) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

/* Raw imports: every argument as the ABI passes it, so tests can pass
 * pointers and values that the typed wrappers would not. */
RAW(fd_write) int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t n, int32_t out);
RAW(fd_read) int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t n, int32_t out);
RAW(args_get) int32_t raw_args_get(int32_t argv, int32_t buf);
RAW(args_sizes_get) int32_t raw_args_sizes_get(int32_t argc, int32_t size);
RAW(environ_get) int32_t raw_environ_get(int32_t env, int32_t buf);
RAW(clock_time_get) int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t out);
RAW(clock_res_get) int32_t raw_clock_res_get(int32_t id, int32_t out);
RAW(random_get) int32_t raw_random_get(int32_t buf, int32_t len);
RAW(fd_fdstat_get) int32_t raw_fd_fdstat_get(int32_t fd, int32_t out);
RAW(fd_seek) int32_t raw_fd_seek(int32_t fd, int64_t off, int32_t whence, int32_t out);
RAW(fd_advise) int32_t raw_fd_advise(int32_t fd, int64_t off, int64_t len, int32_t advice);
RAW(path_open) int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t len,
                                     int32_t oflags, int64_t base, int64_t inheriting,
                                     int32_t fdflags, int32_t out);
RAW(path_create_directory) int32_t raw_path_create_directory(int32_t fd, int32_t path, int32_t len);
RAW(poll_oneoff) int32_t raw_poll_oneoff(int32_t in, int32_t out, int32_t n, int32_t nevents);
RAW(proc_raise) int32_t raw_proc_raise(int32_t sig);
RAW(fd_prestat_get) int32_t raw_fd_prestat_get(int32_t fd, int32_t out);

/* An address far beyond any test program's memory. */
#define BAD_PTR ((int32_t)0xFFFFFFF0u)

/* The fd of the preopened directory named `name`, or -1. */
static inline int find_preopen(const char *name) {
    for (int fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
        char buf[256];
        if (ps.u.dir.pr_name_len >= sizeof buf) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, ps.u.dir.pr_name_len) != 0) continue;
        buf[ps.u.dir.pr_name_len] = 0;
        if (strcmp(buf, name) == 0) return fd;
    }
    return -1;
}

/* Opens `path` under `dir` with the given flags and every right the
 * directory passes on. */
static inline __wasi_errno_t open_at(int dir, const char *path, __wasi_lookupflags_t lookup,
                                     __wasi_oflags_t oflags, __wasi_rights_t base,
                                     __wasi_fdflags_t fdflags, __wasi_fd_t *out) {
    return __wasi_path_open(dir, lookup, path, oflags, base, base, fdflags, out);
}

static inline size_t write_str(int fd, const char *s) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    __wasi_size_t n = 0;
    CHECK(__wasi_fd_write(fd, &iov, 1, &n) == 0);
    return n;
}

#define RIGHTS_FILE_ALL                                                          \
    (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |     \
     __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL | \
     __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |  \
     __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |          \
     __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_POLL_FD_READWRITE)

#endif

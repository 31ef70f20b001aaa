/* Arguments, environment, clocks, randomness, stdio, preopens, renumbering
 * and the bad-pointer paths of each (EFAULT, never a host fault). The host
 * runs it as `basics one "two words" ""` with HAYATE_TEST=yes, stdin
 * "line one\nline two\n" and a preopen named /sandbox; it exits with 7. */
#include "wasi_test.h"

static void test_args(int argc, char **argv) {
    CHECK(argc == 4);
    CHECK(strcmp(argv[0], "basics") == 0);
    CHECK(strcmp(argv[1], "one") == 0);
    CHECK(strcmp(argv[2], "two words") == 0);
    CHECK(strcmp(argv[3], "") == 0);
    __wasi_size_t n, size;
    OK(__wasi_args_sizes_get(&n, &size));
    CHECK(n == 4);
    CHECK(size == 7 + 4 + 10 + 1);
    CHECK_ERRNO(raw_args_sizes_get(BAD_PTR, (int32_t)&size), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_args_sizes_get((int32_t)&n, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_args_sizes_get((int32_t)&n + 1, (int32_t)&size), __WASI_ERRNO_INVAL);
    char *ptrs[4];
    char buf[22];
    CHECK_ERRNO(raw_args_get((int32_t)ptrs, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_args_get(BAD_PTR, (int32_t)buf), __WASI_ERRNO_FAULT);
    /* A buffer that ends past memory is a fault even if it starts inside. */
    int32_t mem_end = (int32_t)(__builtin_wasm_memory_size(0) * 65536);
    CHECK_ERRNO(raw_args_get((int32_t)ptrs, mem_end - 5), __WASI_ERRNO_FAULT);
    OK(raw_args_get((int32_t)ptrs, (int32_t)buf));
    CHECK(strcmp(ptrs[2], "two words") == 0);
}

static void test_env(void) {
    const char *v = getenv("HAYATE_TEST");
    CHECK(v && strcmp(v, "yes") == 0);
    CHECK(getenv("HOME") == NULL);
    __wasi_size_t n, size;
    OK(__wasi_environ_sizes_get(&n, &size));
    CHECK(n == 2);
    CHECK_ERRNO(raw_environ_get(BAD_PTR, BAD_PTR), __WASI_ERRNO_FAULT);
}

static void test_clocks(void) {
    __wasi_timestamp_t t0, t1, res;
    for (int id = 0; id < 4; id++) {
        OK(__wasi_clock_res_get(id, &res));
        CHECK(res > 0);
        OK(__wasi_clock_time_get(id, 1, &t0));
    }
    OK(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t0));
    CHECK(t0 > 1600000000ull * 1000000000ull);
    OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
    OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
    CHECK(t1 >= t0);
    CHECK_ERRNO(__wasi_clock_time_get(99, 1, &t0), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(__wasi_clock_res_get(4, &t0), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(raw_clock_time_get(0, 1, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_clock_time_get(0, 1, (int32_t)&t0 + 4), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(raw_clock_res_get(1, BAD_PTR), __WASI_ERRNO_FAULT);
}

static void test_random(void) {
    uint8_t buf[64] = {0};
    OK(__wasi_random_get(buf, sizeof buf));
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero += buf[i] != 0;
    CHECK(nonzero > 32);
    OK(__wasi_random_get(buf, 0));
    CHECK_ERRNO(raw_random_get(BAD_PTR, 32), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_random_get(16, -1), __WASI_ERRNO_FAULT);
    OK(__wasi_sched_yield());
}

static void test_stdio(void) {
    __wasi_fdstat_t st;
    OK(__wasi_fd_fdstat_get(0, &st));
    CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_READ);
    CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
    OK(__wasi_fd_fdstat_get(1, &st));
    CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE);
    CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    CHECK_ERRNO(__wasi_fd_fdstat_get(99, &st), __WASI_ERRNO_BADF);
    CHECK_ERRNO(__wasi_fd_fdstat_get(-1, &st), __WASI_ERRNO_BADF);
    CHECK_ERRNO(raw_fd_fdstat_get(1, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_fd_fdstat_get(1, (int32_t)&st + 4), __WASI_ERRNO_INVAL);

    /* stdin holds two lines */
    char buf[64];
    size_t total = 0;
    for (;;) {
        __wasi_iovec_t iov = {(uint8_t *)buf + total, sizeof buf - total};
        __wasi_size_t n;
        OK(__wasi_fd_read(0, &iov, 1, &n));
        if (n == 0) break;
        total += n;
    }
    CHECK(total == 18);
    CHECK(memcmp(buf, "line one\nline two\n", 18) == 0);

    /* bad iovec arrays, buffers and result pointers write nothing */
    const char *msg = "never printed\n";
    __wasi_ciovec_t iov = {(const uint8_t *)msg, strlen(msg)};
    __wasi_size_t n;
    CHECK_ERRNO(raw_fd_write(1, BAD_PTR, 1, (int32_t)&n), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_fd_write(1, (int32_t)&iov, 1, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_fd_write(1, (int32_t)&iov, 0x20000000, (int32_t)&n), __WASI_ERRNO_FAULT);
    __wasi_ciovec_t bad = {(const uint8_t *)BAD_PTR, 8};
    CHECK_ERRNO(raw_fd_write(1, (int32_t)&bad, 1, (int32_t)&n), __WASI_ERRNO_FAULT);
    __wasi_iovec_t rbad = {(uint8_t *)BAD_PTR, 8};
    CHECK_ERRNO(raw_fd_read(0, (int32_t)&rbad, 1, (int32_t)&n), __WASI_ERRNO_FAULT);

    /* wrong direction, wrong kind */
    CHECK_ERRNO(__wasi_fd_write(0, &iov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
    __wasi_iovec_t riov = {(uint8_t *)buf, sizeof buf};
    CHECK_ERRNO(__wasi_fd_read(1, &riov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
    __wasi_filesize_t pos;
    CHECK_ERRNO(__wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_SPIPE);
    CHECK_ERRNO(__wasi_fd_tell(1, &pos), __WASI_ERRNO_SPIPE);
    CHECK_ERRNO(__wasi_fd_pwrite(1, &iov, 1, 0, &n), __WASI_ERRNO_SPIPE);
    CHECK_ERRNO(__wasi_fd_pread(0, &riov, 1, 0, &n), __WASI_ERRNO_SPIPE);
    /* stdin can be made non-blocking, and cannot be made append-only */
    OK(__wasi_fd_fdstat_set_flags(0, __WASI_FDFLAGS_NONBLOCK));
    OK(__wasi_fd_fdstat_get(0, &st));
    CHECK(st.fs_flags == __WASI_FDFLAGS_NONBLOCK);
    CHECK_ERRNO(__wasi_fd_fdstat_set_flags(0, __WASI_FDFLAGS_APPEND), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(__wasi_fd_write(42, &iov, 1, &n), __WASI_ERRNO_BADF);
    __wasi_filestat_t fs;
    OK(__wasi_fd_filestat_get(1, &fs));

    /* gather writes: three iovecs become one line */
    __wasi_ciovec_t parts[3] = {
        {(const uint8_t *)"gath", 4}, {(const uint8_t *)"", 0}, {(const uint8_t *)"ered\n", 5}};
    OK(__wasi_fd_write(1, parts, 3, &n));
    CHECK(n == 9);
}

static void test_preopens(void) {
    int fd = find_preopen("/sandbox");
    CHECK(fd >= 3);
    __wasi_prestat_t ps;
    CHECK_ERRNO(__wasi_fd_prestat_get(0, &ps), __WASI_ERRNO_BADF);
    CHECK_ERRNO(__wasi_fd_prestat_get(1000, &ps), __WASI_ERRNO_BADF);
    CHECK_ERRNO(raw_fd_prestat_get(fd, BAD_PTR), __WASI_ERRNO_FAULT);
    OK(__wasi_fd_prestat_get(fd, &ps));
    CHECK(ps.tag == __WASI_PREOPENTYPE_DIR);
    CHECK(ps.u.dir.pr_name_len == 8);
    char name[8];
    CHECK_ERRNO(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, 7), __WASI_ERRNO_NAMETOOLONG);
    CHECK_ERRNO(__wasi_fd_prestat_dir_name(fd, (uint8_t *)BAD_PTR, 8), __WASI_ERRNO_FAULT);
    OK(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, 8));
    CHECK(memcmp(name, "/sandbox", 8) == 0);
    __wasi_fdstat_t st;
    OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY);
    CHECK(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN);
    CHECK(st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE);
}

static void test_renumber(void) {
    /* Swap stdout and stderr the way programs do it: move stderr onto 1. */
    CHECK_ERRNO(__wasi_fd_renumber(1, 99), __WASI_ERRNO_BADF);
    CHECK_ERRNO(__wasi_fd_renumber(77, 1), __WASI_ERRNO_BADF);
    OK(__wasi_fd_renumber(1, 1));
    write_str(1, "to stdout\n");
    OK(__wasi_fd_renumber(2, 1));
    write_str(1, "to stderr through fd 1\n");
    __wasi_fdstat_t st;
    CHECK_ERRNO(__wasi_fd_fdstat_get(2, &st), __WASI_ERRNO_BADF);
}

static void test_raise(void) {
    CHECK_ERRNO(raw_proc_raise(0), 0);
    CHECK_ERRNO(raw_proc_raise(16), 0); /* SIGCHLD is ignored */
    CHECK_ERRNO(raw_proc_raise(31), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(raw_proc_raise(0x100), __WASI_ERRNO_INVAL);
}

int main(int argc, char **argv) {
    test_args(argc, argv);
    test_env();
    test_clocks();
    test_random();
    test_stdio();
    test_preopens();
    test_raise();
    fflush(stdout);
    test_renumber();
    return 7;
}

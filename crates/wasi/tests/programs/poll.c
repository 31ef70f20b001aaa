/* poll_oneoff: clocks (relative, absolute, several at once), fd readiness
 * for files and streams, and the per-subscription and whole-call errors.
 * The host gives a preopen /sandbox and stdin "input". */
#include "wasi_test.h"

static __wasi_timestamp_t now(void) {
    __wasi_timestamp_t t;
    OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t));
    return t;
}

static __wasi_subscription_t clock_sub(__wasi_userdata_t ud, __wasi_clockid_t id,
                                       __wasi_timestamp_t timeout, int abs) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.precision = 0;
    s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    return s;
}

static __wasi_subscription_t fd_sub(__wasi_userdata_t ud, int write, __wasi_fd_t fd) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = write ? __WASI_EVENTTYPE_FD_WRITE : __WASI_EVENTTYPE_FD_READ;
    s.u.u.fd_read.file_descriptor = fd;
    return s;
}

#define MS 1000000ull

int main(void) {
    __wasi_subscription_t subs[4];
    __wasi_event_t ev[4];
    __wasi_size_t n;

    /* one relative clock */
    subs[0] = clock_sub(11, __WASI_CLOCKID_MONOTONIC, 20 * MS, 0);
    __wasi_timestamp_t t0 = now();
    OK(__wasi_poll_oneoff(subs, ev, 1, &n));
    CHECK(now() - t0 >= 20 * MS);
    CHECK(n == 1 && ev[0].userdata == 11 && ev[0].error == 0 && ev[0].type == __WASI_EVENTTYPE_CLOCK);

    /* absolute, on the monotonic and the realtime clock */
    subs[0] = clock_sub(12, __WASI_CLOCKID_MONOTONIC, now() + 15 * MS, 1);
    t0 = now();
    OK(__wasi_poll_oneoff(subs, ev, 1, &n));
    CHECK(now() - t0 >= 10 * MS && n == 1 && ev[0].userdata == 12);
    __wasi_timestamp_t rt;
    OK(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt));
    subs[0] = clock_sub(13, __WASI_CLOCKID_REALTIME, rt + 10 * MS, 1);
    OK(__wasi_poll_oneoff(subs, ev, 1, &n));
    CHECK(n == 1 && ev[0].userdata == 13);
    /* an absolute time in the past fires at once */
    subs[0] = clock_sub(14, __WASI_CLOCKID_MONOTONIC, 1, 1);
    OK(__wasi_poll_oneoff(subs, ev, 1, &n));
    CHECK(n == 1 && ev[0].userdata == 14);

    /* the earlier of two clocks */
    subs[0] = clock_sub(21, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0);
    subs[1] = clock_sub(22, __WASI_CLOCKID_MONOTONIC, 10 * MS, 0);
    t0 = now();
    OK(__wasi_poll_oneoff(subs, ev, 2, &n));
    CHECK(now() - t0 < 4000 * MS);
    CHECK(n == 1 && ev[0].userdata == 22);

    /* a regular file is always ready, with the bytes left to read */
    int dir = find_preopen("/sandbox");
    __wasi_fd_t f;
    OK(__wasi_path_open(dir, 0, "p.txt", __WASI_OFLAGS_CREAT, RIGHTS_FILE_ALL, 0, 0, &f));
    write_str(f, "0123456789");
    __wasi_filesize_t pos;
    OK(__wasi_fd_seek(f, 4, __WASI_WHENCE_SET, &pos));
    subs[0] = fd_sub(31, 0, f);
    subs[1] = clock_sub(32, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0);
    subs[2] = fd_sub(33, 1, 1);
    subs[3] = fd_sub(34, 0, 0);
    t0 = now();
    OK(__wasi_poll_oneoff(subs, ev, 4, &n));
    CHECK(now() - t0 < 4000 * MS);
    CHECK(n == 3);
    int saw_file = 0, saw_out = 0, saw_in = 0;
    for (unsigned i = 0; i < n; i++) {
        CHECK(ev[i].error == 0);
        if (ev[i].userdata == 31) {
            saw_file = 1;
            CHECK(ev[i].type == __WASI_EVENTTYPE_FD_READ && ev[i].fd_readwrite.nbytes == 6);
        }
        if (ev[i].userdata == 33) saw_out = ev[i].type == __WASI_EVENTTYPE_FD_WRITE;
        if (ev[i].userdata == 34) saw_in = 1;
    }
    CHECK(saw_file && saw_out && saw_in);

    /* per-subscription errors come back as events */
    subs[0] = fd_sub(41, 0, 99);
    subs[1] = clock_sub(42, 77, 1, 0);
    OK(__wasi_fd_fdstat_set_rights(f, __WASI_RIGHTS_FD_WRITE, 0));
    subs[2] = fd_sub(43, 0, f);
    OK(__wasi_poll_oneoff(subs, ev, 3, &n));
    CHECK(n == 3);
    for (unsigned i = 0; i < n; i++) {
        if (ev[i].userdata == 41) CHECK(ev[i].error == __WASI_ERRNO_BADF && ev[i].type == __WASI_EVENTTYPE_FD_READ);
        if (ev[i].userdata == 42) CHECK(ev[i].error == __WASI_ERRNO_INVAL && ev[i].type == __WASI_EVENTTYPE_CLOCK);
        if (ev[i].userdata == 43) CHECK(ev[i].error == __WASI_ERRNO_NOTCAPABLE);
    }
    OK(__wasi_fd_close(f));
    OK(__wasi_path_unlink_file(dir, "p.txt"));

    /* whole-call errors */
    CHECK_ERRNO(__wasi_poll_oneoff(subs, ev, 0, &n), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(raw_poll_oneoff(BAD_PTR, (int32_t)ev, 1, (int32_t)&n), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_poll_oneoff((int32_t)subs, BAD_PTR, 1, (int32_t)&n), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_poll_oneoff((int32_t)subs, (int32_t)ev, 1, BAD_PTR), __WASI_ERRNO_FAULT);
    CHECK_ERRNO(raw_poll_oneoff((int32_t)subs + 4, (int32_t)ev, 1, (int32_t)&n), __WASI_ERRNO_INVAL);
    CHECK_ERRNO(raw_poll_oneoff((int32_t)subs, (int32_t)ev, 0x10000000, (int32_t)&n), __WASI_ERRNO_FAULT);
    subs[0] = clock_sub(51, 0, 0, 0);
    subs[0].u.tag = 7;
    CHECK_ERRNO(__wasi_poll_oneoff(subs, ev, 1, &n), __WASI_ERRNO_INVAL);
    printf("poll ok\n");
    return 0;
}

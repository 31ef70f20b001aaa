/* Sockets: the host preopens a listening TCP socket as fd 3 and connects
 * once, sends "ping", reads until end of file and expects "pong!". */
#include "wasi_test.h"

int main(void) {
    const int L = 3;
    __wasi_fdstat_t st;
    OK(__wasi_fd_fdstat_get(L, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);
    CHECK(st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT);
    __wasi_prestat_t ps;
    CHECK_ERRNO(__wasi_fd_prestat_get(L, &ps), __WASI_ERRNO_BADF);

    /* wait for the connection */
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = L;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 20000000000ull;
    __wasi_event_t ev[2];
    __wasi_size_t n;
    OK(__wasi_poll_oneoff(subs, ev, 2, &n));
    CHECK(n >= 1 && ev[0].userdata == 1 && ev[0].error == 0);

    CHECK_ERRNO(__wasi_sock_accept(L, __WASI_FDFLAGS_APPEND, (__wasi_fd_t *)&n), __WASI_ERRNO_INVAL);
    __wasi_fd_t c;
    OK(__wasi_sock_accept(L, 0, &c));
    CHECK(c > L);
    OK(__wasi_fd_fdstat_get(c, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);

    char buf[16] = {0};
    __wasi_iovec_t iov = {(uint8_t *)buf, 4};
    __wasi_roflags_t ro = 7;
    OK(__wasi_sock_recv(c, &iov, 1, __WASI_RIFLAGS_RECV_PEEK | __WASI_RIFLAGS_RECV_WAITALL, &n, &ro));
    CHECK(n >= 1 && memcmp(buf, "ping", n) == 0 && ro == 0);
    memset(buf, 0, sizeof buf);
    OK(__wasi_sock_recv(c, &iov, 1, __WASI_RIFLAGS_RECV_WAITALL, &n, &ro));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_ERRNO(__wasi_sock_recv(c, &iov, 1, 4, &n, &ro), __WASI_ERRNO_INVAL);

    __wasi_ciovec_t out[2] = {{(const uint8_t *)"po", 2}, {(const uint8_t *)"ng", 2}};
    OK(__wasi_sock_send(c, out, 2, 0, &n));
    CHECK(n == 4);
    CHECK_ERRNO(__wasi_sock_send(c, out, 2, 1, &n), __WASI_ERRNO_INVAL);
    write_str(c, "!");
    OK(__wasi_sock_shutdown(c, __WASI_SDFLAGS_WR));
    CHECK_ERRNO(__wasi_sock_shutdown(c, 0), __WASI_ERRNO_INVAL);
    /* the peer closes after reading everything */
    iov.buf_len = sizeof buf;
    OK(__wasi_sock_recv(c, &iov, 1, 0, &n, &ro));
    CHECK(n == 0);
    OK(__wasi_fd_close(c));

    /* no second connection: a non-blocking listener says so (the flags of
     * sock_accept are those of the new fd) */
    OK(__wasi_fd_fdstat_set_flags(L, __WASI_FDFLAGS_NONBLOCK));
    OK(__wasi_fd_fdstat_get(L, &st));
    CHECK(st.fs_flags == __WASI_FDFLAGS_NONBLOCK);
    CHECK_ERRNO(__wasi_sock_accept(L, 0, &c), __WASI_ERRNO_AGAIN);

    /* socket calls on what is not a socket */
    CHECK_ERRNO(__wasi_sock_accept(1, 0, &c), __WASI_ERRNO_NOTSOCK);
    CHECK_ERRNO(__wasi_sock_recv(0, &iov, 1, 0, &n, &ro), __WASI_ERRNO_NOTSOCK);
    CHECK_ERRNO(__wasi_sock_send(1, out, 1, 0, &n), __WASI_ERRNO_NOTSOCK);
    CHECK_ERRNO(__wasi_sock_shutdown(1, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
    CHECK_ERRNO(__wasi_sock_shutdown(L, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
    CHECK_ERRNO(__wasi_sock_accept(99, 0, &c), __WASI_ERRNO_BADF);
    printf("sock ok\n");
    return 0;
}

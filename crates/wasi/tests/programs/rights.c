/* Rights: a guest cannot write, truncate, create, remove or retime through
 * an fd that lacks the right, and cannot get rights back. The host gives a
 * read-only preopen /ro holding data.txt ("original") and dir/, and a
 * read-write preopen /rw holding data.txt ("original"); it checks that
 * both files still hold "original" afterwards and nothing was created. */
#include "wasi_test.h"

#define NOTCAP __WASI_ERRNO_NOTCAPABLE

static void read_only_checks(__wasi_fd_t fd) {
    char c = 'x';
    __wasi_ciovec_t iov = {(const uint8_t *)&c, 1};
    __wasi_size_t n;
    CHECK_ERRNO(__wasi_fd_write(fd, &iov, 1, &n), NOTCAP);
    CHECK_ERRNO(__wasi_fd_pwrite(fd, &iov, 1, 0, &n), NOTCAP);
    CHECK_ERRNO(__wasi_fd_filestat_set_size(fd, 0), NOTCAP);
    CHECK_ERRNO(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), NOTCAP);
    CHECK_ERRNO(__wasi_fd_allocate(fd, 0, 100), NOTCAP);
    __wasi_fdstat_t st;
    OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
    CHECK_ERRNO(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base | __WASI_RIGHTS_FD_WRITE,
                                            st.fs_rights_inheriting), NOTCAP);
    CHECK_ERRNO(__wasi_fd_write(fd, &iov, 1, &n), NOTCAP);
}

int main(void) {
    int ro = find_preopen("/ro"), rw = find_preopen("/rw");
    CHECK(ro >= 3 && rw >= 3);
    __wasi_fdstat_t st;
    OK(__wasi_fd_fdstat_get(ro, &st));
    CHECK(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN);
    CHECK(!(st.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE));
    CHECK(!(st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE));

    /* read-only preopen: every change is refused */
    __wasi_fd_t fd;
    CHECK_ERRNO(__wasi_path_open(ro, 0, "data.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(ro, 0, "data.txt", __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_READ, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(ro, 0, "data.txt", __WASI_OFLAGS_TRUNC, 0, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(ro, 0, "new.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_READ, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_create_directory(ro, "newdir"), NOTCAP);
    CHECK_ERRNO(__wasi_path_unlink_file(ro, "data.txt"), NOTCAP);
    CHECK_ERRNO(__wasi_path_remove_directory(ro, "dir"), NOTCAP);
    CHECK_ERRNO(__wasi_path_rename(ro, "data.txt", ro, "renamed.txt"), NOTCAP);
    CHECK_ERRNO(__wasi_path_rename(ro, "data.txt", rw, "stolen.txt"), NOTCAP);
    CHECK_ERRNO(__wasi_path_link(ro, 0, "data.txt", ro, "hard.txt"), NOTCAP);
    CHECK_ERRNO(__wasi_path_symlink("data.txt", ro, "sym"), NOTCAP);
    CHECK_ERRNO(__wasi_path_filestat_set_times(ro, 0, "data.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW), NOTCAP);
    OK(__wasi_path_open(ro, 0, "data.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK, 0, 0, &fd));
    char buf[16];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    OK(__wasi_fd_read(fd, &iov, 1, &n));
    CHECK(n == 8 && memcmp(buf, "original", 8) == 0);
    read_only_checks(fd);
    OK(__wasi_fd_close(fd));
    /* a directory opened below inherits no more than its parent passes on */
    __wasi_fd_t sub;
    OK(__wasi_path_open(ro, 0, "dir", __WASI_OFLAGS_DIRECTORY, st.fs_rights_inheriting, st.fs_rights_inheriting, 0, &sub));
    CHECK_ERRNO(__wasi_path_open(sub, 0, "x", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_READ, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_create_directory(sub, "x"), NOTCAP);
    OK(__wasi_fd_close(sub));
    /* libc's open masks the rights; the write then fails */
    CHECK(fopen("/ro/data.txt", "w") == NULL);
    CHECK(fopen("/ro/data.txt", "a") == NULL);
    CHECK(fopen("/ro/created.txt", "w") == NULL);
    FILE *f = fopen("/ro/data.txt", "r+");
    if (f) {
        CHECK(fputs("changed", f) >= 0);
        CHECK(fflush(f) != 0);
        fclose(f);
    }

    /* read-write preopen, but a file opened without write rights */
    OK(__wasi_path_open(rw, 0, "data.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
    read_only_checks(fd);
    /* renumbering moves an fd, not rights */
    OK(__wasi_fd_renumber(fd, 1));
    read_only_checks(1);

    /* dropping a directory's rights sticks */
    OK(__wasi_fd_fdstat_get(rw, &st));
    OK(__wasi_fd_fdstat_set_rights(rw, st.fs_rights_base & ~(__WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE),
                                   st.fs_rights_inheriting & ~__WASI_RIGHTS_FD_WRITE));
    CHECK_ERRNO(__wasi_path_unlink_file(rw, "data.txt"), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(rw, 0, "data.txt", __WASI_OFLAGS_TRUNC, 0, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(rw, 0, "data.txt", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_path_open(rw, 0, "data.txt", 0, __WASI_RIGHTS_FD_READ, __WASI_RIGHTS_FD_WRITE, 0, &fd), NOTCAP);
    CHECK_ERRNO(__wasi_fd_fdstat_set_rights(rw, st.fs_rights_base, st.fs_rights_inheriting), NOTCAP);
    CHECK(fopen("/rw/data.txt", "w") == NULL);

    /* standard streams can be restricted too */
    OK(__wasi_fd_fdstat_set_rights(2, 0, 0));
    CHECK_ERRNO(__wasi_fd_write(2, (const __wasi_ciovec_t *)&iov, 1, &n), NOTCAP);
    __wasi_filestat_t fs;
    CHECK_ERRNO(__wasi_fd_filestat_get(2, &fs), NOTCAP);
    return 0;
}

/* The capability sandbox: every way out of the preopened directory
 * /sandbox must fail. The host made, inside /sandbox:
 *   inside.txt, sub/, link_out_dir -> ../outside, link_out_abs -> <abs outside>,
 *   link_out_file -> <abs outside>/secret.txt,
 *   link_dangling_out -> ../outside/created_by_guest
 * next to a directory `outside` holding secret.txt and dir/. The host
 * checks afterwards that nothing outside was created, changed or removed;
 * this program checks the errno of each attempt. */
#include "wasi_test.h"

static int dir;

#define R __WASI_RIGHTS_FD_READ
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void no_open(const char *path, __wasi_lookupflags_t lookup, __wasi_oflags_t oflags,
                    __wasi_rights_t rights, int want) {
    __wasi_fd_t fd = 12345;
    int e = __wasi_path_open(dir, lookup, path, oflags, rights, rights, 0, &fd);
    if (e != want) {
        fprintf(stderr, "open(%s, lookup=%d, oflags=%d) = %d, expected %d\n", path, lookup, oflags, e, want);
        exit(1);
    }
    CHECK(fd == 12345);
}

int main(void) {
    dir = find_preopen("/sandbox");
    CHECK(dir >= 3);
    const int PERM = __WASI_ERRNO_PERM;

    /* .. and absolute paths */
    no_open("..", 0, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("../outside/secret.txt", 0, 0, R, PERM);
    no_open("sub/../../outside/secret.txt", 0, 0, R, PERM);
    no_open("sub/../..", 0, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("/etc/passwd", 0, 0, R, PERM);
    no_open("/", 0, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("../outside/new", 0, __WASI_OFLAGS_CREAT, R, PERM);

    /* symlinks the host left */
    no_open("link_out_dir/secret.txt", FOLLOW, 0, R, PERM);
    no_open("link_out_dir/secret.txt", 0, 0, R, PERM);
    no_open("link_out_abs/secret.txt", FOLLOW, 0, R, PERM);
    no_open("link_out_file", FOLLOW, 0, R, PERM);
    no_open("link_out_file", 0, 0, R, __WASI_ERRNO_LOOP);
    no_open("link_out_dir", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("link_out_dir/", 0, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("link_out_dir/.", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("link_dangling_out", FOLLOW, __WASI_OFLAGS_CREAT, R, PERM);
    no_open("link_dangling_out", FOLLOW, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R, __WASI_ERRNO_EXIST);
    no_open("link_dangling_out/", FOLLOW, __WASI_OFLAGS_CREAT, R, PERM);
    no_open("link_out_file", FOLLOW, __WASI_OFLAGS_TRUNC, R, PERM);

    /* every path function, through .., absolute paths and the links */
    CHECK_ERRNO(__wasi_path_create_directory(dir, "../outside/newdir"), PERM);
    CHECK_ERRNO(__wasi_path_create_directory(dir, "link_out_dir/newdir"), PERM);
    CHECK_ERRNO(__wasi_path_create_directory(dir, "/tmp/hayate_escape_dir"), PERM);
    int e = __wasi_path_create_directory(dir, "link_dangling_out/");
    CHECK(e == __WASI_ERRNO_EXIST || e == PERM);
    __wasi_filestat_t st;
    CHECK_ERRNO(__wasi_path_filestat_get(dir, FOLLOW, "link_out_file", &st), PERM);
    CHECK_ERRNO(__wasi_path_filestat_get(dir, FOLLOW, "link_out_dir/", &st), PERM);
    CHECK_ERRNO(__wasi_path_filestat_get(dir, 0, "link_out_dir/secret.txt", &st), PERM);
    CHECK_ERRNO(__wasi_path_filestat_get(dir, 0, "../outside", &st), PERM);
    OK(__wasi_path_filestat_get(dir, 0, "link_out_file", &st));
    CHECK(st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK);
    CHECK_ERRNO(__wasi_path_filestat_set_times(dir, FOLLOW, "link_out_file", 0, 0,
                                               __WASI_FSTFLAGS_MTIM_NOW), PERM);
    CHECK_ERRNO(__wasi_path_filestat_set_times(dir, 0, "../outside/secret.txt", 0, 0,
                                               __WASI_FSTFLAGS_MTIM_NOW), PERM);
    CHECK_ERRNO(__wasi_path_unlink_file(dir, "link_out_dir/secret.txt"), PERM);
    CHECK_ERRNO(__wasi_path_unlink_file(dir, "../outside/secret.txt"), PERM);
    CHECK_ERRNO(__wasi_path_remove_directory(dir, "link_out_dir/dir"), PERM);
    CHECK_ERRNO(__wasi_path_remove_directory(dir, "../outside/dir"), PERM);
    CHECK_ERRNO(__wasi_path_remove_directory(dir, "link_out_dir/dir/"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "inside.txt", dir, "../outside/moved"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "inside.txt", dir, "link_out_dir/moved"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "link_out_dir/secret.txt", dir, "stolen"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "../outside/dir", dir, "stolen_dir"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "link_out_dir/dir/", dir, "stolen_dir/"), PERM);
    CHECK_ERRNO(__wasi_path_link(dir, 0, "link_out_dir/secret.txt", dir, "stolen_link"), PERM);
    CHECK_ERRNO(__wasi_path_link(dir, 0, "../outside/secret.txt", dir, "stolen_link"), PERM);
    CHECK_ERRNO(__wasi_path_link(dir, 0, "inside.txt", dir, "link_out_dir/planted"), PERM);
    CHECK_ERRNO(__wasi_path_link(dir, 0, "inside.txt", dir, "/tmp/planted"), PERM);
    char buf[256];
    __wasi_size_t used;
    CHECK_ERRNO(__wasi_path_readlink(dir, "link_out_dir/../outside", (uint8_t *)buf, sizeof buf, &used), PERM);
    CHECK_ERRNO(__wasi_path_symlink("x", dir, "../outside/planted_link"), PERM);
    CHECK_ERRNO(__wasi_path_symlink("x", dir, "link_out_dir/planted_link"), PERM);

    /* symlinks the guest makes itself */
    CHECK_ERRNO(__wasi_path_symlink("/etc", dir, "abs_link"), PERM);
    OK(__wasi_path_symlink("../outside", dir, "my_out"));
    OK(__wasi_path_symlink("sub/../../outside/secret.txt", dir, "my_out_file"));
    OK(__wasi_path_symlink("my_out", dir, "chain"));
    no_open("my_out/secret.txt", FOLLOW, 0, R, PERM);
    no_open("my_out/", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0, PERM);
    no_open("my_out/", 0, 0, R, PERM);
    no_open("my_out_file", FOLLOW, 0, R, PERM);
    no_open("chain/secret.txt", FOLLOW, 0, R, PERM);
    no_open("chain/new_file", FOLLOW, __WASI_OFLAGS_CREAT, R, PERM);
    CHECK_ERRNO(__wasi_path_create_directory(dir, "my_out/made_by_guest"), PERM);
    CHECK_ERRNO(__wasi_path_unlink_file(dir, "my_out/secret.txt"), PERM);
    CHECK_ERRNO(__wasi_path_rename(dir, "inside.txt", dir, "chain/moved"), PERM);
    CHECK_ERRNO(__wasi_path_filestat_set_times(dir, FOLLOW, "my_out_file", 0, 0, __WASI_FSTFLAGS_ATIM_NOW), PERM);
    /* a renamed link resolves from its new place: sub/../outside is inside
     * the sandbox (and does not exist) */
    OK(__wasi_path_rename(dir, "my_out", dir, "sub/my_out"));
    no_open("sub/my_out/secret.txt", FOLLOW, 0, R, __WASI_ERRNO_NOENT);
    OK(__wasi_path_symlink("../../outside", dir, "sub/deep_out"));
    no_open("sub/deep_out/secret.txt", FOLLOW, 0, R, PERM);
    /* a hard link to an escaping symlink is just another such symlink */
    OK(__wasi_path_link(dir, 0, "my_out_file", dir, "hard_to_link"));
    no_open("hard_to_link", FOLLOW, 0, R, PERM);

    /* a subdirectory fd is a root of its own */
    __wasi_fd_t sub;
    OK(__wasi_path_open(dir, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN, R, 0, &sub));
    __wasi_fd_t fd;
    CHECK_ERRNO(__wasi_path_open(sub, 0, "../inside.txt", 0, R, 0, 0, &fd), PERM);
    CHECK_ERRNO(__wasi_path_open(sub, FOLLOW, "my_out/secret.txt", 0, R, 0, 0, &fd), PERM);
    OK(__wasi_fd_close(sub));

    /* the sandbox itself still works */
    OK(__wasi_path_open(dir, 0, "inside.txt", 0, R, 0, 0, &fd));
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    OK(__wasi_fd_read(fd, &iov, 1, &used));
    CHECK(used == 6 && memcmp(buf, "inside", 6) == 0);
    OK(__wasi_fd_close(fd));

    /* and so does plain libc */
    CHECK(fopen("/sandbox/../outside/secret.txt", "r") == NULL);
    CHECK(fopen("/sandbox/link_out_dir/secret.txt", "r") == NULL);
    CHECK(fopen("/sandbox/link_dangling_out", "w") == NULL);
    CHECK(fopen("/outside/secret.txt", "r") == NULL);
    FILE *f = fopen("/sandbox/inside.txt", "r");
    CHECK(f != NULL);
    fclose(f);
    printf("escape ok\n");
    return 0;
}

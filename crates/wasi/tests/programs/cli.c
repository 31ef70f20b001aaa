/* A small WASI command for `hayate run` tests: `cli MODE ARGS...`.
 *   args            print each argument on its own line
 *   env NAME        print $NAME or (unset)
 *   ls DIR          print DIR's entries, sorted, without . and ..
 *   cat FILE        print FILE
 *   write FILE TEXT write TEXT to FILE
 *   upper           copy stdin to stdout in upper case
 *   exit N          exit with status N
 *   grow            grow memory until it fails; print its size in MiB
 *   spin            loop forever
 *   trap            trap (unreachable) three calls deep
 *   raise           raise SIGABRT with proc_raise
 *   serve           accept one connection on fd 3, reply "hello\n" */
#include <ctype.h>
#include <dirent.h>
#include "wasi_test.h"

__attribute__((noinline)) static void innermost(int x) {
    if (x >= 0) __builtin_trap();
}
__attribute__((noinline)) static void middle(int x) { innermost(x + 1); }
__attribute__((noinline)) static void outer(int x) { middle(x * 2); }

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "args")) {
        for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
    } else if (!strcmp(mode, "env")) {
        const char *v = getenv(argv[2]);
        printf("%s\n", v ? v : "(unset)");
    } else if (!strcmp(mode, "ls")) {
        DIR *d = opendir(argv[2]);
        if (!d) { perror(argv[2]); return 1; }
        char *names[256];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) && n < 256)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
        closedir(d);
        qsort(names, n, sizeof *names, cmp);
        for (int i = 0; i < n; i++) printf("%s\n", names[i]);
    } else if (!strcmp(mode, "cat")) {
        FILE *f = fopen(argv[2], "r");
        if (!f) { perror(argv[2]); return 1; }
        int c;
        while ((c = fgetc(f)) != EOF) putchar(c);
        fclose(f);
    } else if (!strcmp(mode, "write")) {
        FILE *f = fopen(argv[2], "w");
        if (!f) { perror(argv[2]); return 1; }
        fputs(argv[3], f);
        fclose(f);
    } else if (!strcmp(mode, "upper")) {
        int c;
        while ((c = getchar()) != EOF) putchar(toupper(c));
    } else if (!strcmp(mode, "grow")) {
        while (__builtin_wasm_memory_grow(0, 16) != (__SIZE_TYPE__)-1) {}
        printf("%lu\n", (unsigned long)(__builtin_wasm_memory_size(0) / 16));
    } else if (!strcmp(mode, "spin")) {
        volatile unsigned long n = 0;
        for (;;) n++;
    } else if (!strcmp(mode, "exit")) {
        printf("exiting\n");
        exit(atoi(argv[2]));
    } else if (!strcmp(mode, "trap")) {
        printf("before the trap\n");
        fflush(stdout);
        outer(argc);
    } else if (!strcmp(mode, "raise")) {
        raw_proc_raise(6);
        return 0;
    } else if (!strcmp(mode, "serve")) {
        __wasi_fd_t c;
        OK(__wasi_sock_accept(3, 0, &c));
        write_str(c, "hello\n");
        OK(__wasi_sock_shutdown(c, __WASI_SDFLAGS_WR));
        OK(__wasi_fd_close(c));
    } else {
        return 2;
    }
    return 0;
}

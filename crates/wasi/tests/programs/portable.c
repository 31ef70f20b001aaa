/* A program written against libc only, with no preview1-specific checks:
 * arguments, environment, standard streams, files and directories in
 * /sandbox, clocks and randomness. Its output must be the same run as a
 * preview1 module and as a component made with the preview1 adapter. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, strerror(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void files(void) {
    if (mkdir("/sandbox/dir", 0755) != 0) {
        printf("mkdir: %s\n", strerror(errno));
        list("/sandbox");
        return;
    }
    if (mkdir("/sandbox/dir", 0755) != 0) printf("mkdir again: %s\n", strerror(errno));
    FILE *f = fopen("/sandbox/dir/a.txt", "w");
    for (int i = 0; i < 1000; i++) fprintf(f, "line %d\n", i);
    fclose(f);
    struct stat st;
    stat("/sandbox/dir/a.txt", &st);
    printf("size %lld regular %d dir %d\n", (long long)st.st_size, S_ISREG(st.st_mode),
           S_ISDIR(st.st_mode));
    f = fopen("/sandbox/dir/a.txt", "r");
    fseek(f, 7 * 500 - 100, SEEK_SET);
    char line[64];
    fgets(line, sizeof line, f);
    fgets(line, sizeof line, f);
    printf("at %ld: %s", ftell(f), line);
    fclose(f);
    f = fopen("/sandbox/dir/a.txt", "a");
    fputs("appended\n", f);
    fclose(f);
    stat("/sandbox/dir/a.txt", &st);
    printf("after append %lld\n", (long long)st.st_size);
    int fd = open("/sandbox/dir/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
    printf("exclusive create: %d %s\n", fd, strerror(errno));
    if (rename("/sandbox/dir/a.txt", "/sandbox/dir/b.txt") != 0) printf("rename failed\n");
    if (symlink("b.txt", "/sandbox/dir/link") != 0) printf("symlink: %s\n", strerror(errno));
    char target[64] = {0};
    ssize_t n = readlink("/sandbox/dir/link", target, sizeof target - 1);
    printf("readlink %zd %s\n", n, n > 0 ? target : "");
    f = fopen("/sandbox/dir/c.txt", "w");
    fputs("c", f);
    fclose(f);
    list("/sandbox/dir");
    printf("missing: %s\n", fopen("/sandbox/nope", "r") ? "opened" : strerror(errno));
    printf("escape: %s\n", fopen("/sandbox/../etc/passwd", "r") ? "opened" : "refused");
    printf("rmdir non-empty: %s\n", rmdir("/sandbox/dir") ? strerror(errno) : "removed");
    truncate("/sandbox/dir/c.txt", 100);
    stat("/sandbox/dir/c.txt", &st);
    printf("truncated to %lld\n", (long long)st.st_size);
    unlink("/sandbox/dir/link");
    unlink("/sandbox/dir/b.txt");
    unlink("/sandbox/dir/c.txt");
    printf("rmdir: %s\n", rmdir("/sandbox/dir") ? strerror(errno) : "removed");
    list("/sandbox");
}

int main(int argc, char **argv) {
    printf("argc %d:", argc);
    for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\nGREETING=%s\n", getenv("GREETING") ? getenv("GREETING") : "(unset)");

    char buf[4096];
    size_t total = 0, got;
    while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) total += got;
    printf("stdin %zu bytes\n", total);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    printf("clocks ok %d %d\n", b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec),
           now.tv_sec > 1600000000);
    unsigned char r1[16], r2[16];
    getentropy(r1, sizeof r1);
    getentropy(r2, sizeof r2);
    printf("random differs %d\n", memcmp(r1, r2, sizeof r1) != 0);

    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);

    files();
    fprintf(stderr, "to stderr\n");
    fflush(stdout);
    return argc > 1 && strcmp(argv[1], "fail") == 0 ? 1 : 0;
}

// A CGI handler with a large response, written in 64 KiB pieces as it is
// made: `?mb=N` megabytes (default 8) of lines `line NNNNNNNN\n`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const char *query = getenv("QUERY_STRING");
    long mb = 8;
    if (query && strncmp(query, "mb=", 3) == 0) {
        mb = atol(query + 3);
    }
    long lines = mb * 1024 * 1024 / 14;
    printf("Content-Type: text/plain\r\n\r\n");
    static char chunk[65536];
    size_t used = 0;
    for (long i = 0; i < lines; i++) {
        used += (size_t)snprintf(chunk + used, sizeof chunk - used, "line %08ld\n", i);
        if (used > sizeof chunk - 32) {
            fwrite(chunk, 1, used, stdout);
            used = 0;
        }
    }
    fwrite(chunk, 1, used, stdout);
    return 0;
}

// A CGI handler that sleeps `?ms=N` milliseconds (default 500) before
// answering, for tests of the concurrency limit and shutdown.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void) {
    const char *query = getenv("QUERY_STRING");
    long ms = 500;
    if (query && strncmp(query, "ms=", 3) == 0) {
        ms = atol(query + 3);
    }
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    printf("Content-Type: text/plain\r\n\r\nslept %ld ms\n", ms);
    return 0;
}

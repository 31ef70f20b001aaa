// A CGI handler with a global counter: each request increments it and
// prints it. In a fresh instance per request it always prints 1.
#include <stdio.h>

static int counter;
static char scratch[1 << 16];

int main(void) {
    counter++;
    int seen = scratch[12345];
    scratch[12345] = 42;
    printf("Content-Type: text/plain\r\n\r\ncounter=%d scratch=%d\n", counter, seen);
    return 0;
}

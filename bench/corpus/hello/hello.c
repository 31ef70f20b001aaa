/* The start-up benchmark: as little as a WASI program can do. */
#include <stdio.h>

int main(void) {
    puts("hello world");
    return 0;
}

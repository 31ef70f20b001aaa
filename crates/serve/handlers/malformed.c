// A CGI handler that forgets the CGI header: its output is not a
// response, so the server answers 500.
#include <stdio.h>

int main(void) {
    printf("hello, I forgot my headers\n\nand kept going\n");
    return 0;
}

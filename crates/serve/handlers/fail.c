// A CGI handler that answers, then exits with status 3 before its body is
// complete: the client must see a cut-off body, not a complete one.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("Content-Type: text/plain\r\n\r\npartial");
    fflush(stdout);
    exit(3);
}

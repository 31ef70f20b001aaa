// A CGI handler that answers, then exits with status 3 before its body is
// complete: the client must see a cut-off body, not a complete one. What it
// writes to stderr goes to the server log.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    fprintf(stderr, "failing on purpose\n");
    printf("Content-Type: text/plain\r\n\r\npartial");
    fflush(stdout);
    exit(3);
}

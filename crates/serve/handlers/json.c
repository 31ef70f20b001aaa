// A CGI handler answering JSON: the method, the query string and the body
// length, with a status chosen by `?status=NNN`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *var(const char *name) {
    const char *value = getenv(name);
    return value ? value : "";
}

// Writes `s` as a JSON string.
static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

int main(void) {
    const char *query = var("QUERY_STRING");
    int status = 200;
    const char *at = strstr(query, "status=");
    if (at) {
        status = atoi(at + 7);
    }
    long length = 0;
    while (getchar() != EOF) {
        length++;
    }
    printf("Status: %d\r\nContent-Type: application/json\r\n\r\n", status);
    printf("{\"method\":");
    json_string(var("REQUEST_METHOD"));
    printf(",\"query\":");
    json_string(query);
    printf(",\"body_length\":%ld}\n", length);
    return 0;
}

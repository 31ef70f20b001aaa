// A CGI handler that echoes the request: method, script name, path, query,
// a few headers and the body, as plain text.
#include <stdio.h>
#include <stdlib.h>

static const char *var(const char *name) {
    const char *value = getenv(name);
    return value ? value : "";
}

int main(void) {
    printf("Content-Type: text/plain\r\n");
    printf("X-Handler: echo\r\n\r\n");
    printf("method=%s\n", var("REQUEST_METHOD"));
    printf("script=%s\n", var("SCRIPT_NAME"));
    printf("path=%s\n", var("PATH_INFO"));
    printf("query=%s\n", var("QUERY_STRING"));
    printf("content_type=%s\n", var("CONTENT_TYPE"));
    printf("content_length=%s\n", var("CONTENT_LENGTH"));
    printf("user_agent=%s\n", var("HTTP_USER_AGENT"));
    printf("x_test=%s\n", var("HTTP_X_TEST"));
    printf("protocol=%s\n", var("SERVER_PROTOCOL"));
    printf("gateway=%s\n", var("GATEWAY_INTERFACE"));
    printf("remote=%s\n", var("REMOTE_ADDR"));
    printf("greeting=%s\n", var("GREETING"));
    printf("body=");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        fwrite(buf, 1, n, stdout);
    }
    return 0;
}

/*
 * A minimal QuickJS command for the start-up benchmark: the QuickJS engine
 * (the C sources of PyPI's `quickjs` 1.19.4, QuickJS 2021-03-27) with
 * `print` and `console.log`, evaluating a script file or `-e CODE`.
 *
 *   quickjs.wasm -e 'print(1 + 1)'
 *   quickjs.wasm script.js
 *
 * Exit status 1 and the exception on stderr if the script throws.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"

static JSValue print(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    for (int i = 0; i < argc; i++) {
        const char *s = JS_ToCString(ctx, argv[i]);
        if (!s) {
            return JS_EXCEPTION;
        }
        fputs(s, stdout);
        fputc(i + 1 < argc ? ' ' : '\n', stdout);
        JS_FreeCString(ctx, s);
    }
    if (argc == 0) {
        fputc('\n', stdout);
    }
    return JS_UNDEFINED;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int main(int argc, char **argv) {
    const char *name;
    char *source;
    size_t len;
    if (argc == 3 && strcmp(argv[1], "-e") == 0) {
        name = "<cmdline>";
        len = strlen(argv[2]);
        source = malloc(len + 1);
        memcpy(source, argv[2], len + 1);
    } else if (argc == 2) {
        name = argv[1];
        source = read_file(name, &len);
        if (!source) {
            fprintf(stderr, "cannot read %s\n", name);
            return 2;
        }
    } else {
        fprintf(stderr, "usage: quickjs (-e CODE | FILE)\n");
        return 2;
    }

    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue print_fn = JS_NewCFunction(ctx, print, "print", 1);
    JS_SetPropertyStr(ctx, global, "print", JS_DupValue(ctx, print_fn));
    JSValue console = JS_NewObject(ctx);
    JS_SetPropertyStr(ctx, console, "log", print_fn);
    JS_SetPropertyStr(ctx, global, "console", console);
    JS_FreeValue(ctx, global);

    int status = 0;
    JSValue result = JS_Eval(ctx, source, len, name, JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(result)) {
        JSValue exception = JS_GetException(ctx);
        const char *message = JS_ToCString(ctx, exception);
        fprintf(stderr, "%s\n", message ? message : "exception");
        JS_FreeCString(ctx, message);
        JS_FreeValue(ctx, exception);
        status = 1;
    }
    JS_FreeValue(ctx, result);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    free(source);
    fflush(stdout);
    return status;
}

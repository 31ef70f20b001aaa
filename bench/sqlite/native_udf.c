/* The native limit: the same function as an ordinary SQLite extension
 * function in C, loaded with `.load bench/sqlite/native_udf`. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#include "udf.h"

static void native_f(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int64(ctx, udf_mix(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1])));
}

int sqlite3_nativeudf_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
    (void)err;
    SQLITE_EXTENSION_INIT2(api);
    return sqlite3_create_function(db, "native_f", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0,
                                   native_f, 0, 0);
}

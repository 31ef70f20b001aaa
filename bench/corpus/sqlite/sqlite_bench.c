/* SQLite insert/index/query workload on an in-memory database.
 *
 * Built with SQLITE_OS_OTHER: the tiny VFS below (no files, fixed clock, no
 * randomness) is the only one, natively as under WASI, so both run the same
 * code and the output is deterministic. Size: thousands of rows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/bench.h"
#include "sqlite3.h"

#define BENCH_DEFAULT_SIZE 200

/* ---- the VFS: in-memory databases only ---- */

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
    (void)v, (void)name, (void)f, (void)flags, (void)out;
    return SQLITE_CANTOPEN;
}
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync) {
    (void)v, (void)name, (void)sync;
    return SQLITE_OK;
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v, (void)name, (void)flags;
    *out = 0;
    return SQLITE_OK;
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    sqlite3_snprintf(n, out, "%s", name);
    return SQLITE_OK;
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    memset(out, 0, (size_t)n);
    return n;
}
static int vfs_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    return us;
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
    (void)v;
    *out = 2460000.5; /* a fixed Julian day */
    return SQLITE_OK;
}
static int vfs_last_error(sqlite3_vfs *v, int n, char *out) {
    (void)v, (void)n, (void)out;
    return 0;
}

static sqlite3_vfs mem_vfs = {
    1, (int)sizeof(sqlite3_file), 512, 0, "bench-mem", 0,
    vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
    0, 0, 0, 0,
    vfs_randomness, vfs_sleep, vfs_current_time, vfs_last_error,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&mem_vfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

/* ---- the workload ---- */

static sqlite3 *db;

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(const char *sql) { check(sqlite3_exec(db, sql, 0, 0, 0), sql); }

/* Runs a query and folds every column of every row, as text, into h. */
static uint64_t fold_query(uint64_t h, sqlite3_stmt *st) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        for (int i = 0; i < n; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            h = t ? bench_fnv(h, t, strlen((const char *)t)) : bench_mix(h, 0xdead);
        }
    }
    check(rc, "step");
    sqlite3_reset(st);
    return h;
}

static uint64_t query(uint64_t h, const char *sql) {
    sqlite3_stmt *st;
    check(sqlite3_prepare_v2(db, sql, -1, &st, 0), sql);
    h = fold_query(h, st);
    sqlite3_finalize(st);
    return h;
}

static const char *const WORDS[] = {"red", "green", "blue", "cyan", "magenta", "yellow",
                                    "black", "white", "orange", "purple", "olive", "navy"};

static uint64_t bench(int size) {
    int rows = size * 1000;
    bench_rng rng = {2024};
    uint64_t h = BENCH_FNV_INIT;
    check(sqlite3_open(":memory:", &db), "open");
    exec("PRAGMA cache_size=-65536");
    exec("CREATE TABLE item(id INTEGER PRIMARY KEY, k INTEGER, cat TEXT, name TEXT, price REAL)");
    exec("CREATE TABLE tag(item_id INTEGER, tag TEXT)");

    /* Inserts, in one transaction, through prepared statements. */
    exec("BEGIN");
    sqlite3_stmt *ins, *ins_tag;
    check(sqlite3_prepare_v2(db, "INSERT INTO item(k, cat, name, price) VALUES(?,?,?,?)", -1,
                             &ins, 0),
          "prepare insert");
    check(sqlite3_prepare_v2(db, "INSERT INTO tag VALUES(?,?)", -1, &ins_tag, 0), "prepare tag");
    char name[64];
    for (int i = 0; i < rows; i++) {
        uint64_t r = bench_next(&rng);
        snprintf(name, sizeof name, "%s %s %u", WORDS[r % 12], WORDS[(r >> 8) % 12],
                 (unsigned)(r >> 40) % 100000);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)((r >> 16) % 1000003));
        sqlite3_bind_text(ins, 2, WORDS[(r >> 24) % 12], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 4, (double)((r >> 32) % 100000) / 100.0);
        check(sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
        if (r % 3 == 0) {
            sqlite3_bind_int64(ins_tag, 1, i + 1);
            sqlite3_bind_text(ins_tag, 2, WORDS[(r >> 4) % 12], -1, SQLITE_STATIC);
            check(sqlite3_step(ins_tag), "insert tag");
            sqlite3_reset(ins_tag);
        }
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_tag);
    exec("COMMIT");

    /* Indexes. */
    exec("CREATE INDEX item_k ON item(k)");
    exec("CREATE INDEX item_cat_price ON item(cat, price)");
    exec("CREATE INDEX tag_item ON tag(item_id)");

    /* Point lookups through the index. */
    sqlite3_stmt *look;
    check(sqlite3_prepare_v2(db, "SELECT id, name, price FROM item WHERE k = ?", -1, &look, 0),
          "prepare lookup");
    for (int i = 0; i < rows / 4; i++) {
        sqlite3_bind_int64(look, 1, (sqlite3_int64)(bench_next(&rng) % 1000003));
        h = fold_query(h, look);
    }
    sqlite3_finalize(look);

    /* Aggregates, joins, sorting, LIKE scans. */
    h = query(h, "SELECT cat, count(*), round(avg(price), 4), min(k), max(k) FROM item "
                 "GROUP BY cat ORDER BY cat");
    h = query(h, "SELECT t.tag, count(*), round(sum(i.price), 2) FROM tag t JOIN item i ON "
                 "i.id = t.item_id WHERE i.price > 500 GROUP BY t.tag ORDER BY 2 DESC, 1");
    h = query(h, "SELECT id, name FROM item WHERE cat = 'navy' AND price BETWEEN 100 AND 101 "
                 "ORDER BY price, id");
    h = query(h, "SELECT count(*) FROM item WHERE name LIKE '%green blue%'");
    h = query(h, "SELECT name, k FROM item ORDER BY name DESC, k LIMIT 50 OFFSET 1000");
    h = query(h, "SELECT substr(name, 1, 3) AS p, count(DISTINCT cat) FROM item GROUP BY p "
                 "HAVING count(*) > 10 ORDER BY p");

    /* Updates and deletes. */
    exec("BEGIN");
    exec("UPDATE item SET price = price * 1.1 WHERE k % 7 = 0");
    exec("DELETE FROM item WHERE k % 11 = 0");
    exec("DELETE FROM tag WHERE item_id NOT IN (SELECT id FROM item)");
    exec("COMMIT");
    h = query(h, "SELECT count(*), round(sum(price), 2) FROM item");
    h = query(h, "SELECT count(*) FROM tag");

    sqlite3_close(db);
    return h;
}

BENCH_MAIN("sqlite")

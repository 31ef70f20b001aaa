//! The SQL interface through `rusqlite` and `hayate_rusqlite::register`.

mod common;

use common::{AGGREGATES, BYTES, MALICIOUS, NUMBERS, init_sqlite, sql_str};
use rusqlite::Connection;
use rusqlite::types::Value;

fn open(path: &std::path::Path) -> Connection {
    init_sqlite();
    let conn = Connection::open(path).unwrap();
    hayate_rusqlite::register(&conn).unwrap();
    conn
}

fn memory() -> Connection {
    init_sqlite();
    let conn = Connection::open_in_memory().unwrap();
    hayate_rusqlite::register(&conn).unwrap();
    conn
}

fn create(conn: &Connection, name: &str, module: &str, export: &str, sig: Option<&str>) {
    let sig = sig.map(sql_str).unwrap_or_else(|| "NULL".into());
    let sql = format!(
        "SELECT wasm_create_function('{name}', {}, '{export}', {sig})",
        sql_str(module)
    );
    conn.query_row(&sql, [], |_| Ok(()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn value(conn: &Connection, sql: &str) -> Value {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn error(conn: &Connection, sql: &str) -> String {
    match conn.query_row(sql, [], |r| r.get::<_, Value>(0)) {
        Ok(v) => panic!("{sql} gave {v:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn numbers_from_the_wasm_type() {
    let conn = memory();
    for f in ["add", "mul32", "addf", "half32"] {
        create(&conn, &format!("w{f}"), NUMBERS, f, None);
    }
    assert_eq!(value(&conn, "SELECT wadd(40, 2)"), Value::Integer(42));
    assert_eq!(
        value(&conn, "SELECT wadd(9223372036854775807, 1)"),
        Value::Integer(i64::MIN)
    );
    assert_eq!(value(&conn, "SELECT wmul32(-6, 7)"), Value::Integer(-42));
    assert_eq!(value(&conn, "SELECT waddf(0.5, 0.25)"), Value::Real(0.75));
    assert_eq!(value(&conn, "SELECT whalf32(3)"), Value::Real(1.5));
    assert_eq!(value(&conn, "SELECT wadd('40', 2.9)"), Value::Integer(42));
    assert!(error(&conn, "SELECT wmul32(4294967296, 1)").contains("i32"));
    assert_eq!(value(&conn, "SELECT wadd(NULL, 1)"), Value::Null);
    assert!(error(&conn, "SELECT wadd(1)").contains("wrong number of arguments"));
    // Mixed parameter types, each converted to its own.
    create(&conn, "wmixed", NUMBERS, "mixed", None);
    assert_eq!(value(&conn, "SELECT wmixed(1, 2, 0.5)"), Value::Real(3.5));
    assert_eq!(value(&conn, "SELECT wmixed(-1, '5', 2)"), Value::Real(6.0));
    assert_eq!(value(&conn, "SELECT wmixed(1, NULL, 0.5)"), Value::Null);
    let e = error(&conn, "SELECT wmixed(1, 2, x'00')");
    assert!(
        e.contains("wmixed: argument 3: expects a REAL, got a BLOB"),
        "{e}"
    );
    let e = error(&conn, "SELECT wmixed(2147483648, 2, 0.5)");
    assert!(
        e.contains("argument 1: 2147483648 does not fit the guest's i32"),
        "{e}"
    );
    // Declared `nulls`: NULL arrives as 0.
    create(&conn, "wnulls", NUMBERS, "mixed_null", Some("nulls"));
    assert_eq!(value(&conn, "SELECT wnulls(NULL, 2.5)"), Value::Integer(2));
    assert_eq!(value(&conn, "SELECT wnulls(40, NULL)"), Value::Integer(40));
    // In a query over a table, typeof and a WHERE clause.
    conn.execute_batch("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3), (NULL);")
        .unwrap();
    assert_eq!(
        value(&conn, "SELECT sum(wadd(x, 10)) FROM t WHERE wadd(x, 0) > 1"),
        Value::Integer(25)
    );
    assert_eq!(
        value(&conn, "SELECT count(*) FROM t WHERE wadd(x, 1) IS NULL"),
        Value::Integer(1)
    );
    // Only a deterministic function may be used in an index expression.
    let e = conn
        .execute_batch("CREATE INDEX bad ON t(wadd(x, 1))")
        .unwrap_err();
    assert!(e.to_string().contains("non-deterministic"), "{e}");
    create(&conn, "dadd", NUMBERS, "add", Some("deterministic"));
    conn.execute_batch("CREATE INDEX good ON t(dadd(x, 1))")
        .unwrap();
    assert_eq!(
        value(&conn, "SELECT x FROM t WHERE dadd(x, 1) = 3"),
        Value::Integer(2)
    );
}

#[test]
fn text_and_blob_through_linear_memory() {
    let conn = memory();
    create(
        &conn,
        "echo",
        BYTES,
        "echo",
        Some("(text) -> text deterministic"),
    );
    create(&conn, "tlen", BYTES, "len", Some("(text) -> integer"));
    create(&conn, "rev", BYTES, "rev", Some("(blob) -> blob"));
    create(
        &conn,
        "len_plus",
        BYTES,
        "len_plus",
        Some("(text, integer) -> integer"),
    );
    create(
        &conn,
        "echo_small",
        BYTES,
        "echo",
        Some("(text) -> text memory=1MiB"),
    );
    create(&conn, "bad", BYTES, "bad_utf8", Some("(text) -> text"));
    create(
        &conn,
        "nullish",
        BYTES,
        "is_null",
        Some("(text) -> integer nulls"),
    );
    let s = "héllo, 世界 🦀";
    assert_eq!(
        value(&conn, &format!("SELECT echo({})", sql_str(s))),
        Value::Text(s.into())
    );
    assert_eq!(
        value(&conn, &format!("SELECT tlen({})", sql_str(s))),
        Value::Integer(s.len() as i64)
    );
    assert_eq!(value(&conn, "SELECT echo('')"), Value::Text(String::new()));
    assert_eq!(
        value(&conn, "SELECT len_plus('ab', 40)"),
        Value::Integer(42)
    );
    assert_eq!(value(&conn, "SELECT echo(12)"), Value::Text("12".into()));
    assert_eq!(
        value(&conn, "SELECT rev(x'01020304')"),
        Value::Blob(vec![4, 3, 2, 1])
    );
    assert_eq!(value(&conn, "SELECT echo(NULL)"), Value::Null);
    assert_eq!(value(&conn, "SELECT nullish(NULL)"), Value::Integer(1));
    assert_eq!(value(&conn, "SELECT nullish('')"), Value::Integer(0));
    assert!(error(&conn, "SELECT bad('x')").contains("not UTF-8"));
    // A large BLOB (8 MiB) each way, many rows reusing one instance.
    let big: Vec<u8> = (0..8 << 20).map(|i| (i % 251) as u8).collect();
    let back: Vec<u8> = conn
        .query_row("SELECT rev(?1)", [&big], |r| r.get(0))
        .unwrap();
    assert!(back.iter().rev().eq(big.iter()));
    let n: i64 = conn
        .query_row(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
             SELECT sum(tlen(echo(printf('%d-é', i)))) = sum(length(CAST(printf('%d-é', i) AS BLOB)))
             FROM c",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    // `dealloc` gets the buffers back: 5000 rows of 1000 bytes in and out
    // fit in 1 MiB.
    let n: i64 = conn
        .query_row(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
             SELECT sum(length(echo_small(printf('%.1000c', 'x')))) FROM c",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 5_000_000);
}

#[test]
fn aggregates_with_group_by() {
    let conn = memory();
    for (name, step, fin, sig) in [
        ("wsum", "step", "total", "NULL"),
        ("wmean", "fstep", "mean", "'(real) -> real deterministic'"),
    ] {
        let sql = format!(
            "SELECT wasm_create_aggregate('{name}', {}, '{step}', '{fin}', {sig})",
            sql_str(AGGREGATES)
        );
        conn.query_row(&sql, [], |_| Ok(())).unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE t(g TEXT, x INTEGER);
         INSERT INTO t VALUES ('a', 1), ('a', 2), ('b', 10), ('b', NULL), ('c', 5), ('a', 3);",
    )
    .unwrap();
    let mut q = conn
        .prepare("SELECT g, wsum(x), wmean(x) FROM t GROUP BY g ORDER BY g")
        .unwrap();
    let rows: Vec<(String, i64, f64)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            ("a".into(), 6, 2.0),
            ("b".into(), 10, 10.0),
            ("c".into(), 5, 5.0)
        ]
    );
    assert_eq!(
        value(&conn, "SELECT wsum(x) FROM t WHERE 0"),
        Value::Integer(0)
    );
    assert_eq!(value(&conn, "SELECT wsum(x) FROM t"), Value::Integer(21));
}

#[test]
fn instances_live_per_statement_unless_stateful() {
    let conn = memory();
    create(&conn, "wcount", NUMBERS, "count", None);
    create(&conn, "scount", NUMBERS, "count", Some("stateful"));
    let q = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5)
             SELECT max(wcount(i)), max(scount(i)) FROM c";
    let run = || -> (i64, i64) {
        conn.query_row(q, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert_eq!(run(), (5, 5));
    assert_eq!(run(), (5, 10));
    // A prepared statement run again (reset in between) starts afresh too.
    let mut stmt = conn.prepare(q).unwrap();
    for stateful in [15, 20] {
        let got: (i64, i64) = stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(got, (5, stateful));
    }
}

#[test]
fn the_time_budget_is_per_statement() {
    let conn = memory();
    create(&conn, "burn", MALICIOUS, "burn", Some("timeout=100ms"));
    // One short call passes; a thousand of about a millisecond each (a
    // million iterations) exceed the statement's 100 ms between them.
    assert_eq!(value(&conn, "SELECT burn(1000)"), Value::Integer(0));
    let e = error(
        &conn,
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000)
         SELECT sum(burn(1000000)) FROM c",
    );
    assert!(e.contains("burn: wasm trap: interrupt"), "{e}");
    // The next statement has its whole budget again.
    assert_eq!(value(&conn, "SELECT burn(1000)"), Value::Integer(0));
}

#[test]
fn refused_modules_store_nothing() {
    let conn = memory();
    let cases = [
        (
            "SELECT wasm_create_function('f', x'0061736d', 'add')",
            "invalid module",
        ),
        (
            "SELECT wasm_create_function('f', '(module', 'add')",
            "invalid module text",
        ),
        (
            &format!(
                "SELECT wasm_create_function('f', {}, 'nope')",
                sql_str(NUMBERS)
            ),
            "no export `nope`",
        ),
        (
            &format!(
                "SELECT wasm_create_function('f', {}, 'v128')",
                sql_str(NUMBERS)
            ),
            "no SQL type",
        ),
        (
            &format!(
                "SELECT wasm_create_function('f', {}, 'add', '(text) -> integer')",
                sql_str(NUMBERS)
            ),
            "does not fit",
        ),
        (
            &format!(
                "SELECT wasm_create_function('f', {}, 'add', '(integer, integer) -> text')",
                sql_str(NUMBERS)
            ),
            "alloc",
        ),
        (
            &format!(
                "SELECT wasm_create_function('f', {}, 'add', 'fast')",
                sql_str(NUMBERS)
            ),
            "unknown option",
        ),
        (
            &format!(
                "SELECT wasm_create_function('1f', {}, 'add')",
                sql_str(NUMBERS)
            ),
            "function name",
        ),
        (
            "SELECT wasm_create_function('f', '(module (import \"a\" \"b\" (func)) (func (export \"g\") (result i32) i32.const 1))', 'g')",
            "imports",
        ),
    ];
    for (sql, expected) in cases {
        let e = error(&conn, sql);
        assert!(e.contains(expected), "{sql}: {e}");
    }
    assert_eq!(
        value(&conn, "SELECT count(*) FROM wasm_functions"),
        Value::Integer(0)
    );
    assert!(error(&conn, "SELECT f(1, 2)").contains("no such function"));
}

#[test]
fn persistence_across_reopen_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("udf.db");
    {
        let conn = open(&path);
        create(
            &conn,
            "plus",
            NUMBERS,
            "add",
            Some("(integer, integer) -> integer deterministic"),
        );
        create(&conn, "echo", BYTES, "echo", Some("(text) -> text"));
        conn.query_row(
            &format!(
                "SELECT wasm_create_aggregate('wsum', {}, 'step', 'total')",
                sql_str(AGGREGATES)
            ),
            [],
            |_| Ok(()),
        )
        .unwrap();
        // Redefining replaces, in the table and in the connection.
        create(&conn, "plus", NUMBERS, "mul32", Some("deterministic"));
        assert_eq!(value(&conn, "SELECT plus(6, 7)"), Value::Integer(42));
        // SQLite cannot change a function's flags while a statement runs:
        // refused, and the old definition stays.
        let e = error(
            &conn,
            &format!(
                "SELECT wasm_create_function('plus', {}, 'add')",
                sql_str(NUMBERS)
            ),
        );
        assert!(e.contains("cannot register"), "{e}");
        assert_eq!(value(&conn, "SELECT plus(6, 7)"), Value::Integer(42));
        create(
            &conn,
            "plus",
            NUMBERS,
            "add",
            Some("(integer, integer) -> integer deterministic"),
        );
        assert_eq!(value(&conn, "SELECT plus(6, 7)"), Value::Integer(13));
    }
    let conn = open(&path);
    assert_eq!(value(&conn, "SELECT plus(40, 2)"), Value::Integer(42));
    assert_eq!(
        value(&conn, "SELECT echo('ça va')"),
        Value::Text("ça va".into())
    );
    assert_eq!(
        value(&conn, "SELECT wsum(value) FROM json_each('[1,2,3]')"),
        Value::Integer(6)
    );
    let listed: Vec<(String, String, String)> = conn
        .prepare("SELECT name, kind, export FROM wasm_functions ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        listed,
        [
            ("echo".into(), "scalar".into(), "echo".into()),
            ("plus".into(), "scalar".into(), "add".into()),
            ("wsum".into(), "aggregate".into(), "step".into())
        ]
    );
    let hash = value(
        &conn,
        "SELECT module_hash FROM wasm_functions WHERE name = 'plus'",
    );
    assert!(matches!(hash, Value::Text(h) if h.len() == 64));
    assert_eq!(
        value(&conn, "SELECT wasm_drop_function('plus')"),
        Value::Integer(1)
    );
    assert!(error(&conn, "SELECT plus(1, 2)").contains("dropped"));
    assert!(error(&conn, "SELECT wasm_drop_function('plus')").contains("no wasm function"));
    drop(conn);
    let conn = open(&path);
    assert!(error(&conn, "SELECT plus(1, 2)").contains("no such function"));
    assert_eq!(
        value(&conn, "SELECT count(*) FROM wasm_functions"),
        Value::Integer(2)
    );
}

#[test]
fn malicious_guests_fail_the_statement_only() {
    let conn = memory();
    conn.execute_batch("CREATE TABLE kept(x); INSERT INTO kept VALUES (42);")
        .unwrap();
    create(&conn, "spin", MALICIOUS, "spin", Some("timeout=200ms"));
    create(&conn, "bomb", MALICIOUS, "bomb", Some("memory=8MiB"));
    create(&conn, "boom", MALICIOUS, "boom", None);
    create(&conn, "deep", MALICIOUS, "deep", None);
    create(&conn, "deep64k", MALICIOUS, "deep", Some("stack=64KiB"));
    create(&conn, "div", MALICIOUS, "div", None);
    create(
        &conn,
        "rev",
        BYTES,
        "rev",
        Some("(blob) -> blob memory=1MiB"),
    );
    let checks = [
        ("SELECT spin(1)", "spin: wasm trap: interrupt"),
        ("SELECT bomb(1)", "bomb: wasm trap: unreachable"),
        ("SELECT boom(1)", "boom: wasm trap: unreachable"),
        (
            "SELECT deep(1)",
            "deep: wasm trap: call stack exhausted (stack limit 524288 bytes)",
        ),
        (
            "SELECT deep64k(1)",
            "deep64k: wasm trap: call stack exhausted (stack limit 65536 bytes)",
        ),
        ("SELECT div(1, 0)", "div: wasm trap: integer divide by zero"),
        ("SELECT rev(zeroblob(2000000))", "rev: out of memory"),
    ];
    for (sql, expected) in checks {
        let started = std::time::Instant::now();
        let e = error(&conn, sql);
        assert!(e.contains(expected), "{sql}: {e}");
        assert!(started.elapsed().as_secs() < 10, "{sql} took too long");
        // The same connection still answers, its data intact.
        assert_eq!(value(&conn, "SELECT x FROM kept"), Value::Integer(42));
        assert_eq!(value(&conn, "SELECT div(84, 2)"), Value::Integer(42));
    }
}

/// A module whose `f` returns `n`.
fn constant(n: i64) -> String {
    format!("(module (func (export \"f\") (result i64) (i64.const {n})))")
}

fn listed(conn: &Connection) -> i64 {
    match value(conn, "SELECT count(*) FROM wasm_functions") {
        Value::Integer(n) => n,
        v => panic!("count gave {v:?}"),
    }
}

#[test]
fn definitions_follow_transactions() {
    let conn = memory();
    // A creation rolled back: the function goes with its row.
    conn.execute_batch("BEGIN").unwrap();
    create(&conn, "k", &constant(1), "f", None);
    assert_eq!(value(&conn, "SELECT k()"), Value::Integer(1));
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(listed(&conn), 0);
    let e = error(&conn, "SELECT k()");
    assert!(
        e.contains("k was dropped (or its creation rolled back)"),
        "{e}"
    );

    // A replacement rolled back: the stored definition comes back.
    create(&conn, "k", &constant(1), "f", None);
    conn.execute_batch("BEGIN").unwrap();
    create(&conn, "k", &constant(2), "f", None);
    assert_eq!(value(&conn, "SELECT k()"), Value::Integer(2));
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(value(&conn, "SELECT k()"), Value::Integer(1));

    // A drop rolled back: the function is back.
    conn.execute_batch("BEGIN").unwrap();
    conn.query_row("SELECT wasm_drop_function('k')", [], |_| Ok(()))
        .unwrap();
    assert!(error(&conn, "SELECT k()").contains("dropped"));
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(value(&conn, "SELECT k()"), Value::Integer(1));

    // Savepoints too, which SQLite's rollback hook would not report.
    conn.execute_batch("SAVEPOINT s").unwrap();
    create(&conn, "k", &constant(3), "f", None);
    create(&conn, "k2", &constant(4), "f", None);
    conn.execute_batch("ROLLBACK TO s; RELEASE s").unwrap();
    assert_eq!(value(&conn, "SELECT k()"), Value::Integer(1));
    assert!(error(&conn, "SELECT k2()").contains("rolled back"));
    assert_eq!(listed(&conn), 1);

    // An aggregate's creation rolled back.
    conn.execute_batch("BEGIN").unwrap();
    let sql = format!(
        "SELECT wasm_create_aggregate('wsum', {}, 'step', 'total')",
        sql_str(AGGREGATES)
    );
    conn.query_row(&sql, [], |_| Ok(())).unwrap();
    assert_eq!(value(&conn, "SELECT wsum(4)"), Value::Integer(4));
    conn.execute_batch("ROLLBACK").unwrap();
    assert!(error(&conn, "SELECT wsum(4)").contains("rolled back"));
    assert!(error(&conn, "SELECT wsum(x) FROM (SELECT 1 AS x WHERE 0)").contains("rolled back"));
}

#[test]
fn definitions_follow_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = open(&path);
    create(&a, "k", &constant(1), "f", None);
    let b = open(&path);
    assert_eq!(value(&b, "SELECT k()"), Value::Integer(1));
    // Redefined through `a`: `b` reloads it at its next statement.
    create(&a, "k", &constant(5), "f", None);
    assert_eq!(value(&b, "SELECT k()"), Value::Integer(5));
    // Dropped through `a`: gone in `b` too.
    a.query_row("SELECT wasm_drop_function('k')", [], |_| Ok(()))
        .unwrap();
    assert!(error(&b, "SELECT k()").contains("dropped"));
}

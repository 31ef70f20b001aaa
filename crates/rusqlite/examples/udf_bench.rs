//! The cost of a Wasm UDF per row, side by side with a native one:
//! `SELECT sum(f(x, 1))` over a table of integers, with `f` a native Rust
//! function registered through the same `rusqlite` path and with `f` the
//! same addition as a Wasm function (`i64.add`), plus the plain SQL `x + 1`.
//! Prints each time and the ratios; measured in one run on the same data.
//!
//! `cargo run --release -p hayate-rusqlite --example udf_bench [ROWS]`

use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

fn best_of(conn: &Connection, sql: &str, runs: usize) -> (Duration, i64) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs {
        let start = Instant::now();
        result = conn.query_row(sql, [], |r| r.get(0)).unwrap();
        best = best.min(start.elapsed());
    }
    (best, result)
}

fn main() {
    let rows: i64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("ROWS must be a number"))
        .unwrap_or(1_000_000);
    let conn = Connection::open_in_memory().unwrap();
    hayate_rusqlite::register(&conn).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE t(x INTEGER);
         INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
         SELECT i FROM c;"
    ))
    .unwrap();
    conn.create_scalar_function(
        "native_add",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<i64>(0)?.wrapping_add(ctx.get::<i64>(1)?)),
    )
    .unwrap();
    conn.query_row(
        "SELECT wasm_create_function('wasm_add', '(module (func (export \"add\")
           (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1))))',
           'add', 'deterministic')",
        [],
        |_| Ok(()),
    )
    .unwrap();
    let (sql_time, a) = best_of(&conn, "SELECT sum(x + 1) FROM t", 5);
    let (native_time, b) = best_of(&conn, "SELECT sum(native_add(x, 1)) FROM t", 5);
    let (wasm_time, c) = best_of(&conn, "SELECT sum(wasm_add(x, 1)) FROM t", 5);
    assert!(a == b && b == c, "results differ: {a} {b} {c}");
    let per_row = |d: Duration| d.as_nanos() as f64 / rows as f64;
    println!("{rows} rows, best of 5");
    println!("plain SQL x + 1    {:>8.1} ns/row", per_row(sql_time));
    println!("native Rust UDF    {:>8.1} ns/row", per_row(native_time));
    println!("Wasm UDF (hayate)  {:>8.1} ns/row", per_row(wasm_time));
    println!(
        "Wasm / native: {:.2}x; Wasm call overhead over native: {:.1} ns/row",
        wasm_time.as_secs_f64() / native_time.as_secs_f64(),
        per_row(wasm_time) - per_row(native_time)
    );
}

//! The loadable extension in Debian's `sqlite3` shell: builds it (`cargo
//! test` builds no `cdylib`), loads it with `.load`, and checks the output
//! of scripts, across a reopen.

#[path = "../../rusqlite/tests/common/guests.rs"]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{AGGREGATES, BYTES, MALICIOUS, NUMBERS, sql_str};

/// The target directory `cargo test` built this test into.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/<profile>/deps/shell-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// Builds the extension once; returns the path to give `.load` (without
/// the `.so`).
fn extension() -> &'static Path {
    static EXT: OnceLock<PathBuf> = OnceLock::new();
    EXT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = target_dir();
        let status = Command::new(cargo)
            .args(["build", "-p", "hayate-sqlite"])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .stdin(Stdio::null())
            .status()
            .expect("cannot run cargo");
        assert!(status.success(), "building the extension failed");
        target.join("debug").join("libhayate_sqlite")
    })
}

/// Runs `script` in `sqlite3 db` after loading the extension; returns
/// stdout and stderr.
fn sqlite3(db: &Path, script: &str) -> (String, String) {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 shell is needed (Debian package sqlite3)");
    let input = format!(".load {}\n{script}\n", extension().display());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn types_nulls_text_blobs_and_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (n, b, a) = (sql_str(NUMBERS), sql_str(BYTES), sql_str(AGGREGATES));
    let script = format!(
        "SELECT wasm_create_function('plus', {n}, 'add');
         SELECT wasm_create_function('fplus', {n}, 'addf');
         SELECT wasm_create_function('echo', {b}, 'echo', '(text) -> text deterministic');
         SELECT wasm_create_function('rev', {b}, 'rev', '(blob) -> blob');
         SELECT wasm_create_aggregate('wsum', {a}, 'step', 'total');
         SELECT plus(40, 2), fplus(1.5, 2.25), plus(NULL, 1) IS NULL;
         SELECT echo('héllo 世界 🦀'), length(echo('héllo 世界 🦀'));
         SELECT hex(rev(x'00ff10'));
         SELECT rev(rev(b)) = b, length(rev(b)) FROM (SELECT randomblob(5000000) AS b);
         CREATE TABLE t(g, x);
         INSERT INTO t VALUES ('a', 1), ('b', 2), ('a', 3), ('b', NULL), ('c', 7);
         SELECT g, wsum(x) FROM t GROUP BY g ORDER BY g;
         SELECT name, kind FROM wasm_functions ORDER BY name;"
    );
    let (out, err) = sqlite3(&db, &script);
    assert_eq!(err, "");
    assert_eq!(
        lines(&out),
        [
            "plus",
            "fplus",
            "echo",
            "rev",
            "wsum",
            "42|3.75|1",
            "héllo 世界 🦀|10",
            "10FF00",
            "1|5000000",
            "a|4",
            "b|2",
            "c|7",
            "echo|scalar",
            "fplus|scalar",
            "plus|scalar",
            "rev|scalar",
            "wsum|aggregate",
        ]
    );
    // Reopened: the functions come back from the database.
    let (out, err) = sqlite3(
        &db,
        "SELECT plus(1, 2), echo('ça'), hex(rev(x'0102'));
         SELECT wsum(x) FROM t;
         SELECT wasm_drop_function('plus');",
    );
    assert_eq!(err, "");
    assert_eq!(lines(&out), ["3|ça|0201", "13", "1"]);
    let (out, err) = sqlite3(
        &db,
        "SELECT plus(1, 2);\nSELECT count(*) FROM wasm_functions;",
    );
    assert!(err.contains("no such function: plus"), "{err}");
    assert_eq!(lines(&out), ["4"]);
}

#[test]
fn errors_and_malicious_guests_leave_the_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let m = sql_str(MALICIOUS);
    let script = format!(
        "CREATE TABLE kept(x); INSERT INTO kept VALUES (42);
         SELECT wasm_create_function('bad', x'0061736d', 'f');
         SELECT wasm_create_function('bad', {m}, 'missing');
         SELECT wasm_create_function('spin', {m}, 'spin', 'timeout=200ms');
         SELECT wasm_create_function('bomb', {m}, 'bomb', 'memory=4MiB');
         SELECT wasm_create_function('boom', {m}, 'boom');
         SELECT wasm_create_function('deep', {m}, 'deep');
         SELECT spin(1);
         SELECT x FROM kept;
         SELECT bomb(1);
         SELECT x FROM kept;
         SELECT boom(1);
         SELECT x FROM kept;
         SELECT deep(1);
         SELECT x FROM kept;
         SELECT count(*) FROM wasm_functions;"
    );
    let (out, err) = sqlite3(&db, &script);
    assert_eq!(
        lines(&out),
        ["spin", "bomb", "boom", "deep", "42", "42", "42", "42", "4"]
    );
    for expected in [
        "bad): invalid module",
        "no export `missing`",
        "spin: wasm trap: interrupt",
        "bomb: wasm trap: unreachable",
        "boom: wasm trap: unreachable",
        "deep: wasm trap: call stack exhausted",
    ] {
        assert!(err.contains(expected), "{expected} not in {err}");
    }
}

//! The Wasmtime port (`examples/from_wasmtime.rs`): it runs, and it is the
//! Wasmtime 49 program `bench/examples/from_wasmtime_original.rs` with only
//! the crate names changed.

#[path = "../examples/from_wasmtime.rs"]
mod port;

#[test]
fn the_ported_program_runs() {
    port::main().unwrap();
}

/// A program's code without its leading `//!` doc comment, and without
/// whitespace (rustfmt wraps the two spellings' lines differently).
fn code(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_port_differs_from_the_wasmtime_original_only_in_crate_names() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let port = code(&format!("{dir}/examples/from_wasmtime.rs"));
    let original = code(&format!(
        "{dir}/../../bench/examples/from_wasmtime_original.rs"
    ));
    let renamed = original
        .replace("wasmtime_wasi", "hayate_wasi")
        .replace("wasmtime::", "hayate::");
    assert!(port.contains("usehayate::{"));
    assert_eq!(port, renamed);
}

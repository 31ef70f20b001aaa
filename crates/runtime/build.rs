//! Builds `src/helpers.c`: setjmp/longjmp and instruction-cache helpers for
//! trap handling (see `src/traphandlers/mod.rs`).

fn main() {
    println!("cargo:rerun-if-changed=src/helpers.c");
    cc::Build::new()
        .file("src/helpers.c")
        .warnings(true)
        .compile("hayate_helpers");
}

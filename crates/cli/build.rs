//! Release builds of `hayate` with the LLVM tier are linked with packed
//! relative relocations (`DT_RELR`, glibc 2.36 and later). LLVM, linked
//! statically there (see `crates/llvm/build.rs`), brings about a hundred
//! thousand relative relocations, which the dynamic loader would otherwise
//! read from a 3 MB table at every start of the program.

fn main() {
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let llvm = std::env::var_os("CARGO_FEATURE_LLVM").is_some();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if release && llvm && linux {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

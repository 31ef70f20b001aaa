//! Computes `HAYATE_BUILD_ID`: a hash of the sources that decide what
//! compiled code looks like and how the runtime lays out what it touches
//! (environ, cranelift, runtime, this crate, and the lock file pinning
//! Cranelift). Precompiled artifacts and cache entries carry it, so a
//! rebuilt Hayate never loads code compiled by a different build of the
//! same version. Outside the workspace (a published crate) only this
//! crate's sources are there to hash, and the version alone must tell.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let roots = [
        dir.join("src"),
        dir.join("../environ/src"),
        dir.join("../cranelift/src"),
        dir.join("../runtime/src"),
        dir.join("../../Cargo.lock"),
    ];
    let mut files = Vec::new();
    for root in &roots {
        if root.exists() {
            println!("cargo:rerun-if-changed={}", root.display());
            collect(root, &mut files);
        }
    }
    files.sort();
    let mut h = DefaultHasher::new();
    for f in &files {
        if let Ok(bytes) = std::fs::read(f) {
            f.strip_prefix(&dir).unwrap_or(f).hash(&mut h);
            bytes.hash(&mut h);
        }
    }
    println!("cargo:rustc-env=HAYATE_BUILD_ID={:016x}", h.finish());
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            collect(&e.path(), out);
        }
    }
}

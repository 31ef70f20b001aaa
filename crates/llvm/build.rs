//! Links LLVM 19: statically in release builds, dynamically otherwise.
//!
//! A binary linked to the shared `libLLVM-19` pays for it at every start,
//! whether or not it compiles anything: the dynamic loader maps the
//! library and its dependencies (Z3, ICU, libxml2) and resolves hundreds
//! of thousands of relocations, about 30 ms on this project's machines,
//! which `hayate run app.cwasm` would pay before running a precompiled
//! module. Linked statically, only the archive members the tier reaches
//! come in and start-up costs a few milliseconds. Test and debug builds
//! keep the shared library, so that each of the workspace's test binaries
//! is not a few hundred megabytes.
//!
//! `HAYATE_LLVM_LINK=static|dynamic` overrides the choice. `llvm-config`
//! is found as `llvm-sys` finds it: under `LLVM_SYS_191_PREFIX`, else as
//! `llvm-config-19` or `llvm-config` on the `PATH`, else in Debian's
//! `/usr/lib/llvm-19`. (`llvm-sys` itself links nothing: its
//! `no-llvm-linking` feature leaves that to this script.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// LLVM's components the tier uses: the IR, the new pass manager's
/// pipelines, and the x86 back end.
const COMPONENTS: &[&str] = &["core", "passes", "target", "x86", "executionengine"];

fn main() {
    println!("cargo:rerun-if-env-changed=HAYATE_LLVM_LINK");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_191_PREFIX");
    let config = llvm_config();
    let link_static = match std::env::var("HAYATE_LLVM_LINK").as_deref() {
        Ok("static") => true,
        Ok("dynamic") => false,
        Ok(other) => panic!("HAYATE_LLVM_LINK must be `static` or `dynamic`, not `{other}`"),
        Err(_) => std::env::var("PROFILE").as_deref() == Ok("release"),
    };
    let mode = if link_static {
        "--link-static"
    } else {
        "--link-shared"
    };
    let libdir = run(&config, &["--libdir"]);
    println!("cargo:rustc-link-search=native={}", libdir.trim());
    let kind = if link_static { "static" } else { "dylib" };
    let mut args = vec![mode, "--libs"];
    args.extend(COMPONENTS);
    for lib in run(&config, &args).split_whitespace() {
        let name = lib.strip_prefix("-l").unwrap_or(lib);
        println!("cargo:rustc-link-lib={kind}={name}");
    }
    if link_static {
        // The archives' own dependencies, linked as shared libraries (the
        // linker's `--as-needed` drops those nothing references).
        let mut args = vec![mode, "--system-libs"];
        args.extend(COMPONENTS);
        for lib in run(&config, &args).split_whitespace() {
            if let Some(name) = lib.strip_prefix("-l") {
                println!("cargo:rustc-link-lib=dylib={name}");
            } else if let Some((dir, name)) = shared_library_path(lib) {
                // Debian names libz3 by its path.
                println!("cargo:rustc-link-search=native={dir}");
                println!("cargo:rustc-link-lib=dylib={name}");
            } else {
                panic!("llvm-config listed `{lib}`, neither `-lNAME` nor a path to libNAME.so");
            }
        }
        // LLVM is C++.
        println!("cargo:rustc-link-lib=dylib=stdc++");
    }
}

/// `/dir/libNAME.so` as (`/dir`, `NAME`).
fn shared_library_path(path: &str) -> Option<(&str, &str)> {
    let (dir, file) = path.rsplit_once('/')?;
    let name = file.strip_prefix("lib")?.strip_suffix(".so")?;
    Some((dir, name))
}

/// The `llvm-config` of LLVM 19.
fn llvm_config() -> PathBuf {
    if let Some(prefix) = std::env::var_os("LLVM_SYS_191_PREFIX") {
        return PathBuf::from(prefix).join("bin/llvm-config");
    }
    let candidates = [
        "llvm-config-19",
        "llvm-config",
        "/usr/lib/llvm-19/bin/llvm-config",
    ];
    for candidate in candidates {
        let found = Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"19."));
        if found {
            return PathBuf::from(candidate);
        }
    }
    panic!("LLVM 19 not found: install Debian's llvm-19-dev or set LLVM_SYS_191_PREFIX");
}

fn run(config: &Path, args: &[&str]) -> String {
    let out = Command::new(config)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", config.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("llvm-config prints UTF-8")
}

//! The hostile guests of `crates/cli/tests/hostile/` and their headers,
//! read the same way by every test that runs them (the CLI's group, the
//! API's configurations and WASI's library run), which include this file
//! with `#[path]`.
//!
//! A guest is a `.wat` file beginning with:
//!
//! ```text
//! ;; hostile: what it attacks
//! ;; run: extra flags, before the module (optional)
//! ;; expect: exit=N | trap=<text in stderr>
//! ```

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// How a guest must end.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The process exits with this code.
    Exit(i32),
    /// The guest traps, with this text in the message.
    Trap(String),
}

/// One hostile guest.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Its file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// What it attacks (`;; hostile:`).
    pub what: String,
    /// The extra `hayate run` flags (`;; run:`), split at whitespace.
    pub flags: Vec<String>,
    /// How it must end (`;; expect:`).
    pub expect: Expect,
}

impl Guest {
    /// The file name.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// Whether it imports WASI.
    pub fn uses_wasi(&self) -> bool {
        self.text.contains("wasi_snapshot_preview1")
    }
}

/// The directory of the guests, from a crate directory of this workspace.
pub fn dir(crate_dir: &str) -> PathBuf {
    Path::new(crate_dir).join("../cli/tests/hostile")
}

/// Every guest in `dir`, in file-name order, headers parsed (a missing or
/// malformed header panics, naming the file).
pub fn guests(dir: &Path) -> Vec<Guest> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    paths.into_iter().map(parse).collect()
}

fn parse(path: PathBuf) -> Guest {
    let text = std::fs::read_to_string(&path).unwrap();
    let field = |key: &str| {
        text.lines()
            .take_while(|l| l.starts_with(";;"))
            .find_map(|l| l.strip_prefix(";; ")?.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    };
    let name = path.display();
    let what = field("hostile").unwrap_or_else(|| panic!("{name}: no `;; hostile:` line"));
    let expect = field("expect").unwrap_or_else(|| panic!("{name}: no `;; expect:` line"));
    let expect = if let Some(code) = expect.strip_prefix("exit=") {
        Expect::Exit(code.parse().unwrap())
    } else if let Some(text) = expect.strip_prefix("trap=") {
        Expect::Trap(text.to_string())
    } else {
        panic!("{name}: bad `;; expect: {expect}`")
    };
    let flags = field("run")
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    Guest {
        path,
        text,
        what,
        flags,
        expect,
    }
}

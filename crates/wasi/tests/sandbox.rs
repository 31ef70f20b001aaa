//! The sandbox: escape attempts and rights bypasses, each checked for its
//! errno (inside the guest) and for leaving the host untouched (here).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use common::{expect_code, run};

/// Everything observable about a tree: each path's type, contents or link
/// target, size, modification time and mode. Symlinks are not followed.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let md = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let what = if md.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if md.is_dir() {
                walk(root, &path, out);
                "dir".to_string()
            } else {
                format!("file {:?}", fs::read(&path).unwrap())
            };
            out.insert(
                rel,
                format!(
                    "{what} mode={:o} mtime={}.{} nlink={}",
                    md.mode(),
                    md.mtime(),
                    md.mtime_nsec(),
                    md.nlink()
                ),
            );
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn escapes_fail_and_touch_nothing_outside() {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    let sandbox = root.path().join("sandbox");
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::write(outside.join("secret.txt"), "secret").unwrap();
    fs::create_dir_all(sandbox.join("sub")).unwrap();
    fs::write(sandbox.join("inside.txt"), "inside").unwrap();
    symlink("../outside", sandbox.join("link_out_dir")).unwrap();
    symlink(&outside, sandbox.join("link_out_abs")).unwrap();
    symlink(outside.join("secret.txt"), sandbox.join("link_out_file")).unwrap();
    symlink(
        "../outside/created_by_guest",
        sandbox.join("link_dangling_out"),
    )
    .unwrap();
    let before = snapshot(&outside);
    let parent_before: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let out = run("escape", |b| {
        b.preopened_dir(&sandbox, "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 0);
    assert_eq!(out.stdout, "escape ok\n");

    assert_eq!(
        snapshot(&outside),
        before,
        "the guest changed something outside"
    );
    let parent_after: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(parent_after, parent_before);
    assert!(!Path::new("/tmp/hayate_escape_dir").exists());
    assert!(!Path::new("/tmp/planted").exists());
    // What the guest was allowed to do inside stayed inside.
    assert_eq!(
        fs::read_link(sandbox.join("sub/my_out")).unwrap(),
        Path::new("../outside")
    );
    assert_eq!(
        fs::read_to_string(sandbox.join("inside.txt")).unwrap(),
        "inside"
    );
}

#[test]
fn rights_cannot_be_bypassed() {
    let root = tempfile::tempdir().unwrap();
    let ro = root.path().join("ro");
    let rw = root.path().join("rw");
    fs::create_dir_all(ro.join("dir")).unwrap();
    fs::create_dir_all(&rw).unwrap();
    fs::write(ro.join("data.txt"), "original").unwrap();
    fs::write(rw.join("data.txt"), "original").unwrap();
    let before = snapshot(root.path());

    let out = run("rights", |b| {
        b.preopened_dir(&ro, "/ro", hayate_wasi::FsPerms::ReadOnly)
            .unwrap()
            .preopened_dir(&rw, "/rw", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    expect_code(&out, 0);
    assert_eq!(snapshot(root.path()), before, "a write got through");
}

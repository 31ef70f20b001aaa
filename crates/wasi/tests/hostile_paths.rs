//! Hostile guests and paths (issue #12): `path_readlink` never shows an
//! absolute host path, a trailing slash does not turn an escape into
//! another errno, and a path longer than `PATH_MAX` is refused before the
//! host copies it.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::shell::Shell;
use hayate_wasi::types::lookupflags;
use hayate_wasi::{Errno, PATH_MAX};

const PAGES: u32 = 16;
const MEM: u32 = PAGES * 65536;
const OUT: u32 = MEM - 8;

fn errno(raw: u16) -> Errno {
    Errno::from_raw(raw).unwrap()
}

/// `root/outside` (a directory with `dir/` and `secret.txt`) next to
/// `root/sandbox`, which holds `file`, `sub/` and symlinks out.
fn sandbox() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    let sandbox = root.path().join("sandbox");
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::write(outside.join("secret.txt"), "secret").unwrap();
    fs::create_dir_all(sandbox.join("sub")).unwrap();
    fs::write(sandbox.join("file"), "inside").unwrap();
    symlink("../outside", sandbox.join("link_out_dir")).unwrap();
    symlink(&outside, sandbox.join("link_out_abs")).unwrap();
    symlink(outside.join("secret.txt"), sandbox.join("link_out_file")).unwrap();
    symlink("../outside/secret.txt", sandbox.join("link_out_rel")).unwrap();
    symlink("/etc/passwd", sandbox.join("link_passwd")).unwrap();
    symlink(sandbox.join("file"), sandbox.join("link_abs_inside")).unwrap();
    symlink("sub/../file", sandbox.join("link_rel")).unwrap();
    root
}

fn shell(root: &Path) -> Shell {
    let sandbox = root.join("sandbox");
    Shell::new(PAGES, |b| {
        b.preopened_dir(&sandbox, "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    })
}

/// `path_readlink` of `name` into a 64-byte buffer: errno and the bytes.
fn readlink(g: &mut Shell, name: &str) -> (Errno, Vec<u8>) {
    let (p, len) = g.path(0, name.as_bytes());
    let e = errno(g.call("path_readlink", &[3, p, len, 0x1000, 64, OUT as i64]));
    let used = g.u32(OUT) as usize;
    (e, g.mem()[0x1000..0x1000 + used.min(64)].to_vec())
}

#[test]
fn readlink_never_shows_an_absolute_target() {
    let root = sandbox();
    let mut g = shell(root.path());
    for name in [
        "link_passwd",
        "link_out_abs",
        "link_out_file",
        "link_abs_inside",
    ] {
        g.put_u32(OUT, 0);
        g.mem()[0x1000..0x1040].fill(0);
        let (e, bytes) = readlink(&mut g, name);
        assert_eq!(e, Errno::Perm, "{name}");
        assert!(g.mem()[0x1000..0x1040].iter().all(|&b| b == 0), "{name}");
        assert!(bytes.is_empty(), "{name}");
    }
    // Relative targets are the guest's own business, even climbing ones.
    assert_eq!(
        readlink(&mut g, "link_rel"),
        (Errno::Success, b"sub/../file".to_vec())
    );
    assert_eq!(
        readlink(&mut g, "link_out_rel"),
        (Errno::Success, b"../outside/secret.txt".to_vec())
    );
    // A short buffer gets the start of the target.
    let (p, len) = g.path(0, b"link_rel");
    assert_eq!(
        errno(g.call("path_readlink", &[3, p, len, 0x1000, 3, OUT as i64])),
        Errno::Success
    );
    assert_eq!(g.u32(OUT), 3);
    // Not a link; a link reached through an escaping one.
    assert_eq!(readlink(&mut g, "file").0, Errno::Inval);
    assert_eq!(readlink(&mut g, "link_out_dir/secret.txt").0, Errno::Perm);
}

/// Each path function given `arg` (a symlink out, with a trailing slash)
/// where a path goes; the other path, if any, is harmless.
fn every_path_call(g: &mut Shell, arg: &[u8]) -> Vec<(&'static str, Errno)> {
    let (p, len) = g.path(0, arg);
    let (q, qlen) = g.path(0x2000, b"new_name");
    let (s, slen) = g.path(0x3000, b"sub");
    let follow = lookupflags::SYMLINK_FOLLOW as i64;
    let o = OUT as i64;
    let calls: Vec<(&'static str, &'static str, Vec<i64>)> = vec![
        ("rmdir", "path_remove_directory", vec![3, p, len]),
        ("unlink", "path_unlink_file", vec![3, p, len]),
        ("mkdir", "path_create_directory", vec![3, p, len]),
        ("stat", "path_filestat_get", vec![3, 0, p, len, 0x4000]),
        (
            "stat-follow",
            "path_filestat_get",
            vec![3, follow, p, len, 0x4000],
        ),
        (
            "utimes",
            "path_filestat_set_times",
            vec![3, 0, p, len, 0, 0, 0],
        ),
        (
            "utimes-follow",
            "path_filestat_set_times",
            vec![3, follow, p, len, 0, 0, 0],
        ),
        ("open", "path_open", vec![3, 0, p, len, 0, 0, 0, 0, o]),
        (
            "open-follow",
            "path_open",
            vec![3, follow, p, len, 0, 0, 0, 0, o],
        ),
        ("rename-from", "path_rename", vec![3, p, len, 3, q, qlen]),
        ("rename-to", "path_rename", vec![3, s, slen, 3, p, len]),
        ("link-from", "path_link", vec![3, 0, p, len, 3, q, qlen]),
        ("link-to", "path_link", vec![3, 0, s, slen, 3, p, len]),
        ("symlink-at", "path_symlink", vec![s, slen, 3, p, len]),
        ("readlink", "path_readlink", vec![3, p, len, 0x1000, 64, o]),
    ];
    calls
        .into_iter()
        .map(|(what, f, args)| (what, errno(g.call(f, &args))))
        .collect()
}

#[test]
fn a_trailing_slash_on_a_symlink_out_is_still_an_escape() {
    let root = sandbox();
    let mut g = shell(root.path());
    let before = fs::read_dir(root.path().join("outside")).unwrap().count();
    let mut wrong = Vec::new();
    for arg in [
        &b"link_out_dir/"[..],
        b"link_out_abs/",
        b"link_out_dir//",
        b"link_out_dir/.",
        b"link_out_dir/dir/",
        b"link_out_file/",
        b"link_out_rel/",
    ] {
        for (what, e) in every_path_call(&mut g, arg) {
            if e != Errno::Perm {
                wrong.push(format!("{what} {}: {e:?}", String::from_utf8_lossy(arg)));
            }
        }
    }
    assert!(wrong.is_empty(), "not perm:\n{}", wrong.join("\n"));
    assert!(root.path().join("outside/dir").is_dir());
    assert!(root.path().join("sandbox/sub").is_dir());
    assert_eq!(
        fs::read_dir(root.path().join("outside")).unwrap().count(),
        before
    );
}

#[test]
fn trailing_slashes_inside_the_sandbox_still_work() {
    let root = sandbox();
    let sb = root.path().join("sandbox");
    let mut g = shell(root.path());
    let call = |g: &mut Shell, f: &str, a: &[u8], b: Option<&[u8]>| {
        let (p, len) = g.path(0, a);
        let args = match (f, b) {
            ("path_rename", Some(b)) => {
                let (q, qlen) = g.path(0x2000, b);
                vec![3, p, len, 3, q, qlen]
            }
            _ => vec![3, p, len],
        };
        errno(g.call(f, &args))
    };
    assert_eq!(
        call(&mut g, "path_create_directory", b"d/", None),
        Errno::Success
    );
    assert!(sb.join("d").is_dir());
    assert_eq!(
        call(&mut g, "path_rename", b"d/", Some(b"e/")),
        Errno::Success
    );
    assert!(sb.join("e").is_dir());
    assert_eq!(
        call(&mut g, "path_remove_directory", b"e/", None),
        Errno::Success
    );
    assert!(!sb.join("e").exists());
    assert_eq!(
        call(&mut g, "path_remove_directory", b"file/", None),
        Errno::Notdir
    );
    assert_eq!(
        call(&mut g, "path_unlink_file", b"file/", None),
        Errno::Notdir
    );
    assert_eq!(
        call(&mut g, "path_rename", b"file/", Some(b"x")),
        Errno::Notdir
    );
    assert!(sb.join("file").is_file());
}

/// Every path function given a path of `len` bytes at `ptr`.
fn every_path_function(g: &mut Shell, p: i64, len: i64) -> Vec<(&'static str, Errno)> {
    let (s, slen) = g.path(0x10, b"sub");
    let o = OUT as i64;
    let calls: Vec<(&'static str, Vec<i64>)> = vec![
        ("path_create_directory", vec![3, p, len]),
        ("path_filestat_get", vec![3, 0, p, len, 0x40]),
        ("path_filestat_set_times", vec![3, 0, p, len, 0, 0, 0]),
        ("path_link", vec![3, 0, p, len, 3, s, slen]),
        ("path_link", vec![3, 0, s, slen, 3, p, len]),
        ("path_open", vec![3, 0, p, len, 0, 0, 0, 0, o]),
        ("path_readlink", vec![3, p, len, 0x80, 64, o]),
        ("path_remove_directory", vec![3, p, len]),
        ("path_rename", vec![3, p, len, 3, s, slen]),
        ("path_rename", vec![3, s, slen, 3, p, len]),
        ("path_symlink", vec![p, len, 3, s, slen]),
        ("path_symlink", vec![s, slen, 3, p, len]),
        ("path_unlink_file", vec![3, p, len]),
    ];
    calls
        .into_iter()
        .map(|(f, args)| (f, errno(g.call(f, &args))))
        .collect()
}

#[test]
fn paths_longer_than_path_max_are_refused() {
    assert_eq!(PATH_MAX, 4096);
    let root = sandbox();
    let mut g = shell(root.path());
    // 4096 bytes naming the preopen itself ("./" 2048 times): one byte
    // too many for the host's PATH_MAX, which counts the NUL.
    let long = "./".repeat(2048);
    let (p, len) = g.path(0x1000, long.as_bytes());
    for (f, e) in every_path_function(&mut g, p, len) {
        assert_eq!(e, Errno::Nametoolong, "{f} with {len} bytes");
    }
    // The rest of memory, and a length that wraps.
    for (p, len) in [(0x1000, (MEM - 0x1000) as i64), (0x1000, 0xFFFF_FFFF)] {
        for (f, e) in every_path_function(&mut g, p, len) {
            assert_eq!(e, Errno::Nametoolong, "{f} with {len} bytes");
        }
    }
    // 4095 bytes are fine.
    let path = format!("{}.//file", "./".repeat(2044));
    assert_eq!(path.len(), 4095);
    let (p, len) = g.path(0x1000, path.as_bytes());
    assert_eq!(
        errno(g.call("path_filestat_get", &[3, 0, p, len, 0x40])),
        Errno::Success
    );
    // A short path out of memory is still a fault.
    assert_eq!(
        errno(g.call("path_filestat_get", &[3, 0, (MEM - 2) as i64, 4, 0x40])),
        Errno::Fault
    );
}

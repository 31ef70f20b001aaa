//! `path_open` with rights the opened object cannot have: they are dropped,
//! as Wasmtime drops them, while rights the directory does not pass on are
//! still refused.

mod common;

use common::shell::Shell;
use hayate_wasi::Errno;
use hayate_wasi::types::rights;

const OPENED: u32 = 1000;

fn open(shell: &mut Shell, name: &[u8], base: u64) -> u16 {
    let (p, len) = shell.path(0, name);
    shell.call(
        "path_open",
        &[3, 0, p, len, 0, base as i64, 0, 0, OPENED as i64],
    )
}

#[test]
fn rights_a_file_cannot_use_are_dropped_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "data").unwrap();
    let mut shell = Shell::new(1, |b| {
        b.preopened_dir(dir.path(), "/d", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    });
    // Socket rights and bits no right has, with reading and writing.
    let base = rights::FD_READ | rights::FD_WRITE | rights::SOCK_SHUTDOWN | rights::SOCK_ACCEPT;
    assert_eq!(open(&mut shell, b"data.txt", base), 0);
    assert_eq!(open(&mut shell, b"data.txt", u64::MAX), 0);
    // The file is usable: write through the first fd.
    let fd = shell.u32(OPENED) as i64;
    shell.put(200, b"DATA");
    shell.put_u32(100, 200);
    shell.put_u32(104, 4);
    assert_eq!(shell.call("fd_write", &[fd, 100, 1, 108]), 0);
    assert_eq!(std::fs::read(dir.path().join("data.txt")).unwrap(), b"DATA");

    // A right that applies to files but that a read-only preopen does not
    // pass on is still refused.
    let mut ro = Shell::new(1, |b| {
        b.preopened_dir(dir.path(), "/d", hayate_wasi::FsPerms::ReadOnly)
            .unwrap();
    });
    let refused = open(
        &mut ro,
        b"data.txt",
        rights::FD_WRITE | rights::SOCK_SHUTDOWN,
    );
    assert_eq!(refused, Errno::Notcapable as u16);
    assert_eq!(
        open(
            &mut ro,
            b"data.txt",
            rights::FD_READ | rights::SOCK_SHUTDOWN
        ),
        0
    );
}

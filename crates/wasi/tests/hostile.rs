//! Hostile guests (issue #12): a guest must not make the host allocate
//! memory, or loop, in proportion to a number it chose beyond what its own
//! memory allows. Each test plays the guest from Rust through a shell
//! module (`common::shell`) and checks what the host call did: how much it
//! read or wrote, and which errno it returned. The attacks of the CLI's
//! hostile-guest group (`crates/cli/tests/hostile/wasi_*.wat`) run here too.

mod common;
#[path = "../../cli/tests/support/guests.rs"]
mod guests;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use common::shell::Shell;
use hayate_wasi::types::{flags, layout, oflags, rights};
use hayate_wasi::{Errno, IOV_MAX, MAX_SUBSCRIPTIONS, WritePipe};

/// Memory pages of most shells: 1 MiB, as `-W max-memory-size=1Mi`.
const PAGES: u32 = 16;
const MEM: u32 = PAGES * 65536;
/// Where the shells keep results (`nwritten`, fds, ...).
const OUT: u32 = MEM - 8;
/// The attack's buffer: 32000 bytes, the target of every iovec.
const BUF: u32 = 0x8_0000;
const BUF_LEN: u32 = 32000;

fn ok(errno: u16) {
    assert_eq!(errno, 0, "errno {:?}", Errno::from_raw(errno));
}

fn fails(errno: u16, want: Errno) {
    assert_eq!(Errno::from_raw(errno), Some(want));
}

/// A shell with `dir` preopened as fd 3.
fn shell_in(dir: &std::path::Path) -> Shell {
    Shell::new(PAGES, |b| {
        b.preopened_dir(dir, "/sandbox", hayate_wasi::FsPerms::ReadWrite)
            .unwrap();
    })
}

/// Opens `name` in fd 3 with read, write and seek rights; returns the fd.
fn open(g: &mut Shell, name: &str, create: bool) -> i64 {
    let (p, len) = g.path(OUT - 0x100, name.as_bytes());
    let base = rights::FD_READ | rights::FD_WRITE | rights::FD_SEEK | rights::FD_TELL;
    let of = if create { oflags::CREAT } else { 0 };
    ok(g.call(
        "path_open",
        &[3, 0, p, len, of as i64, base as i64, 0, 0, OUT as i64],
    ));
    g.u32(OUT) as i64
}

#[test]
fn fd_write_of_one_buffer_many_times_is_bounded_by_memory() {
    for count in [2000, 131_000] {
        let out = WritePipe::new_in_memory();
        let mut g = Shell::new(PAGES, |b| {
            b.stdout(out.clone());
        });
        // The iovec array fills most of memory; every entry names the
        // same 32000 bytes (here: the array itself).
        g.same_iovecs(0, count, 0, BUF_LEN);
        ok(g.call("fd_write", &[1, 0, count as i64, OUT as i64]));
        let n = g.u32(OUT);
        assert!(n > 0 && n <= MEM, "{count} iovecs: nwritten {n}");
        assert_eq!(out.contents().len(), n as usize);
    }
}

/// The fd_write attack in a child process (this test binary, run again):
/// its peak RSS (`VmHWM`, which is process-wide) stays far below the 4 GB
/// a gathering host would allocate.
#[test]
fn fd_write_attack_peak_rss_in_a_child() {
    const NAME: &str = "fd_write_attack_peak_rss_in_a_child";
    if std::env::var_os("HAYATE_HOSTILE_CHILD").is_some() {
        let mut g = Shell::new(PAGES, |_| {});
        g.same_iovecs(0, 131_000, 0, BUF_LEN);
        ok(g.call("fd_write", &[1, 0, 131_000, OUT as i64]));
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        println!("\nchild {hwm}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env("HAYATE_HOSTILE_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .lines()
        .find_map(|l| l.split("child VmHWM:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM from the child: {text}"));
    assert!(kb < 200 * 1024, "peak RSS {kb} kB");
}

#[test]
fn at_most_iov_max_entries_are_used_but_the_array_is_checked() {
    assert_eq!(IOV_MAX, 1024);
    let out = WritePipe::new_in_memory();
    let mut g = Shell::new(PAGES, |b| {
        b.stdout(out.clone());
    });
    g.put(BUF, b"x");
    g.same_iovecs(0, 1100, BUF, 1);
    ok(g.call("fd_write", &[1, 0, 1100, OUT as i64]));
    assert_eq!(g.u32(OUT), IOV_MAX);
    assert_eq!(out.contents().len(), IOV_MAX as usize);
    // The whole array must lie in memory, even the entries not used.
    let too_many = (MEM / 8 + 1) as i64;
    fails(
        g.call("fd_write", &[1, 0, too_many, OUT as i64]),
        Errno::Fault,
    );
    fails(
        g.call("fd_write", &[1, (MEM - 8) as i64, 2, OUT as i64]),
        Errno::Fault,
    );
    // count * 8 wraps around u32.
    fails(
        g.call("fd_write", &[1, 0, 0x2000_0000, OUT as i64]),
        Errno::Fault,
    );
    fails(
        g.call("fd_write", &[1, 0, 0xFFFF_FFFF, OUT as i64]),
        Errno::Fault,
    );
    // A used entry out of memory is a fault too.
    g.same_iovecs(0, 1, MEM - 4, 8);
    fails(g.call("fd_write", &[1, 0, 1, OUT as i64]), Errno::Fault);
}

#[test]
fn file_writes_and_reads_are_bounded_by_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), vec![7u8; 3 << 20]).unwrap();
    let mut g = shell_in(dir.path());
    g.same_iovecs(0, 2000, BUF, BUF_LEN);

    let fd = open(&mut g, "w", true);
    ok(g.call("fd_write", &[fd, 0, 2000, OUT as i64]));
    let n = g.u32(OUT);
    assert!(n > 0 && n <= MEM, "fd_write wrote {n}");
    ok(g.call("fd_pwrite", &[fd, 0, 2000, 1 << 30, OUT as i64]));
    let m = g.u32(OUT);
    assert!(m > 0 && m <= MEM, "fd_pwrite wrote {m}");
    let len = std::fs::metadata(dir.path().join("w")).unwrap().len();
    assert_eq!(len, (1 << 30) + u64::from(m));

    let fd = open(&mut g, "big", false);
    ok(g.call("fd_read", &[fd, 0, 2000, OUT as i64]));
    let n = g.u32(OUT);
    assert!(n > 0 && n <= MEM, "fd_read read {n}");
    ok(g.call("fd_pread", &[fd, 0, 2000, 0, OUT as i64]));
    let n = g.u32(OUT);
    assert!(n > 0 && n <= MEM, "fd_pread read {n}");
}

#[test]
fn vectored_io_keeps_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = shell_in(dir.path());
    g.put(BUF, b"hello, world");
    // "world" then ", " then "hello"
    let iovs = [(BUF + 7, 5), (BUF + 5, 2), (BUF, 5)];
    for (i, (p, l)) in iovs.iter().enumerate() {
        g.put_u32(8 * i as u32, *p);
        g.put_u32(8 * i as u32 + 4, *l);
    }
    let fd = open(&mut g, "f", true);
    ok(g.call("fd_write", &[fd, 0, 3, OUT as i64]));
    assert_eq!(g.u32(OUT), 12);
    ok(g.call("fd_pwrite", &[fd, 0, 3, 12, OUT as i64]));
    assert_eq!(g.u32(OUT), 12);
    assert_eq!(
        std::fs::read(dir.path().join("f")).unwrap(),
        b"world, hello".repeat(2)
    );
    // Read it back scattered over three buffers.
    let dst = [(0x1000, 3), (0x2000, 4), (0x3000, 100)];
    for (i, (p, l)) in dst.iter().enumerate() {
        g.put_u32(64 + 8 * i as u32, *p);
        g.put_u32(64 + 8 * i as u32 + 4, *l);
    }
    ok(g.call("fd_pread", &[fd, 64, 3, 0, OUT as i64]));
    assert_eq!(g.u32(OUT), 24);
    assert_eq!(&g.mem()[0x1000..0x1003], b"wor");
    assert_eq!(&g.mem()[0x2000..0x2004], b"ld, ");
    assert_eq!(&g.mem()[0x3000..0x3011], b"helloworld, hello");
}

#[test]
fn a_capped_write_pipe_takes_what_fits_then_fails_with_nospc() {
    let out = WritePipe::new_in_memory_with_capacity(10);
    let mut g = Shell::new(PAGES, |b| {
        b.stdout(out.clone());
    });
    g.put(BUF, b"hello!");
    g.same_iovecs(0, 1, BUF, 6);
    ok(g.call("fd_write", &[1, 0, 1, OUT as i64]));
    assert_eq!(g.u32(OUT), 6);
    ok(g.call("fd_write", &[1, 0, 1, OUT as i64]));
    assert_eq!(g.u32(OUT), 4);
    fails(g.call("fd_write", &[1, 0, 1, OUT as i64]), Errno::Nospc);
    assert_eq!(out.contents(), b"hello!hell");
    // An empty write still succeeds.
    ok(g.call("fd_write", &[1, 0, 0, OUT as i64]));
    assert_eq!(g.u32(OUT), 0);
}

/// A shell with a listener preopened as fd 3 and a connection accepted
/// as the returned fd; `peer` runs on the other end.
fn connected<T: Send + 'static>(
    peer: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (Shell, i64, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut g = Shell::new(PAGES, |b| {
        b.preopened_socket(listener);
    });
    let peer = thread::spawn(move || peer(TcpStream::connect(addr).unwrap()));
    ok(g.call("sock_accept", &[3, 0, OUT as i64]));
    let fd = g.u32(OUT) as i64;
    (g, fd, peer)
}

#[test]
fn sock_send_of_one_buffer_many_times_is_bounded_by_memory() {
    let (mut g, fd, peer) = connected(|mut s| {
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got.len()
    });
    g.same_iovecs(0, 2000, BUF, BUF_LEN);
    ok(g.call("sock_send", &[fd, 0, 2000, 0, OUT as i64]));
    let n = g.u32(OUT);
    assert!(n > 0 && n <= MEM, "sock_send sent {n}");
    drop(g);
    assert_eq!(peer.join().unwrap(), n as usize);
}

#[test]
fn sock_recv_waitall_is_bounded_by_memory() {
    let (mut g, fd, peer) = connected(|mut s| {
        // More than the guest's memory; the guest reads until it is full.
        let _ = s.write_all(&vec![5u8; 3 << 20]);
    });
    g.same_iovecs(0, 2000, BUF, BUF_LEN);
    let riflags = flags::RECV_WAITALL as i64;
    ok(g.call(
        "sock_recv",
        &[fd, 0, 2000, riflags, OUT as i64, OUT as i64 + 4],
    ));
    let n = g.u32(OUT);
    assert_eq!(n, MEM, "WAITALL fills the (bounded) buffers");
    drop(g);
    peer.join().unwrap();
}

#[test]
fn sock_recv_peek_leaves_the_data() {
    let (mut g, fd, peer) = connected(|mut s| {
        s.write_all(b"abcdef").unwrap();
        s
    });
    g.same_iovecs(0, 131_000, BUF, BUF_LEN);
    let peek = flags::RECV_PEEK as i64;
    let waitall = flags::RECV_WAITALL as i64;
    // Wait for the whole message, then peek at it.
    g.put_u32(0, 0x1000);
    g.put_u32(4, 6);
    ok(g.call(
        "sock_recv",
        &[fd, 0, 1, peek | waitall, OUT as i64, OUT as i64 + 4],
    ));
    let n = g.u32(OUT);
    assert!((1..=6).contains(&n));
    assert_eq!(
        &g.mem()[0x1000..0x1000 + n as usize],
        &b"abcdef"[..n as usize]
    );
    ok(g.call(
        "sock_recv",
        &[fd, 0, 1, waitall, OUT as i64, OUT as i64 + 4],
    ));
    assert_eq!(g.u32(OUT), 6);
    assert_eq!(&g.mem()[0x1000..0x1006], b"abcdef");
    drop(peer.join().unwrap());
}

#[test]
fn poll_oneoff_takes_a_bounded_number_of_subscriptions() {
    let max = MAX_SUBSCRIPTIONS;
    let sub = layout::SUBSCRIPTION_SIZE;
    let ev = layout::EVENT_SIZE;
    let pages = ((max + 1) * (sub + ev)).div_ceil(65536) + 1;
    let mut g = Shell::new(pages, |_| {});
    let out_at = (max + 1) * sub;
    let nevents = pages * 65536 - 8;
    // All-zero subscriptions: relative realtime clocks of 0 ns, all due.
    fails(
        g.call(
            "poll_oneoff",
            &[0, out_at as i64, (max + 1) as i64, nevents as i64],
        ),
        Errno::Inval,
    );
    // A count whose array does not fit memory is a fault first, as in
    // Wasmtime.
    fails(
        g.call(
            "poll_oneoff",
            &[0, out_at as i64, 0xFFFF_FFFF, nevents as i64],
        ),
        Errno::Fault,
    );
    ok(g.call(
        "poll_oneoff",
        &[0, out_at as i64, max as i64, nevents as i64],
    ));
    assert_eq!(g.u32(nevents), max);
    // Subscriptions that do not fit memory are a fault.
    fails(
        g.call(
            "poll_oneoff",
            &[(nevents - 40) as i64, 0, 2, nevents as i64],
        ),
        Errno::Fault,
    );
}

#[test]
fn random_get_fills_guest_memory_in_place() {
    let mut g = Shell::new(PAGES, |_| {});
    ok(g.call("random_get", &[0, MEM as i64]));
    assert!(g.mem().iter().any(|&b| b != 0));
    fails(g.call("random_get", &[(MEM - 4) as i64, 8]), Errno::Fault);
    fails(g.call("random_get", &[1, 0xFFFF_FFFF]), Errno::Fault);
    ok(g.call("random_get", &[MEM as i64, 0]));
}

#[test]
fn fd_readdir_writes_no_more_than_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "bb", "ccc"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    let mut g = shell_in(dir.path());
    g.mem().fill(0xAA);
    // The whole memory as the buffer (bufused lies inside it, at OUT).
    ok(g.call("fd_readdir", &[3, 0, MEM as i64, 0, OUT as i64]));
    let entries = 5 * 24 + (1 + 2 + 1 + 2 + 3);
    assert_eq!(g.u32(OUT), entries);
    assert!(
        g.mem()[entries as usize..OUT as usize]
            .iter()
            .all(|&b| b == 0xAA)
    );
    ok(g.call("fd_readdir", &[3, 0, 30, 0, OUT as i64]));
    assert_eq!(g.u32(OUT), 30, "a full buffer ends in a cut entry");
    fails(
        g.call("fd_readdir", &[3, 16, 0xFFFF_FFFF, 0, OUT as i64]),
        Errno::Fault,
    );
    // A cookie past the end lists nothing.
    ok(g.call("fd_readdir", &[3, 0, 100, u32::MAX as i64 + 7, OUT as i64]));
    assert_eq!(g.u32(OUT), 0);
    ok(g.call("fd_readdir", &[3, 0, 100, -1, OUT as i64]));
    assert_eq!(g.u32(OUT), 0);
}

#[test]
fn args_environ_and_prestat_names_fault_outside_memory() {
    let mut g = Shell::new(PAGES, |b| {
        b.args(&["prog", "a-long-argument"]).env("K", "V");
        b.preopened_dir(
            std::env::temp_dir(),
            "/sandbox",
            hayate_wasi::FsPerms::ReadWrite,
        )
        .unwrap();
    });
    ok(g.call("args_get", &[0, 64]));
    fails(g.call("args_get", &[0, (MEM - 8) as i64]), Errno::Fault);
    fails(g.call("args_get", &[(MEM - 4) as i64, 64]), Errno::Fault);
    fails(g.call("environ_get", &[0, (MEM - 2) as i64]), Errno::Fault);
    fails(
        g.call("fd_prestat_dir_name", &[3, (MEM - 2) as i64, 0xFFFF_FFFF]),
        Errno::Fault,
    );
    ok(g.call("fd_prestat_dir_name", &[3, 0, 0xFFFF_FFFF]));
    assert_eq!(&g.mem()[..8], b"/sandbox");
}

/// Every WASI guest of the CLI's hostile group, run through the library
/// (the `run:` flags are the CLI's; the guests declare their own limits).
#[test]
fn cli_hostile_guests_end_as_their_headers_say() {
    let mut seen = 0;
    for guest in guests::guests(&guests::dir(env!("CARGO_MANIFEST_DIR"))) {
        let name = guest.name();
        if !name.starts_with("wasi_") {
            continue;
        }
        let guests::Expect::Exit(code) = guest.expect else {
            panic!("{name}: expected `exit=N`, got {:?}", guest.expect);
        };
        let out = common::run_bytes(&name, guest.text.as_bytes(), |_| {});
        assert_eq!(out.code, code, "{name}\n--- stderr\n{}", out.stderr);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} hostile WASI guests");
}

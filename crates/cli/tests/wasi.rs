//! `hayate run` with WASI commands: argv, `--env`, `--dir`, `--tcplisten`,
//! stdio, exit statuses, traps and the one-line errors. The guest is
//! `crates/wasi/tests/programs/cli.c`, built to `cli.wasm`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cli_wasm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasi/tests/programs/cli.wasm")
}

fn hayate(args: &[&str]) -> Output {
    command(args).output().expect("run hayate")
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hayate"));
    c.args(args).env_remove("HAYATE_INHERITED");
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn argv_starts_with_the_module_name() {
    let wasm = cli_wasm();
    let o = hayate(&[
        "run",
        wasm.to_str().unwrap(),
        "args",
        "a",
        "b c",
        "-x",
        "--dir",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "cli.wasm\nargs\na\nb c\n-x\n--dir\n");
    // `--` ends hayate's options; what follows is the guest's.
    let o = hayate(&["run", "--", wasm.to_str().unwrap(), "args", "--env", "X=1"]);
    assert_eq!(
        text(&o.stdout),
        "cli.wasm\nargs\n--env\nX=1\n",
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn everything_after_the_module_is_the_guests() {
    // Hayate's own options, `--help`, `-V` and `--` after the module all
    // reach the guest verbatim, as with Wasmtime.
    let wasm = cli_wasm();
    let guest_args = [
        "args", "-V", "--help", "--env", "X=1", "-W", "fuel=1", "--invoke", "f", "--", "--dir", ".",
    ];
    let mut args = vec!["run", "--env", "Y=2", wasm.to_str().unwrap()];
    args.extend(guest_args);
    let o = hayate(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut expected = String::from("cli.wasm\n");
    for a in guest_args {
        expected += a;
        expected.push('\n');
    }
    assert_eq!(text(&o.stdout), expected);
}

#[test]
fn env_sets_or_inherits() {
    let wasm = cli_wasm();
    let w = wasm.to_str().unwrap();
    let o = hayate(&["run", "--env", "FOO=bar=baz", w, "env", "FOO"]);
    assert_eq!(text(&o.stdout), "bar=baz\n");
    let o = command(&[
        "run",
        "--env",
        "HAYATE_INHERITED",
        w,
        "env",
        "HAYATE_INHERITED",
    ])
    .env("HAYATE_INHERITED", "from host")
    .output()
    .unwrap();
    assert_eq!(text(&o.stdout), "from host\n");
    // Nothing is inherited unless asked for.
    let o = command(&["run", w, "env", "HAYATE_INHERITED"])
        .env("HAYATE_INHERITED", "from host")
        .output()
        .unwrap();
    assert_eq!(text(&o.stdout), "(unset)\n");
    let o = hayate(&[
        "run",
        "--env",
        "UNSET_ON_HOST_42",
        w,
        "env",
        "UNSET_ON_HOST_42",
    ]);
    assert_eq!(text(&o.stdout), "(unset)\n");
}

#[test]
fn dirs_are_mapped_and_nothing_else_is_visible() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("b.txt"), "bee").unwrap();
    std::fs::write(tmp.path().join("a.txt"), "ay").unwrap();
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let wasm = cli_wasm();
    let w = wasm.to_str().unwrap();
    let host = tmp.path().to_str().unwrap();
    let mapped = format!("{host}::/data");

    let o = hayate(&["run", "--dir", &mapped, w, "ls", "/data"]);
    assert_eq!(
        text(&o.stdout),
        "a.txt\nb.txt\nsub\n",
        "{}",
        text(&o.stderr)
    );
    let o = hayate(&[
        "run",
        "--dir",
        &mapped,
        w,
        "write",
        "/data/sub/new.txt",
        "written",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("sub/new.txt")).unwrap(),
        "written"
    );
    // Without `::GUEST` the guest sees the host path.
    let file = format!("{host}/b.txt");
    let o = hayate(&["run", "--dir", host, w, "cat", &file]);
    assert_eq!(text(&o.stdout), "bee");
    // Two dirs, and no access around them.
    let o = hayate(&[
        "run",
        "--dir",
        &mapped,
        "--dir",
        &format!("{host}/sub::/s"),
        w,
        "ls",
        "/s",
    ]);
    assert_eq!(text(&o.stdout), "new.txt\n", "{}", text(&o.stderr));
    let o = hayate(&["run", "--dir", &mapped, w, "cat", "/data/../etc/passwd"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), "");
    let o = hayate(&["run", w, "cat", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn stdio_is_inherited() {
    let wasm = cli_wasm();
    let mut child = command(&["run", wasm.to_str().unwrap(), "upper"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello, stdin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), "HELLO, STDIN\n");
}

#[test]
fn exit_status_is_the_guests() {
    let wasm = cli_wasm();
    let w = wasm.to_str().unwrap();
    for code in ["0", "3", "125"] {
        let o = hayate(&["run", w, "exit", code]);
        assert_eq!(
            o.status.code(),
            Some(code.parse().unwrap()),
            "{}",
            text(&o.stderr)
        );
        assert_eq!(text(&o.stdout), "exiting\n");
        assert_eq!(text(&o.stderr), "");
    }
    // Statuses a shell would read as something else are refused, as
    // Wasmtime refuses them: exit 1 with a message.
    for code in ["126", "255", "300", "-1"] {
        let o = hayate(&["run", w, "exit", code]);
        assert_eq!(o.status.code(), Some(1), "{code}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("invalid exit status outside of [0..126)"),
            "{code}: {}",
            text(&o.stderr)
        );
    }
    // proc_raise(SIGABRT) ends the guest as the signal would.
    let o = hayate(&["run", w, "raise"]);
    assert_eq!(o.status.code(), Some(134));
}

#[test]
fn trap_prints_message_and_backtrace_and_exits_134() {
    let wasm = cli_wasm();
    let o = hayate(&["run", wasm.to_str().unwrap(), "trap"]);
    assert_eq!(o.status.code(), Some(134));
    assert_eq!(text(&o.stdout), "before the trap\n");
    let err = text(&o.stderr);
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("wasm backtrace"), "{err}");
    let at = |name: &str| {
        err.find(name)
            .unwrap_or_else(|| panic!("no `{name}` in {err}"))
    };
    assert!(
        at("innermost") < at("middle") && at("middle") < at("outer"),
        "{err}"
    );
}

#[test]
fn errors_are_one_line() {
    let wasm = cli_wasm();
    let w = wasm.to_str().unwrap();
    let one_line = |o: &Output, needle: &str| {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        let err = text(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert_eq!(text(&o.stdout), "");
    };
    one_line(
        &hayate(&["run", "--dir", "/no/such/dir", w, "args"]),
        "--dir `/no/such/dir`",
    );
    one_line(
        &hayate(&["run", "--dir", "::/x", w, "args"]),
        "invalid --dir",
    );
    one_line(
        &hayate(&["run", "--tcplisten", "nonsense", w, "args"]),
        "--tcplisten `nonsense`",
    );
    let tmp = tempfile::tempdir().unwrap();
    let wat = tmp.path().join("imports.wat");
    std::fs::write(
        &wat,
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func))
                   (memory (export "memory") 1) (func (export "_start")))"#,
    )
    .unwrap();
    one_line(
        &hayate(&["run", wat.to_str().unwrap()]),
        "wasi_snapshot_preview1::no_such_call",
    );
}

#[test]
fn tcplisten_preopens_a_listening_socket() {
    // Both spellings: Wasmtime's `-S tcplisten=ADDR` and `--tcplisten ADDR`.
    for flag in ["-S", "--tcplisten"] {
        // Find a free port, then let hayate listen on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let value = if flag == "-S" {
            format!("tcplisten={addr}")
        } else {
            addr.clone()
        };
        let wasm = cli_wasm();
        let child = command(&["run", flag, &value, wasm.to_str().unwrap(), "serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reply = String::new();
        for _ in 0..200 {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                s.read_to_string(&mut reply).unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{flag}: {}", text(&o.stderr));
        assert_eq!(reply, "hello\n", "{flag}");
    }
}

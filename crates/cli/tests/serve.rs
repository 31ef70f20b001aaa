//! `hayate serve` as a user runs it: the binary on a free loopback port,
//! real HTTP, the access log on stderr, SIGTERM for a graceful stop, and
//! the errors for bad flags and handlers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hayate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hayate"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run hayate")
}

/// A running `hayate serve`, its address and its stderr lines.
struct Served {
    child: Child,
    addr: SocketAddr,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hayate"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "-C", "cache=n"])
            .args(args)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hayate serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let addr = loop {
            // A safety bound only.
            let line = lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no `listening on` line; stderr:\n{}", log.join("\n")));
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
            log.push(line);
        };
        Served {
            child,
            addr,
            lines,
            log,
        }
    }

    /// One request with `Connection: close`: status and body (the raw
    /// rest of the response).
    fn get(&self, target: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        // 0: the connection closed before a status line (a cut-off
        // response may end so).
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Sends SIGTERM, waits for the exit; the whole stderr.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        self.log.extend(self.lines.try_iter());
        // The reader thread may still hold the last lines.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        self.log.join("\n")
    }
}

#[test]
fn serves_routes_logs_each_request_and_stops_on_sigterm() {
    let served = Served::start(&[
        "--env",
        "GREETING=hi",
        "-W",
        "timeout=5s",
        "--route",
        "/json=crates/serve/handlers/json.wasm",
        "--route",
        "/trap=crates/serve/handlers/trap.wat",
        "--route",
        "/fail=crates/serve/handlers/fail.wasm",
        "crates/serve/handlers/echo.wasm",
    ]);
    let (status, body) = served.get("/x/y?q=1");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("path=/x/y\n"), "{body}");
    assert!(body.contains("query=q=1\n"), "{body}");
    assert!(body.contains("greeting=hi\n"), "{body}");
    let (status, body) = served.get("/json?status=202");
    assert_eq!(status, 202);
    assert!(body.contains("\"query\":\"status=202\""), "{body}");
    let (status, body) = served.get("/.well-known/hayate/health");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // A trap's details go to the log, never to the client.
    let (status, body) = served.get("/trap");
    assert_eq!((status, body.as_str()), (500, "internal server error\n"));
    served.get("/fail");
    let log = served.stop();
    assert!(
        log.contains("error method=GET path=\"/trap\" status=500 error=")
            && log.contains("unreachable"),
        "{log}"
    );
    assert!(
        log.contains("stderr method=GET path=\"/fail\" text=\"failing on purpose\\n\""),
        "{log}"
    );
    assert!(
        log.contains("access method=GET path=\"/x/y\" status=200 bytes="),
        "{log}"
    );
    assert!(log.contains("path=\"/json\" status=202"), "{log}");
    assert!(
        log.contains("path=\"/.well-known/hayate/health\" status=200"),
        "{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn bad_flags_and_handlers_are_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["serve"], "nothing to serve"),
        (
            &["serve", "--route", "api=x.wasm"],
            "expected PREFIX=MODULE",
        ),
        (&["serve", "--route", "/api"], "expected PREFIX=MODULE"),
        (&["serve", "missing.wasm"], "no such file"),
        (
            &["serve", "crates/serve/handlers/nostart.wat"],
            "does not export `_start`",
        ),
        (&["serve", "--addr", "nowhere", "x.wasm"], "invalid --addr"),
        (
            &["serve", "--workers", "0", "x.wasm"],
            "--workers must be at least 1",
        ),
        (
            &["serve", "--max-body-size", "lots", "x.wasm"],
            "invalid --max-body-size",
        ),
        (&["serve", "-W", "timeot=1s", "x.wasm"], "timeout"),
        (
            &["serve", "--dir", "/no/such/dir", "x.wasm"],
            "not a directory",
        ),
        (
            &[
                "serve",
                "--route",
                "/a=crates/serve/handlers/echo.wasm",
                "--route",
                "/a/=crates/serve/handlers/echo.wasm",
            ],
            "given twice",
        ),
    ];
    for (args, expected) in cases {
        let o = hayate(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

//! `wasi:http/proxy` components under `hayate serve`: a handler written
//! as a core module (`tests/proxy/handler.wat`) made a component with the
//! proxy world's WIT (`tests/wit/`), served by the real server.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::{Conn, Setup, start};

include!("proxy/build.rs");

/// The handler component, built once into a temporary file.
fn handler() -> &'static Path {
    static PATH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = PATH.get_or_init(|| {
        let component = build_proxy_component();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.wasm");
        std::fs::write(&path, component).unwrap();
        (dir, path)
    });
    path
}

#[test]
fn a_proxy_component_answers_requests() {
    let path = handler().to_str().unwrap().to_string();
    let server = start(&[("/", &path)], Setup::default());
    let mut conn = Conn::open(server.addr());
    let r = conn.request("GET", "/hello?x=1", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "hello /hello?x=1\n");
    // Keep-alive, a body echoed back, a status set by the guest.
    let r = conn.request("POST", "/created", &[], b"the body");
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "hello /created\nthe body");
    let big = vec![b'x'; 300_000];
    let r = conn.request("PUT", "/big", &[], &big);
    assert_eq!(r.status, 200);
    assert_eq!(r.text().len(), "hello /big\n".len() + big.len());
}

#[test]
fn failures_are_500s_and_the_server_keeps_serving() {
    let path = handler().to_str().unwrap().to_string();
    let server = start(&[("/", &path)], Setup::default());
    for target in ["/trap", "/silent", "/error"] {
        let mut conn = Conn::open(server.addr());
        let r = conn.request("GET", target, &[], b"");
        assert_eq!(r.status, 500, "{target}");
    }
    // A body never finished is cut off: the client sees no complete response.
    let mut conn = Conn::open(server.addr());
    conn.send("GET", "/unfinished", &[], b"");
    if let Some(r) = conn.try_read_response() {
        assert!(
            r.status == 500 || r.text().len() < "hello /unfinished\n".len() + 1,
            "{}",
            r.status
        );
    }
    let mut conn = Conn::open(server.addr());
    assert_eq!(conn.request("GET", "/ok", &[], b"").status, 200);
}

/// A one-request-at-a-time upstream HTTP server answering `body`.
fn upstream(body: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&got);
            let status = if head.starts_with("GET /up ") {
                "203 Upstream"
            } else {
                "404 No"
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    addr
}

#[test]
fn outgoing_requests_need_permission() {
    let path = handler().to_str().unwrap().to_string();
    let up = upstream("from upstream");
    // Refused by default: the guest gets HTTP-request-denied (it answers 502).
    let server = start(&[("/", &path)], Setup::default());
    let mut conn = Conn::open(server.addr());
    let r = conn.request("GET", &format!("/fetch?{up}"), &[], b"");
    assert_eq!(r.status, 502);
    drop(server);
    // Allowed: the guest relays the upstream's status and body.
    let mut setup = Setup::default();
    setup.cgi.outgoing_http = true;
    let server = start(&[("/", &path)], setup);
    let mut conn = Conn::open(server.addr());
    let r = conn.request("GET", &format!("/fetch?{up}"), &[], b"");
    assert_eq!(r.status, 203);
    assert_eq!(r.text(), "from upstream");
    // Nothing listening: an error code, not a hang or a crash.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = conn.request("GET", &format!("/fetch?{closed}"), &[], b"");
    assert_eq!(r.status, 502);
}

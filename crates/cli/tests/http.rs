//! `hayate run -S http`: a `wasi:cli/command` component that makes an
//! outgoing `wasi:http` request (`tests/http/fetch.wat`) gets its answer,
//! is refused `wasi:http` without the flag (with a hint), and sees a
//! failed request as an error code, not a hang or a crash; over `https`
//! it gets its answer from a server whose certificate it trusts
//! (`SSL_CERT_FILE`) and an error code from one it does not.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// The test command as a component, written to a temporary directory.
fn fetch_component(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut module = wat::parse_file(root.join("http/fetch.wat")).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(root.join("../../serve/tests/wit"))
        .unwrap();
    let wit = std::fs::read_to_string(root.join("http/fetch.wit")).unwrap();
    let pkg = resolve.push_str("fetch.wit", &wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("fetch")).unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    let path = dir.join("fetch.wasm");
    std::fs::write(&path, component).unwrap();
    path
}

/// Reads a request's head from `conn` and answers `GET /up` with 203 and
/// `body`, anything else with 404.
fn answer(conn: &mut (impl Read + Write), body: &str) {
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let status = match got.starts_with(b"GET /up ") {
        true => "203 Upstream",
        false => "404 No",
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes());
}

/// A server answering as [`answer`] does.
fn upstream(body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            answer(&mut conn, body);
        }
    });
    addr
}

/// A TLS server for `localhost` with a fresh self-signed certificate,
/// answering as [`answer`] does: its address and its certificate (PEM).
fn tls_upstream(body: &'static str) -> (SocketAddr, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key.into())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let session = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(session, conn);
            answer(&mut tls, body);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (addr, cert.cert.pem())
}

fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &Path)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hayate"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn outgoing_requests_with_dash_s_http() {
    let dir = tempfile::tempdir().unwrap();
    let component = fetch_component(dir.path());
    let component = component.to_str().unwrap();
    let up = upstream("from upstream").to_string();

    let out = run(&["run", "-S", "http", component, &up]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from upstream");

    // Without `-S http` the component's import is missing, and the error
    // says how to provide it.
    let out = run(&["run", component, &up]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wasi:http") && stderr.contains("-S http"),
        "{stderr}"
    );

    // Nothing listening: the request fails with an error code, and the
    // command with it.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = run(&["run", "-S", "http", component, &closed]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn https_requests_check_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let component = fetch_component(dir.path());
    let component = component.to_str().unwrap();
    let (addr, pem) = tls_upstream("over TLS");
    let trusted = dir.path().join("trusted.pem");
    std::fs::write(&trusted, pem).unwrap();
    let authority = format!("localhost:{}", addr.port());

    let out = run_with(
        &["run", "-S", "http", component, &authority, "https"],
        &[("SSL_CERT_FILE", &trusted)],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over TLS");

    // A certificate the roots do not vouch for: an error code.
    let (_, other) = tls_upstream("never sent");
    let untrusted = dir.path().join("other.pem");
    std::fs::write(&untrusted, other).unwrap();
    let out = run_with(
        &["run", "-S", "http", component, &authority, "https"],
        &[("SSL_CERT_FILE", &untrusted)],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
}

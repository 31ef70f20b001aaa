//! The server log, on stderr: one access line per request, in logfmt
//! (`key=value`, strings quoted), error lines with the details that a
//! client never sees, and what handlers wrote to their stderr.
//!
//! ```text
//! hayate-serve access method=GET path="/echo/x" status=200 bytes=53 duration_ms=1.204 remote=127.0.0.1:50522
//! hayate-serve error method=GET path="/trap" status=500 error="wasm trap: unreachable ..."
//! hayate-serve stderr method=GET path="/py" text="Traceback (most recent call last): ..."
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// What the access line says about one request.
#[derive(Debug)]
pub struct Access<'a> {
    /// The request method.
    pub method: &'a str,
    /// The request path (without the query).
    pub path: &'a str,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// From the request's head to the response's end.
    pub duration: Duration,
    /// The client.
    pub remote: SocketAddr,
}

/// Writes the access line of a request.
pub fn access(a: &Access<'_>) {
    line(&format!(
        "hayate-serve access method={} path={:?} status={} bytes={} duration_ms={:.3} remote={}",
        a.method,
        a.path,
        a.status,
        a.bytes,
        a.duration.as_secs_f64() * 1000.0,
        a.remote
    ));
}

/// Writes an error line: what went wrong while answering a request.
pub fn error(method: &str, path: &str, status: Option<u16>, error: &anyhow::Error) {
    let status = status.map(|s| format!(" status={s}")).unwrap_or_default();
    line(&format!(
        "hayate-serve error method={method} path={path:?}{status} error={:?}",
        format!("{error:#}")
    ));
}

/// Writes what a handler wrote to its stderr, as one line.
pub fn stderr(method: &str, path: &str, text: &[u8]) {
    line(&format!(
        "hayate-serve stderr method={method} path={path:?} text={:?}",
        String::from_utf8_lossy(text)
    ));
}

/// Writes a line about the server itself.
pub fn server(message: &str) {
    line(&format!("hayate-serve {message}"));
}

fn line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

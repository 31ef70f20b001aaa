//! The HTTP side: the listener, HTTP/1.1 connections (keep-alive) on a
//! small tokio runtime, and, per request, the health endpoint, routing,
//! the body limit, admission to the worker pool, and the response
//! streamed back from the handler. Shutdown stops accepting, then lets
//! requests in flight finish within the grace period.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::mpsc;

use crate::handler::{Chunk, HandlerError, Head, Request, ResponseSink};
use crate::log::{self, Access};
use crate::pool::Pool;
use crate::router::Router;

/// The path of the health endpoint, answered without any handler.
pub const HEALTH_PATH: &str = "/.well-known/hayate/health";

/// A worker thread's stack unless configured: a main thread's.
const DEFAULT_WORKER_STACK: usize = 8 << 20;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (`127.0.0.1:8080`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// Worker threads: requests (instances) running at once.
    pub workers: usize,
    /// Requests that may wait for a worker; more are answered 503.
    pub queue: usize,
    /// Largest request body, in bytes; larger ones are answered 413.
    pub max_body_size: u64,
    /// How long requests in flight may take to finish after shutdown
    /// begins.
    pub grace: Duration,
    /// The stack of each worker thread, in bytes: WebAssembly runs on it,
    /// so it must be larger than the engine's `max_wasm_stack` (512 KiB
    /// unless configured) with room for host calls.
    pub worker_stack_size: usize,
}

impl Default for ServeConfig {
    /// `127.0.0.1:8080`, a worker per core, a queue of 64, 10 MiB bodies,
    /// 10 s of grace, 8 MiB worker stacks.
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 64,
            max_body_size: 10 << 20,
            grace: Duration::from_secs(10),
            worker_stack_size: DEFAULT_WORKER_STACK,
        }
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: std::net::TcpListener,
    config: ServeConfig,
    router: Router,
    engine: Option<hayate::Engine>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .field("router", &self.router)
            .finish_non_exhaustive()
    }
}

/// What every connection's requests share.
struct Shared {
    router: Router,
    pool: Pool,
    max_body_size: u64,
}

impl Server {
    /// Binds `config.addr`. Nothing is accepted before [`Server::run`].
    pub fn bind(config: ServeConfig, router: Router) -> Result<Server> {
        let listener = std::net::TcpListener::bind(config.addr)
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            config,
            router,
            engine: None,
        })
    }

    /// Advances `engine`'s epoch every [`EPOCH_TICK`](crate::EPOCH_TICK)
    /// while the server runs, so that handlers' timeouts take effect.
    pub fn tick_epochs(&mut self, engine: &hayate::Engine) {
        self.engine = Some(engine.clone());
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then stops accepting and waits
    /// at most the grace period for requests in flight. Blocks the calling
    /// thread (the server has its own runtime and worker threads).
    pub fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hayate-serve-io")
            .enable_all()
            .build()
            .context("cannot start the I/O runtime")?;
        let ticking = Arc::new(AtomicBool::new(true));
        let ticker = self.engine.clone().map(|engine| {
            let ticking = ticking.clone();
            std::thread::spawn(move || {
                while ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(crate::EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
        });
        let result = runtime.block_on(self.serve(shutdown));
        ticking.store(false, Ordering::Relaxed);
        if let Some(ticker) = ticker {
            let _ = ticker.join();
        }
        runtime.shutdown_background();
        result
    }

    async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            router: self.router,
            pool: Pool::new(
                self.config.workers,
                self.config.queue,
                self.config.worker_stack_size,
            )
            .context("cannot start the worker threads")?,
            max_body_size: self.config.max_body_size,
        });
        log::server(&format!(
            "listening on http://{local_addr} ({} workers, queue {}; routes {})",
            self.config.workers,
            self.config.queue,
            shared.router.prefixes().join(" ")
        ));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of fds and the like: wait a little, go on.
                        log::server(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, request, remote, local_addr).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        drop(listener);
        log::server(&format!(
            "shutting down: {} requests in flight, {:?} of grace",
            shared.pool.in_flight(),
            self.config.grace
        ));
        tokio::select! {
            () = graceful.shutdown() => log::server("all connections closed"),
            () = tokio::time::sleep(self.config.grace) => log::server(&format!(
                "grace period over: {} requests cut off",
                shared.pool.in_flight()
            )),
        }
        Ok(())
    }
}

/// The body of a response: whole, or streamed from a handler.
pub enum ResponseBody {
    /// All of it, known up front.
    Full(Option<Bytes>),
    /// Chunks as the handler writes them.
    Stream(mpsc::Receiver<Chunk>),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Stream(_) => SizeHint::default(),
        }
    }
}

/// A short plain-text response the server makes itself.
fn plain(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from_static(
        text.as_bytes(),
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The short body of a response the server makes for `status`.
pub(crate) fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not found\n",
        413 => "request body too large\n",
        400 => "bad request\n",
        503 => "server busy, try again later\n",
        504 => "handler timed out\n",
        _ => "internal server error\n",
    }
}

/// Answers one request.
async fn answer(
    shared: &Shared,
    request: hyper::Request<Incoming>,
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
) -> Response<ResponseBody> {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let early = |status: StatusCode| {
        let text = if status == StatusCode::OK {
            "ok\n"
        } else {
            reason(status)
        };
        log::access(&Access {
            method: method.as_str(),
            path: &path,
            status: status.as_u16(),
            bytes: text.len() as u64,
            duration: start.elapsed(),
            remote: remote_addr,
        });
        plain(status, text)
    };
    if path == HEALTH_PATH {
        return early(StatusCode::OK);
    }
    let Some((handler, script_name, path_info)) = shared.router.find(&path) else {
        return early(StatusCode::NOT_FOUND);
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body_size) {
        return early(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let (parts, body) = request.into_parts();
    let limit = usize::try_from(shared.max_body_size).unwrap_or(usize::MAX);
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return early(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(_) => return early(StatusCode::BAD_REQUEST),
    };
    let Some(ticket) = shared.pool.admit() else {
        let mut response = early(StatusCode::SERVICE_UNAVAILABLE);
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let request = Request {
        protocol: match parts.version {
            Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        },
        script_name: script_name.to_string(),
        path_info: path_info.to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| path.clone(), |p| p.as_str().to_string()),
        method: parts.method,
        headers: parts.headers,
        body,
        remote_addr,
        local_addr,
    };
    let (mut sink, head) = ResponseSink::new();
    let handler = handler.clone();
    let job_path = path.clone();
    shared.pool.submit(Box::new(move || {
        let _ticket = ticket;
        let method = request.method.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.handle(request, &mut sink)
        }))
        .unwrap_or_else(|_| {
            Err(HandlerError::Failed(anyhow::anyhow!(
                "the handler panicked"
            )))
        });
        let status = finish(&mut sink, result, method.as_str(), &job_path);
        log::access(&Access {
            method: method.as_str(),
            path: &job_path,
            status,
            bytes: sink.bytes_written(),
            duration: start.elapsed(),
            remote: remote_addr,
        });
    }));
    match head.await {
        Ok((Head { status, headers }, body)) => {
            let mut response = Response::new(ResponseBody::Stream(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        // The handler's thread dropped the sink unstarted: only a bug can
        // get here, but the client still gets an answer.
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            reason(StatusCode::INTERNAL_SERVER_ERROR),
        ),
    }
}

/// Completes a response after its handler returned `result`: ends the
/// body, or answers 500/504 if nothing was sent yet, or cuts the body off
/// after a failure. Returns the status the client got.
fn finish(
    sink: &mut ResponseSink,
    result: Result<(), HandlerError>,
    method: &str,
    path: &str,
) -> u16 {
    let failure = match result {
        Ok(()) if sink.started() => None,
        Ok(()) => Some((
            StatusCode::INTERNAL_SERVER_ERROR,
            anyhow::anyhow!("the handler returned without a response"),
        )),
        Err(HandlerError::Timeout) => Some((
            StatusCode::GATEWAY_TIMEOUT,
            anyhow::anyhow!("the handler ran out of time"),
        )),
        Err(HandlerError::Failed(e)) => Some((StatusCode::INTERNAL_SERVER_ERROR, e)),
    };
    let Some((status, error)) = failure else {
        sink.finish();
        return sink.status().map_or(500, |s| s.as_u16());
    };
    if let Some(sent) = sink.status() {
        log::error(
            method,
            path,
            Some(sent.as_u16()),
            &error.context("the response was cut off"),
        );
        sink.abort();
        return sent.as_u16();
    }
    log::error(method, path, Some(status.as_u16()), &error);
    let mut headers = hyper::HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(reason(status).len()));
    if sink.start(Head { status, headers }).is_ok() {
        let _ = sink.write(reason(status).as_bytes());
    }
    sink.finish();
    status.as_u16()
}

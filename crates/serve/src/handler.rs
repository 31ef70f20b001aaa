//! The seam between the server and what answers a request: the
//! [`Handler`] trait, the [`Request`] a handler is given and the
//! [`ResponseSink`] it writes its response to.
//!
//! A handler runs on one of the server's worker threads and may block
//! there (it runs WebAssembly to completion). It starts the response once,
//! with [`ResponseSink::start`], then streams the body with
//! [`ResponseSink::write`]; the server turns what it wrote into the HTTP
//! response as it comes. A handler that fails before starting the response
//! becomes a short 500 (504 for [`HandlerError::Timeout`]); one that fails
//! after has its response cut off, so the client sees an incomplete body,
//! never a complete-looking wrong one. The details of a failure go to the
//! server log, never to the client.
//!
//! [`CgiHandler`](crate::CgiHandler) is the one implementation today; a
//! `wasi:http/proxy` component handler would be a second one.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use tokio::sync::{mpsc, oneshot};

/// One HTTP request, with its body read whole (at most the server's
/// maximum body size).
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: Method,
    /// The protocol, as CGI spells it: `HTTP/1.1`, `HTTP/1.0`.
    pub protocol: &'static str,
    /// The route's prefix that matched (`""` for the root route), CGI's
    /// `SCRIPT_NAME`.
    pub script_name: String,
    /// The rest of the path after the route's prefix, as the client sent
    /// it (CGI's `PATH_INFO` is this, percent-decoded).
    pub path_info: String,
    /// What follows `?` in the request target, without the `?`.
    pub query: String,
    /// The request target as the client sent it (path and query).
    pub uri: String,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Bytes,
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// The server's address this request came in on.
    pub local_addr: SocketAddr,
}

impl Request {
    /// The request's path: the route's prefix and the rest.
    pub fn path(&self) -> String {
        format!("{}{}", self.script_name, self.path_info)
    }
}

/// Why a handler did not produce a complete response.
#[derive(Debug)]
pub enum HandlerError {
    /// It ran past its deadline (a 504 if nothing was sent yet).
    Timeout,
    /// Anything else: a trap, a malformed response, a failed
    /// instantiation (a 500 if nothing was sent yet). The error is logged.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for HandlerError {
    fn from(e: anyhow::Error) -> Self {
        HandlerError::Failed(e)
    }
}

/// Answers requests. Implementations are shared by all worker threads.
pub trait Handler: Send + Sync + 'static {
    /// Answers `request` on the calling (worker) thread, writing the
    /// response to `response`; may block until it is done.
    fn handle(&self, request: Request, response: &mut ResponseSink) -> Result<(), HandlerError>;
}

/// The status line and headers of a response.
#[derive(Debug)]
pub struct Head {
    /// The status.
    pub status: StatusCode,
    /// The headers. A `Content-Length` must match the body the handler
    /// writes; without one the body is sent chunked.
    pub headers: HeaderMap,
}

/// A body chunk, or the error that cuts the body off.
pub(crate) type Chunk = Result<Bytes, std::io::Error>;

/// Where a handler writes its response: the head once, then the body in
/// chunks. Writes block while the client is slower than the handler (a
/// few chunks are buffered), and fail once the client has gone.
#[derive(Debug)]
pub struct ResponseSink {
    head: Option<oneshot::Sender<(Head, mpsc::Receiver<Chunk>)>>,
    body: Option<mpsc::Sender<Chunk>>,
    status: Option<StatusCode>,
    bytes: u64,
    /// After this, a write that waits for the client fails.
    deadline: Option<Instant>,
    /// The runtime whose timer bounds that wait.
    runtime: Option<tokio::runtime::Handle>,
}

/// How many body chunks may wait for a slow client.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The receiving end of a [`ResponseSink`], for the connection's task.
pub(crate) type HeadReceiver = oneshot::Receiver<(Head, mpsc::Receiver<Chunk>)>;

impl Default for ResponseSink {
    /// A sink connected to nothing: every write fails.
    fn default() -> Self {
        ResponseSink {
            head: None,
            body: None,
            status: None,
            bytes: 0,
            deadline: None,
            runtime: None,
        }
    }
}

impl ResponseSink {
    /// A sink and the end the server awaits the head on.
    pub(crate) fn new() -> (ResponseSink, HeadReceiver) {
        let (tx, rx) = oneshot::channel();
        let sink = ResponseSink {
            head: Some(tx),
            body: None,
            status: None,
            bytes: 0,
            deadline: None,
            runtime: tokio::runtime::Handle::try_current().ok(),
        };
        (sink, rx)
    }

    /// The server's runtime, for work a handler starts beside it.
    pub(crate) fn runtime(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.clone()
    }

    /// Whether [`ResponseSink::start`] was called.
    pub fn started(&self) -> bool {
        self.status.is_some()
    }

    /// The status sent, if the response was started.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// Body bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Bounds how long writes may wait for a slow client: once `deadline`
    /// has passed, a write the client does not take fails (`TimedOut`), so
    /// a client that stops reading cannot hold a worker for ever.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// Starts the response. Fails if it was started already or the
    /// client has gone.
    pub fn start(&mut self, head: Head) -> std::io::Result<()> {
        let Some(tx) = self.head.take() else {
            return Err(std::io::Error::other("the response was already started"));
        };
        self.status = Some(head.status);
        let (body_tx, body_rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        self.body = Some(body_tx);
        tx.send((head, body_rx))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }

    /// Sends body bytes (blocking while the client lags behind). Fails
    /// before [`ResponseSink::start`] and once the client has gone.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        let Some(body) = &self.body else {
            return Err(std::io::Error::other("the response was not started"));
        };
        if data.is_empty() {
            return Ok(());
        }
        let chunk = Ok(Bytes::copy_from_slice(data));
        let gone = |_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone");
        match (self.deadline, &self.runtime) {
            (Some(deadline), Some(runtime)) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                // The timer is made inside the runtime's context.
                let send = async { tokio::time::timeout(wait, body.send(chunk)).await };
                match runtime.block_on(send) {
                    Ok(sent) => sent.map_err(gone)?,
                    Err(_) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the client did not take the response before the deadline",
                        ));
                    }
                }
            }
            _ => body.blocking_send(chunk).map_err(gone)?,
        }
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Cuts the body off: the client sees the connection close before the
    /// body's end.
    pub(crate) fn abort(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        let cut = || Err(std::io::Error::other("handler failed"));
        match body.try_send(cut()) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            // The client is not reading: wait for it (or for it to go)
            // on the runtime, not on this worker.
            Err(mpsc::error::TrySendError::Full(_)) => match &self.runtime {
                Some(runtime) => {
                    runtime.spawn(async move {
                        let _ = body.send(cut()).await;
                    });
                }
                None => {
                    let _ = body.blocking_send(cut());
                }
            },
        }
    }

    /// Ends the body.
    pub(crate) fn finish(&mut self) {
        self.body = None;
    }
}

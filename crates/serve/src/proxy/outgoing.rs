//! `wasi:http/outgoing-handler`: a proxy component's requests to other
//! servers, made with hyper's HTTP/1.1 client on the server's tokio
//! runtime while the guest carries on (it waits on the returned future's
//! pollable), over TLS for `https` (`tls`). Off unless the handler
//! allows it ([`CgiOptions::outgoing_http`](crate::CgiOptions)); then
//! every request has a deadline (the guest's `request-options`, capped at
//! the handler's timeout) and its response body is read whole, at most
//! [`MAX_RESPONSE_BODY`] bytes. `hayate run -S http` makes them on an
//! [`OutgoingRuntime`] of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hayate_component::Val;
use hayate_wasi::p2::HostPollable;
use http_body_util::{BodyExt, Full, Limited};

use super::fields::Fields;
use super::http::BodyState;

mod tls;

/// The largest response body an outgoing request reads.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// What the handler's requests may do.
#[derive(Clone)]
pub struct Outgoing {
    /// The runtime the requests run on.
    pub runtime: tokio::runtime::Handle,
    /// The longest any request may take.
    pub deadline: Duration,
}

/// Outgoing requests for a guest that runs outside `hayate serve`
/// (`hayate run -S http`): a tokio runtime of their own, whose one worker
/// thread carries the requests while the guest waits on their pollables.
pub struct OutgoingRuntime {
    runtime: tokio::runtime::Runtime,
    deadline: Duration,
}

impl OutgoingRuntime {
    /// A runtime whose requests may each take at most `deadline`.
    pub fn new(deadline: Duration) -> std::io::Result<OutgoingRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hayate-http")
            .enable_all()
            .build()?;
        Ok(OutgoingRuntime { runtime, deadline })
    }

    /// What a guest's requests are made with.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            runtime: self.runtime.handle().clone(),
            deadline: self.deadline,
        }
    }
}

/// A response that arrived.
pub struct Arrived {
    /// Its status.
    pub status: u16,
    /// Its headers.
    pub headers: Fields,
    /// Its body.
    pub body: Bytes,
}

/// The state of a request in flight: `None` until it ends, then its
/// response or its `error-code` case (and payload), taken once.
pub type Pending = Arc<Mutex<Option<Option<Result<Arrived, Val>>>>>;

/// What `future-incoming-response.subscribe` waits on.
pub struct PendingReady(pub Pending);

impl HostPollable for PendingReady {
    fn ready(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// An `error-code` case without payload.
fn code(case: &str) -> Val {
    Val::Variant(case.into(), None)
}

/// `internal-error(some(why))`.
fn internal(why: String) -> Val {
    let why = Val::Option(Some(Box::new(Val::String(why))));
    Val::Variant("internal-error".into(), Some(Box::new(why)))
}

/// A request ready to go.
pub struct Request {
    /// The method.
    pub method: hyper::Method,
    /// Whether to speak TLS (`https`).
    pub tls: bool,
    /// `host[:port]` to connect to (port 80, or 443 with TLS, if absent).
    pub authority: String,
    /// The request target.
    pub path_with_query: String,
    /// The headers the guest set.
    pub headers: Fields,
    /// The body, once the guest finishes it (`None`: no body).
    pub body: Option<Arc<Mutex<BodyState>>>,
    /// How long connecting may take.
    pub connect_timeout: Option<Duration>,
    /// How long the response head may take.
    pub first_byte_timeout: Option<Duration>,
}

/// Starts `request` on the runtime; its outcome lands in the result.
pub fn start(outgoing: &Outgoing, request: Request) -> Pending {
    let pending: Pending = Arc::new(Mutex::new(None));
    let done = pending.clone();
    let deadline = outgoing.deadline;
    outgoing.runtime.spawn(async move {
        let result = match tokio::time::timeout(deadline, send(request)).await {
            Ok(r) => r,
            Err(_) => Err(code("connection-timeout")),
        };
        *done.lock().unwrap_or_else(|e| e.into_inner()) = Some(Some(result));
    });
    pending
}

/// An HTTP/1.1 connection over `io`, driven on the runtime.
async fn handshake<S>(io: S) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Val>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| internal(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Waits for the guest to finish the body, then returns it.
async fn body_of(state: &Option<Arc<Mutex<BodyState>>>) -> Bytes {
    let Some(state) = state else {
        return Bytes::new();
    };
    loop {
        if let Some(bytes) = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_finished()
        {
            return bytes.into();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The host and port of `authority` (`host`, `host:port`, `[v6]:port`),
/// with `default_port` when it has none.
fn host_and_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let uri: hyper::http::uri::Authority = authority.parse().ok()?;
    let host = uri.host().trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), uri.port_u16().unwrap_or(default_port)))
}

async fn send(r: Request) -> Result<Arrived, Val> {
    let default_port = if r.tls { 443 } else { 80 };
    let (host, port) = host_and_port(&r.authority, default_port)
        .ok_or_else(|| code("HTTP-request-URI-invalid"))?;
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    let stream = match r.connect_timeout {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| code("connection-timeout"))?,
        None => connect.await,
    }
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => code("connection-refused"),
        _ => code("destination-unavailable"),
    })?;
    let mut sender = match r.tls {
        false => handshake(stream).await?,
        true => handshake(tls::connect(&host, stream).await?).await?,
    };
    let body = body_of(&r.body).await;
    let mut builder = hyper::Request::builder()
        .method(r.method)
        .uri(r.path_with_query.as_str())
        .header(hyper::header::HOST, r.authority.as_str());
    for (name, value) in r.headers.entries() {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|_| code("HTTP-request-URI-invalid"))?;
    let send = sender.send_request(request);
    let response = match r.first_byte_timeout {
        Some(t) => tokio::time::timeout(t, send)
            .await
            .map_err(|_| code("connection-read-timeout"))?,
        None => send.await,
    }
    .map_err(|_| code("HTTP-protocol-error"))?;
    let status = response.status().as_u16();
    let headers = Fields::immutable(
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
    );
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BODY)
        .collect()
        .await
        .map_err(|_| {
            let size = Val::Option(Some(Box::new(Val::U64(MAX_RESPONSE_BODY as u64))));
            Val::Variant("HTTP-response-body-size".into(), Some(Box::new(size)))
        })?
        .to_bytes();
    Ok(Arrived {
        status,
        headers,
        body,
    })
}

//! `wasi:http/types` and `wasi:http/outgoing-handler` for one request's
//! store: the incoming request (its body a `wasi:io` input stream over the
//! bytes the server read), the response the guest builds and hands to its
//! `response-outparam` (its body an output stream into the server's
//! [`ResponseSink`], buffered until the response is set), fields, and
//! request options. Resources live in the WASI context's table.
//!
//! Outgoing requests (`outgoing-handler.handle`, see `outgoing.rs`) are
//! refused with `HTTP-request-denied` unless the store's [`HttpView`]
//! allows them.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hayate::StoreContextMut;
use hayate_component::{Linker, LinkerInstance, Resource, ResourceType, Val};
use hayate_wasi::WasiCtx;
use hayate_wasi::p2::vals::{
    arg, arg_bytes, arg_res, arg_str, arg_u16, bytes, bytes_of, err, handle, ok, ret,
};
use hayate_wasi::p2::{HostInputStream, HostOutputStream, InputStream, OutputStream, StreamError};
use hyper::Method;

use super::fields::{Fields, HeaderError};
use super::outgoing::{self, Outgoing, Pending, PendingReady};
use crate::handler::{Head, ResponseSink};

/// How much of a response body a guest may write before setting the
/// response (it is held until then).
pub const MAX_PENDING_BODY: usize = 16 << 20;

/// The WASI context of a store, as the functions here reach it.
pub trait GetWasi<T>: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static {}
impl<T, F: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static> GetWasi<T> for F {}

/// What a store's data gives `wasi:http`: its WASI context (whose table
/// holds the HTTP resources) and whether, and how, it may make outgoing
/// requests.
pub trait HttpView: 'static {
    /// The WASI context.
    fn wasi(&mut self) -> &mut WasiCtx;
    /// Outgoing requests' runtime and deadline; `None` refuses them.
    fn outgoing(&self) -> Option<&Outgoing>;
}

/// An `incoming-request`.
pub struct IncomingRequest {
    /// The method.
    pub method: Method,
    /// The request target (path and query).
    pub path_with_query: String,
    /// The `Host` header, if any.
    pub authority: Option<String>,
    /// The headers (immutable).
    pub headers: Fields,
    /// The body, until `consume` takes it.
    pub body: Option<Bytes>,
}

/// An `incoming-body`: the request's bytes, until a stream takes them.
pub struct IncomingBody {
    data: Option<Bytes>,
}

/// `future-trailers` (requests have none).
pub struct FutureTrailers;

/// An `outgoing-response`.
pub struct OutgoingResponse {
    status: u16,
    headers: Fields,
    body: Arc<Mutex<BodyState>>,
    body_taken: bool,
}

/// An `outgoing-body`.
pub struct OutgoingBody {
    state: Arc<Mutex<BodyState>>,
    stream_taken: bool,
}

/// `request-options`: timeouts the guest asks for (kept, unused: no
/// outgoing requests are made).
#[derive(Default)]
pub struct RequestOptions {
    connect: Option<u64>,
    first_byte: Option<u64>,
    between_bytes: Option<u64>,
}

/// An `outgoing-request` (built, never sent).
pub struct OutgoingRequest {
    method: Val,
    path_with_query: Option<String>,
    scheme: Option<Val>,
    authority: Option<String>,
    headers: Fields,
    body: Arc<Mutex<BodyState>>,
    body_taken: bool,
}

/// `future-incoming-response`: a request in flight.
pub struct FutureIncomingResponse {
    pending: Pending,
}

/// `incoming-response`: the response to an outgoing request.
pub struct IncomingResponse {
    status: u16,
    headers: Fields,
    body: Option<Bytes>,
}

/// A `response-outparam`: where the response goes.
pub struct ResponseOutparam {
    responder: Arc<Mutex<Responder>>,
}

/// The server side of the response: the sink, once the guest sets it.
#[derive(Default)]
pub struct Responder {
    /// Where the response goes.
    pub sink: ResponseSink,
    /// The response was set (its head sent, or an error given).
    pub set: bool,
    /// The body state of the response that was set.
    pub body: Option<Arc<Mutex<BodyState>>>,
    /// The guest answered with an error code.
    pub error: Option<String>,
}

/// A response body: bytes written before the response was set wait here.
#[derive(Default)]
pub struct BodyState {
    pending: Vec<u8>,
    responder: Option<Arc<Mutex<Responder>>>,
    /// `outgoing-body.finish` was called.
    pub finished: bool,
    /// `outgoing-response.body` was called.
    pub taken: bool,
    failed: bool,
}

impl BodyState {
    /// The whole body, once finished (for an outgoing request).
    pub fn take_finished(&mut self) -> Option<Vec<u8>> {
        self.finished.then(|| std::mem::take(&mut self.pending))
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Responder {
    /// A responder writing to `sink`.
    pub fn new(sink: ResponseSink) -> Arc<Mutex<Responder>> {
        Arc::new(Mutex::new(Responder {
            sink,
            ..Responder::default()
        }))
    }
}

/// The request body as an input stream.
struct BodyReader {
    data: Bytes,
}

impl HostInputStream for BodyReader {
    fn read(&mut self, max: usize) -> Result<Vec<u8>, StreamError> {
        if self.data.is_empty() {
            return Err(StreamError::Closed);
        }
        let n = max.min(self.data.len());
        Ok(self.data.split_to(n).to_vec())
    }
    fn ready(&self) -> bool {
        true
    }
}

/// The response body as an output stream.
struct BodyWriter {
    state: Arc<Mutex<BodyState>>,
}

impl HostOutputStream for BodyWriter {
    fn check_write(&mut self) -> Result<usize, StreamError> {
        match lock(&self.state).failed {
            true => Err(StreamError::Closed),
            false => Ok(64 << 10),
        }
    }
    fn write(&mut self, data: &[u8]) -> Result<(), StreamError> {
        let mut state = lock(&self.state);
        if state.failed || state.finished {
            return Err(StreamError::Closed);
        }
        match state.responder.clone() {
            Some(responder) => {
                if lock(&responder).sink.write(data).is_err() {
                    state.failed = true;
                    return Err(StreamError::Closed);
                }
            }
            None if state.pending.len() + data.len() > MAX_PENDING_BODY => {
                state.failed = true;
                return Err(StreamError::Failed(hayate_wasi::Errno::Nospc));
            }
            None => state.pending.extend_from_slice(data),
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn ready(&self) -> bool {
        true
    }
}

fn method_val(m: &Method) -> Val {
    let case = match *m {
        Method::GET => "get",
        Method::HEAD => "head",
        Method::POST => "post",
        Method::PUT => "put",
        Method::DELETE => "delete",
        Method::CONNECT => "connect",
        Method::OPTIONS => "options",
        Method::TRACE => "trace",
        Method::PATCH => "patch",
        _ => return Val::Variant("other".into(), Some(Box::new(Val::String(m.to_string())))),
    };
    Val::Variant(case.into(), None)
}

fn header_error(e: HeaderError) -> Val {
    err(Val::Variant(e.case().into(), None))
}

fn unit_result(r: Result<(), HeaderError>) -> Val {
    match r {
        Ok(()) => ok(None),
        Err(e) => header_error(e),
    }
}

fn entries_val(f: &Fields) -> Val {
    Val::List(
        f.entries()
            .iter()
            .map(|(n, v)| Val::Tuple(vec![Val::String(n.clone()), bytes(v)]))
            .collect(),
    )
}

fn opt_string(s: &Option<String>) -> Val {
    Val::Option(s.clone().map(|s| Box::new(Val::String(s))))
}

fn arg_opt_string(args: &[Val], i: usize) -> Result<Option<String>> {
    match arg(args, i)? {
        Val::Option(None) => Ok(None),
        Val::Option(Some(v)) => match &**v {
            Val::String(s) => Ok(Some(s.clone())),
            other => bail!("expected a string, found {other:?}"),
        },
        other => bail!("expected an option, found {other:?}"),
    }
}

fn arg_opt_u64(args: &[Val], i: usize) -> Result<Option<u64>> {
    match arg(args, i)? {
        Val::Option(None) => Ok(None),
        Val::Option(Some(v)) => match &**v {
            Val::U64(x) => Ok(Some(*x)),
            other => bail!("expected a u64, found {other:?}"),
        },
        other => bail!("expected an option, found {other:?}"),
    }
}

/// Defines resource `name` backed by `R` in the WASI table.
fn resource<T: 'static, R: Send + 'static>(
    inst: &mut LinkerInstance<'_, T>,
    name: &str,
    get: impl GetWasi<T>,
) -> Result<()> {
    inst.resource(name, ResourceType::host::<R>(), move |mut store, rep| {
        get(store.data_mut())
            .resource_table()
            .delete(Resource::<R>::new_own(rep))?;
        Ok(())
    })
}

/// Defines `name` with a body given the WASI context.
fn func<T: 'static>(
    inst: &mut LinkerInstance<'_, T>,
    name: &str,
    get: impl GetWasi<T>,
    body: fn(&mut WasiCtx, &[Val]) -> Result<Val>,
) -> Result<()> {
    inst.func_new(
        name,
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let v = body(get(store.data_mut()), args)?;
            if !results.is_empty() {
                ret(results, v)?;
            }
            Ok(())
        },
    )
}

/// The WASI context of `T`'s data.
fn wasi_of<T: HttpView>(t: &mut T) -> &mut WasiCtx {
    t.wasi()
}

/// Defines `wasi:http/types` and `wasi:http/outgoing-handler` on `linker`.
pub fn add_to_linker<T: HttpView>(linker: &mut Linker<T>) -> Result<()> {
    let get = wasi_of::<T>;
    let version = hayate_wasi::p2::VERSION;
    let mut types = linker.instance(&format!("wasi:http/types@{version}"))?;
    let t = &mut types;
    resource::<T, Fields>(t, "fields", get)?;
    resource::<T, IncomingRequest>(t, "incoming-request", get)?;
    resource::<T, OutgoingRequest>(t, "outgoing-request", get)?;
    resource::<T, RequestOptions>(t, "request-options", get)?;
    resource::<T, ResponseOutparam>(t, "response-outparam", get)?;
    resource::<T, IncomingResponse>(t, "incoming-response", get)?;
    resource::<T, IncomingBody>(t, "incoming-body", get)?;
    resource::<T, FutureTrailers>(t, "future-trailers", get)?;
    resource::<T, OutgoingResponse>(t, "outgoing-response", get)?;
    resource::<T, OutgoingBody>(t, "outgoing-body", get)?;
    resource::<T, FutureIncomingResponse>(t, "future-incoming-response", get)?;
    add_fields(t, get)?;
    add_incoming(t, get)?;
    add_outgoing_response(t, get)?;
    add_outgoing_request(t, get)?;
    func(t, "http-error-code", get, |_, _| Ok(Val::Option(None)))?;

    let mut out = linker.instance(&format!("wasi:http/outgoing-handler@{version}"))?;
    out.func_new(
        "handle",
        |mut store: StoreContextMut<'_, T>, args, results| {
            let v = match store.data().outgoing().cloned() {
                Some(policy) => send(store.data_mut().wasi(), &policy, args)?,
                None => err(Val::Variant("HTTP-request-denied".into(), None)),
            };
            ret(results, v)
        },
    )?;
    Ok(())
}

/// `outgoing-handler.handle`: starts the request, returns its future.
fn send(ctx: &mut WasiCtx, policy: &Outgoing, args: &[Val]) -> Result<Val> {
    let table = ctx.resource_table();
    let req = table.delete(arg_res::<OutgoingRequest>(args, 0)?)?;
    let (mut connect, mut first_byte) = (None, None);
    if let Val::Option(Some(o)) = arg(args, 1)?
        && let Val::Resource(r) = &**o
    {
        let o = table.delete(r.clone().try_into_resource::<RequestOptions>()?)?;
        connect = o.connect.map(std::time::Duration::from_nanos);
        first_byte = o.first_byte.map(std::time::Duration::from_nanos);
    }
    let denied = |case: &str| Ok(err(Val::Variant(case.into(), None)));
    let method = match &req.method {
        Val::Variant(case, None) => Method::from_bytes(case.to_ascii_uppercase().as_bytes()),
        Val::Variant(_, Some(other)) => match &**other {
            Val::String(m) => Method::from_bytes(m.as_bytes()),
            _ => return denied("HTTP-request-method-invalid"),
        },
        _ => return denied("HTTP-request-method-invalid"),
    };
    let Ok(method) = method else {
        return denied("HTTP-request-method-invalid");
    };
    match &req.scheme {
        None => {}
        Some(Val::Variant(case, None)) if case == "HTTP" => {}
        Some(_) => return denied("HTTP-request-URI-invalid"),
    }
    let Some(authority) = req.authority.clone() else {
        return denied("HTTP-request-URI-invalid");
    };
    let request = outgoing::Request {
        method,
        authority,
        path_with_query: req.path_with_query.clone().unwrap_or_else(|| "/".into()),
        headers: req.headers,
        body: req.body_taken.then(|| req.body.clone()),
        connect_timeout: connect,
        first_byte_timeout: first_byte,
    };
    let pending = outgoing::start(policy, request);
    let future = table.push(FutureIncomingResponse { pending })?;
    Ok(ok(Some(handle(future))))
}

fn add_fields<T: 'static>(t: &mut LinkerInstance<'_, T>, get: impl GetWasi<T>) -> Result<()> {
    func(t, "[constructor]fields", get, |ctx, _| {
        Ok(handle(ctx.resource_table().push(Fields::default())?))
    })?;
    func(t, "[static]fields.from-list", get, |ctx, args| {
        let Val::List(items) = arg(args, 0)? else {
            bail!("expected a list of entries");
        };
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            let Val::Tuple(pair) = item else {
                bail!("expected an entry");
            };
            let [Val::String(name), value] = &pair[..] else {
                bail!("expected a name and a value");
            };
            entries.push((name.clone(), bytes_of(value)?));
        }
        Ok(match Fields::from_list(entries) {
            Ok(f) => ok(Some(handle(ctx.resource_table().push(f)?))),
            Err(e) => header_error(e),
        })
    })?;
    func(t, "[method]fields.get", get, |ctx, args| {
        let f = ctx.resource_table().get(&arg_res::<Fields>(args, 0)?)?;
        let values = f.get(arg_str(args, 1)?);
        Ok(Val::List(values.iter().map(|v| bytes(v)).collect()))
    })?;
    func(t, "[method]fields.has", get, |ctx, args| {
        let f = ctx.resource_table().get(&arg_res::<Fields>(args, 0)?)?;
        Ok(Val::Bool(f.has(arg_str(args, 1)?)))
    })?;
    func(t, "[method]fields.set", get, |ctx, args| {
        let Val::List(values) = arg(args, 2)? else {
            bail!("expected a list of values");
        };
        let values = values.iter().map(bytes_of).collect::<Result<Vec<_>>>()?;
        let f = ctx.resource_table().get_mut(&arg_res::<Fields>(args, 0)?)?;
        Ok(unit_result(f.set(arg_str(args, 1)?, values)))
    })?;
    func(t, "[method]fields.delete", get, |ctx, args| {
        let f = ctx.resource_table().get_mut(&arg_res::<Fields>(args, 0)?)?;
        Ok(unit_result(f.delete(arg_str(args, 1)?)))
    })?;
    func(t, "[method]fields.append", get, |ctx, args| {
        let value = arg_bytes(args, 2)?;
        let f = ctx.resource_table().get_mut(&arg_res::<Fields>(args, 0)?)?;
        Ok(unit_result(f.append(arg_str(args, 1)?, value)))
    })?;
    func(t, "[method]fields.entries", get, |ctx, args| {
        let f = ctx.resource_table().get(&arg_res::<Fields>(args, 0)?)?;
        Ok(entries_val(f))
    })?;
    func(t, "[method]fields.clone", get, |ctx, args| {
        let f = ctx
            .resource_table()
            .get(&arg_res::<Fields>(args, 0)?)?
            .thawed();
        Ok(handle(ctx.resource_table().push(f)?))
    })
}

fn add_incoming<T: 'static>(t: &mut LinkerInstance<'_, T>, get: impl GetWasi<T>) -> Result<()> {
    func(t, "[method]incoming-request.method", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<IncomingRequest>(args, 0)?)?;
        Ok(method_val(&r.method))
    })?;
    func(
        t,
        "[method]incoming-request.path-with-query",
        get,
        |ctx, args| {
            let r = ctx
                .resource_table()
                .get(&arg_res::<IncomingRequest>(args, 0)?)?;
            Ok(opt_string(&Some(r.path_with_query.clone())))
        },
    )?;
    func(t, "[method]incoming-request.scheme", get, |_, _| {
        let http = Val::Variant("HTTP".into(), None);
        Ok(Val::Option(Some(Box::new(http))))
    })?;
    func(t, "[method]incoming-request.authority", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<IncomingRequest>(args, 0)?)?;
        Ok(opt_string(&r.authority))
    })?;
    t.func_new(
        "[method]incoming-request.headers",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let req = arg_res::<IncomingRequest>(args, 0)?;
            let headers = table.get(&req)?.headers.frozen();
            let h = table.push_child(headers, &req)?;
            ret(results, handle(h))
        },
    )?;
    t.func_new(
        "[method]incoming-request.consume",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let req = arg_res::<IncomingRequest>(args, 0)?;
            let v = match table.get_mut(&req)?.body.take() {
                Some(data) => {
                    let body = table.push_child(IncomingBody { data: Some(data) }, &req)?;
                    ok(Some(handle(body)))
                }
                None => Val::Result(Err(None)),
            };
            ret(results, v)
        },
    )?;
    t.func_new(
        "[method]incoming-body.stream",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let body = arg_res::<IncomingBody>(args, 0)?;
            let v = match table.get_mut(&body)?.data.take() {
                Some(data) => {
                    let s = InputStream::Host(Box::new(BodyReader { data }));
                    ok(Some(handle(table.push_child(s, &body)?)))
                }
                None => Val::Result(Err(None)),
            };
            ret(results, v)
        },
    )?;
    func(t, "[static]incoming-body.finish", get, |ctx, args| {
        let table = ctx.resource_table();
        table.delete(arg_res::<IncomingBody>(args, 0)?)?;
        Ok(handle(table.push(FutureTrailers)?))
    })?;
    func(t, "[method]future-trailers.subscribe", get, |ctx, _| {
        Ok(handle(
            ctx.resource_table()
                .push(hayate_wasi::p2::Pollable::Ready)?,
        ))
    })?;
    func(t, "[method]future-trailers.get", get, |_, _| {
        // Ready, with no trailers: some(ok(ok(none))).
        let none = Val::Option(None);
        Ok(Val::Option(Some(Box::new(ok(Some(ok(Some(none))))))))
    })
}

fn add_outgoing_response<T: 'static>(
    t: &mut LinkerInstance<'_, T>,
    get: impl GetWasi<T>,
) -> Result<()> {
    func(t, "[constructor]outgoing-response", get, |ctx, args| {
        let table = ctx.resource_table();
        let headers = table.delete(arg_res::<Fields>(args, 0)?)?;
        let r = OutgoingResponse {
            status: 200,
            headers,
            body: Arc::default(),
            body_taken: false,
        };
        Ok(handle(table.push(r)?))
    })?;
    func(
        t,
        "[method]outgoing-response.status-code",
        get,
        |ctx, args| {
            let r = ctx
                .resource_table()
                .get(&arg_res::<OutgoingResponse>(args, 0)?)?;
            Ok(Val::U16(r.status))
        },
    )?;
    func(
        t,
        "[method]outgoing-response.set-status-code",
        get,
        |ctx, args| {
            let status = arg_u16(args, 1)?;
            let r = ctx
                .resource_table()
                .get_mut(&arg_res::<OutgoingResponse>(args, 0)?)?;
            Ok(match hyper::StatusCode::from_u16(status) {
                Ok(_) => {
                    r.status = status;
                    ok(None)
                }
                Err(_) => Val::Result(Err(None)),
            })
        },
    )?;
    t.func_new(
        "[method]outgoing-response.headers",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let r = arg_res::<OutgoingResponse>(args, 0)?;
            let headers = table.get(&r)?.headers.frozen();
            ret(results, handle(table.push_child(headers, &r)?))
        },
    )?;
    func(t, "[method]outgoing-response.body", get, |ctx, args| {
        let table = ctx.resource_table();
        let r = table.get_mut(&arg_res::<OutgoingResponse>(args, 0)?)?;
        if r.body_taken {
            return Ok(Val::Result(Err(None)));
        }
        r.body_taken = true;
        let state = r.body.clone();
        lock(&state).taken = true;
        let body = OutgoingBody {
            state,
            stream_taken: false,
        };
        Ok(ok(Some(handle(table.push(body)?))))
    })?;
    t.func_new(
        "[method]outgoing-body.write",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let b = arg_res::<OutgoingBody>(args, 0)?;
            let body = table.get_mut(&b)?;
            let v = if body.stream_taken {
                Val::Result(Err(None))
            } else {
                body.stream_taken = true;
                let w = BodyWriter {
                    state: body.state.clone(),
                };
                let s = OutputStream::Host(Box::new(w));
                ok(Some(handle(table.push_child(s, &b)?)))
            };
            ret(results, v)
        },
    )?;
    func(t, "[static]outgoing-body.finish", get, |ctx, args| {
        let table = ctx.resource_table();
        let body = table
            .delete(arg_res::<OutgoingBody>(args, 0)?)
            .context("an outgoing-body's stream must be dropped before it is finished")?;
        if let Val::Option(Some(trailers)) = arg(args, 1)?
            && let Val::Resource(r) = &**trailers
        {
            // HTTP/1.1 responses here carry no trailers; they are dropped.
            table.delete(r.clone().try_into_resource::<Fields>()?)?;
        }
        lock(&body.state).finished = true;
        Ok(ok(None))
    })?;
    func(t, "[static]response-outparam.set", get, |ctx, args| {
        let table = ctx.resource_table();
        let param = table.delete(arg_res::<ResponseOutparam>(args, 0)?)?;
        let mut responder = lock(&param.responder);
        if responder.set {
            bail!("response-outparam.set called twice");
        }
        responder.set = true;
        match arg(args, 1)? {
            Val::Result(Ok(Some(r))) => {
                let Val::Resource(r) = &**r else {
                    bail!("expected an outgoing-response");
                };
                let resp = table.delete(r.clone().try_into_resource::<OutgoingResponse>()?)?;
                let head = Head {
                    status: hyper::StatusCode::from_u16(resp.status)?,
                    headers: resp.headers.to_header_map(),
                };
                if responder.sink.start(head).is_err() {
                    return Ok(Val::Tuple(vec![]));
                }
                let mut body = lock(&resp.body);
                let pending = std::mem::take(&mut body.pending);
                if !pending.is_empty() && responder.sink.write(&pending).is_err() {
                    body.failed = true;
                }
                body.responder = Some(param.responder.clone());
                responder.body = Some(resp.body.clone());
            }
            Val::Result(Err(e)) => {
                responder.error = Some(format!("{e:?}"));
            }
            other => bail!("expected a result, found {other:?}"),
        }
        Ok(Val::Tuple(vec![]))
    })?;
    func(
        t,
        "[method]response-outparam.send-informational",
        get,
        |_, _| {
            Ok(err(Val::Variant(
                "internal-error".into(),
                Some(Box::new(Val::Option(Some(Box::new(Val::String(
                    "informational responses are not supported".into(),
                )))))),
            )))
        },
    )
}

fn add_outgoing_request<T: 'static>(
    t: &mut LinkerInstance<'_, T>,
    get: impl GetWasi<T>,
) -> Result<()> {
    func(t, "[constructor]outgoing-request", get, |ctx, args| {
        let table = ctx.resource_table();
        let headers = table.delete(arg_res::<Fields>(args, 0)?)?;
        let r = OutgoingRequest {
            method: Val::Variant("get".into(), None),
            path_with_query: None,
            scheme: None,
            authority: None,
            headers,
            body: Arc::default(),
            body_taken: false,
        };
        Ok(handle(table.push(r)?))
    })?;
    func(t, "[method]outgoing-request.body", get, |ctx, args| {
        let table = ctx.resource_table();
        let r = table.get_mut(&arg_res::<OutgoingRequest>(args, 0)?)?;
        if r.body_taken {
            return Ok(Val::Result(Err(None)));
        }
        r.body_taken = true;
        let body = OutgoingBody {
            state: r.body.clone(),
            stream_taken: false,
        };
        Ok(ok(Some(handle(table.push(body)?))))
    })?;
    func(t, "[method]outgoing-request.method", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<OutgoingRequest>(args, 0)?)?;
        Ok(r.method.clone())
    })?;
    func(
        t,
        "[method]outgoing-request.set-method",
        get,
        |ctx, args| {
            let m = arg(args, 1)?.clone();
            let r = ctx
                .resource_table()
                .get_mut(&arg_res::<OutgoingRequest>(args, 0)?)?;
            r.method = m;
            Ok(ok(None))
        },
    )?;
    func(
        t,
        "[method]outgoing-request.path-with-query",
        get,
        |ctx, args| {
            let r = ctx
                .resource_table()
                .get(&arg_res::<OutgoingRequest>(args, 0)?)?;
            Ok(opt_string(&r.path_with_query))
        },
    )?;
    func(
        t,
        "[method]outgoing-request.set-path-with-query",
        get,
        |ctx, args| {
            let p = arg_opt_string(args, 1)?;
            let r = ctx
                .resource_table()
                .get_mut(&arg_res::<OutgoingRequest>(args, 0)?)?;
            r.path_with_query = p;
            Ok(ok(None))
        },
    )?;
    func(t, "[method]outgoing-request.scheme", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<OutgoingRequest>(args, 0)?)?;
        Ok(Val::Option(r.scheme.clone().map(Box::new)))
    })?;
    func(
        t,
        "[method]outgoing-request.set-scheme",
        get,
        |ctx, args| {
            let s = match arg(args, 1)? {
                Val::Option(s) => s.clone().map(|s| *s),
                other => bail!("expected an option, found {other:?}"),
            };
            let r = ctx
                .resource_table()
                .get_mut(&arg_res::<OutgoingRequest>(args, 0)?)?;
            r.scheme = s;
            Ok(ok(None))
        },
    )?;
    func(t, "[method]outgoing-request.authority", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<OutgoingRequest>(args, 0)?)?;
        Ok(opt_string(&r.authority))
    })?;
    func(
        t,
        "[method]outgoing-request.set-authority",
        get,
        |ctx, args| {
            let a = arg_opt_string(args, 1)?;
            let r = ctx
                .resource_table()
                .get_mut(&arg_res::<OutgoingRequest>(args, 0)?)?;
            r.authority = a;
            Ok(ok(None))
        },
    )?;
    t.func_new(
        "[method]outgoing-request.headers",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let r = arg_res::<OutgoingRequest>(args, 0)?;
            let headers = table.get(&r)?.headers.frozen();
            ret(results, handle(table.push_child(headers, &r)?))
        },
    )?;
    func(t, "[constructor]request-options", get, |ctx, _| {
        Ok(handle(
            ctx.resource_table().push(RequestOptions::default())?,
        ))
    })?;
    type Slot = fn(&mut RequestOptions) -> &mut Option<u64>;
    let slots: [(&str, Slot); 3] = [
        ("connect-timeout", |o| &mut o.connect),
        ("first-byte-timeout", |o| &mut o.first_byte),
        ("between-bytes-timeout", |o| &mut o.between_bytes),
    ];
    for (name, slot) in slots {
        t.func_new(
            &format!("[method]request-options.{name}"),
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let table = get(store.data_mut()).resource_table();
                let o = table.get_mut(&arg_res::<RequestOptions>(args, 0)?)?;
                let v = slot(o).map(|d| Box::new(Val::U64(d)));
                ret(results, Val::Option(v))
            },
        )?;
        t.func_new(
            &format!("[method]request-options.set-{name}"),
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let d = arg_opt_u64(args, 1)?;
                let table = get(store.data_mut()).resource_table();
                let o = table.get_mut(&arg_res::<RequestOptions>(args, 0)?)?;
                *slot(o) = d;
                ret(results, ok(None))
            },
        )?;
    }
    t.func_new(
        "[method]future-incoming-response.subscribe",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let f = arg_res::<FutureIncomingResponse>(args, 0)?;
            let ready = PendingReady(table.get(&f)?.pending.clone());
            let p = hayate_wasi::p2::Pollable::Host(Box::new(ready));
            ret(results, handle(table.push_child(p, &f)?))
        },
    )?;
    func(
        t,
        "[method]future-incoming-response.get",
        get,
        |ctx, args| {
            let table = ctx.resource_table();
            let f = table.get(&arg_res::<FutureIncomingResponse>(args, 0)?)?;
            let taken = {
                let mut slot = f.pending.lock().unwrap_or_else(|e| e.into_inner());
                match slot.as_mut() {
                    None => return Ok(Val::Option(None)),
                    Some(outcome) => outcome.take(),
                }
            };
            let inner = match taken {
                None => Val::Result(Err(None)),
                Some(Ok(arrived)) => {
                    let resp = IncomingResponse {
                        status: arrived.status,
                        headers: arrived.headers,
                        body: Some(arrived.body),
                    };
                    ok(Some(ok(Some(handle(table.push(resp)?)))))
                }
                Some(Err(code)) => ok(Some(err(code))),
            };
            Ok(Val::Option(Some(Box::new(inner))))
        },
    )?;
    func(t, "[method]incoming-response.status", get, |ctx, args| {
        let r = ctx
            .resource_table()
            .get(&arg_res::<IncomingResponse>(args, 0)?)?;
        Ok(Val::U16(r.status))
    })?;
    t.func_new(
        "[method]incoming-response.headers",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let r = arg_res::<IncomingResponse>(args, 0)?;
            let headers = table.get(&r)?.headers.frozen();
            ret(results, handle(table.push_child(headers, &r)?))
        },
    )?;
    t.func_new(
        "[method]incoming-response.consume",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let table = get(store.data_mut()).resource_table();
            let r = arg_res::<IncomingResponse>(args, 0)?;
            let v = match table.get_mut(&r)?.body.take() {
                Some(data) => {
                    let body = table.push_child(IncomingBody { data: Some(data) }, &r)?;
                    ok(Some(handle(body)))
                }
                None => Val::Result(Err(None)),
            };
            ret(results, v)
        },
    )?;
    Ok(())
}

/// The request as an `incoming-request` in `ctx`'s table, and the
/// `response-outparam` answering to `responder`.
pub fn request_resources(
    ctx: &mut WasiCtx,
    request: IncomingRequest,
    responder: Arc<Mutex<Responder>>,
) -> Result<(Val, Val)> {
    let table = ctx.resource_table();
    let req = table.push(request)?;
    let out = table.push(ResponseOutparam { responder })?;
    Ok((handle(req), handle(out)))
}

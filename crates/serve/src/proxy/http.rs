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

use anyhow::{Result, bail};
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

mod requests;
mod responses;

use requests::{add_incoming, add_outgoing_request, send};
use responses::add_outgoing_response;

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

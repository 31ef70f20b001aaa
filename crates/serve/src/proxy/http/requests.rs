//! `wasi:http` requests: the incoming request (its method, target,
//! headers and its body as an input stream), and outgoing requests (their
//! fields, options and the future of their response) sent through
//! `outgoing-handler`.

use anyhow::{Result, bail};
use hayate::StoreContextMut;
use hayate_component::{LinkerInstance, Val};
use hayate_wasi::WasiCtx;
use hayate_wasi::p2::vals::{arg, arg_res, err, handle, ok, ret};

use super::*;

/// `outgoing-handler.handle`: starts the request, returns its future.
pub(super) fn send(ctx: &mut WasiCtx, policy: &Outgoing, args: &[Val]) -> Result<Val> {
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
    let tls = match &req.scheme {
        None => false,
        Some(Val::Variant(case, None)) if case == "HTTP" => false,
        Some(Val::Variant(case, None)) if case == "HTTPS" => true,
        Some(_) => return denied("HTTP-request-URI-invalid"),
    };
    let Some(authority) = req.authority.clone() else {
        return denied("HTTP-request-URI-invalid");
    };
    let request = outgoing::Request {
        method,
        tls,
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

pub(super) fn add_incoming<T: 'static>(
    t: &mut LinkerInstance<'_, T>,
    get: impl GetWasi<T>,
) -> Result<()> {
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

pub(super) fn add_outgoing_request<T: 'static>(
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

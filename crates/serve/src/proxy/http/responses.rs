//! `wasi:http` responses: the outgoing response the guest builds, its body
//! (an output stream into the server's sink, or a buffer until the
//! response is set) and the `response-outparam` that sends it.

use anyhow::{Context, Result, bail};
use hayate::StoreContextMut;
use hayate_component::{LinkerInstance, Val};
use hayate_wasi::p2::vals::{arg, arg_res, err, handle, ok, ret};

use super::*;

pub(super) fn add_outgoing_response<T: 'static>(
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

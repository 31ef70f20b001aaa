//! The `wasi:http/proxy` handler: a component exporting
//! `wasi:http/incoming-handler` answers each request in a fresh instance,
//! as `wasmtime serve` runs them. The request becomes an
//! `incoming-request` (its body read whole by the server, at most the
//! maximum body size) and a `response-outparam`; the response the guest
//! sets is streamed to the client as its body is written.
//!
//! The same limits as CGI handlers apply per request: a fresh store with
//! the memory cap, an epoch deadline for the timeout (504), optionally
//! fuel; a trap, a missing response or an error response is a 500 (or a
//! cut-off body once the response has begun). The guest gets WASI 0.2
//! (clocks, random, stdio, the configured preopens) and `wasi:http`;
//! outgoing requests only with [`CgiOptions::outgoing_http`].

pub mod fields;
pub mod http;
pub mod outgoing;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hayate::{Engine, Store, StoreLimits};
use hayate_component::{Component, InstancePre, Linker};
use hayate_wasi::{WasiCtx, WritePipe};

use crate::cgi::{CgiOptions, MAX_STDERR_BYTES, limit_store, request_wasi, verdict};
use crate::handler::{Handler, HandlerError, Request, ResponseSink};
use http::{IncomingRequest, Responder};

/// The data of one request's store.
struct ProxyCtx {
    wasi: WasiCtx,
    limits: StoreLimits,
    outgoing: Option<outgoing::Outgoing>,
}

impl http::HttpView for ProxyCtx {
    fn wasi(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
    fn outgoing(&self) -> Option<&outgoing::Outgoing> {
        self.outgoing.as_ref()
    }
}

/// A `wasi:http/proxy` component answering requests.
pub struct ProxyHandler {
    /// The component with its imports resolved, once.
    pre: InstancePre<ProxyCtx>,
    engine: Engine,
    /// The export with `handle`: `wasi:http/incoming-handler@0.2.x`.
    export: String,
    options: CgiOptions,
}

impl std::fmt::Debug for ProxyHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandler")
            .field("export", &self.export)
            .finish_non_exhaustive()
    }
}

/// Whether the file at `path` holds a component (which `hayate serve`
/// runs as a `wasi:http/proxy`), not a core module.
pub fn is_component_file(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) if bytes.starts_with(b"\0asm") => Component::is_component(&bytes),
        Ok(bytes) => wat::parse_bytes(&bytes).is_ok_and(|b| Component::is_component(&b)),
        Err(_) => false,
    }
}

impl ProxyHandler {
    /// Loads the component at `path` and checks that it is a
    /// `wasi:http/proxy` whose imports the server provides, by
    /// instantiating it once.
    pub fn from_file(engine: &Engine, path: &Path, options: CgiOptions) -> Result<ProxyHandler> {
        let component = Component::from_file(engine, path)
            .with_context(|| format!("cannot load handler `{}`", path.display()))?;
        ProxyHandler::new(engine, component, options)
            .with_context(|| format!("handler `{}`", path.display()))
    }

    /// A handler running `component`.
    pub fn new(engine: &Engine, component: Component, options: CgiOptions) -> Result<ProxyHandler> {
        let mut linker = Linker::new(engine);
        hayate_wasi::p2::add_to_linker(&mut linker, |c: &mut ProxyCtx| &mut c.wasi)?;
        http::add_to_linker(&mut linker)?;
        let mut store = Store::new(
            engine,
            ProxyCtx {
                wasi: WasiCtx::builder().build(),
                limits: options.limits.clone(),
                outgoing: None,
            },
        );
        store.limiter(|ctx| &mut ctx.limits);
        let pre = linker
            .instantiate_pre(&component)
            .context("the server does not provide its imports")?;
        let instance = pre
            .instantiate(&mut store)
            .context("it cannot be instantiated within the server's limits")?;
        let export = instance
            .export_names()
            .find(|n| n.starts_with("wasi:http/incoming-handler@0.2."))
            .map(str::to_string);
        let Some(export) = export else {
            bail!("it does not export `wasi:http/incoming-handler@0.2`: not a wasi:http/proxy");
        };
        if instance
            .get_instance_func(&mut store, &export, "handle")
            .is_none()
        {
            bail!("its `{export}` has no `handle` function");
        }
        Ok(ProxyHandler {
            pre,
            engine: engine.clone(),
            export,
            options,
        })
    }

    fn wasi(&self, stderr: WritePipe) -> Result<WasiCtx> {
        let mut b = WasiCtx::builder();
        b.args(&self.options.args);
        for (name, value) in &self.options.env {
            b.env(name, value);
        }
        b.stderr(stderr);
        request_wasi(&mut b, &self.options)?;
        Ok(b.build())
    }

    /// Runs `handle` for one request, the response going to `responder`.
    fn run(
        &self,
        request: &Request,
        responder: &Arc<Mutex<Responder>>,
        stderr: WritePipe,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Result<(), HandlerError> {
        let outgoing = match (self.options.outgoing_http, runtime) {
            (true, Some(runtime)) => Some(outgoing::Outgoing {
                runtime,
                deadline: self.options.timeout.unwrap_or(Duration::from_secs(30)),
            }),
            _ => None,
        };
        let mut store = Store::new(
            &self.engine,
            ProxyCtx {
                wasi: self.wasi(stderr)?,
                limits: self.options.limits.clone(),
                outgoing,
            },
        );
        store.limiter(|ctx| &mut ctx.limits);
        limit_store(&mut store, &self.options)?;
        let incoming = IncomingRequest {
            method: request.method.clone(),
            path_with_query: request.uri.clone(),
            authority: request
                .headers
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string),
            headers: fields::Fields::immutable(
                request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                    .collect(),
            ),
            body: Some(request.body.clone()),
        };
        let (req, out) =
            http::request_resources(&mut store.data_mut().wasi, incoming, responder.clone())?;
        let result = self.pre.instantiate(&mut store).and_then(|instance| {
            let handle = instance
                .get_instance_func(&mut store, &self.export, "handle")
                .context("no `handle`")?;
            handle.call(&mut store, &[req, out], &mut [])
        });
        verdict(result)
    }
}

impl Handler for ProxyHandler {
    fn handle(&self, request: Request, response: &mut ResponseSink) -> Result<(), HandlerError> {
        if let Some(timeout) = self.options.timeout {
            response.set_deadline(std::time::Instant::now() + timeout);
        }
        let runtime = response.runtime();
        let responder = Responder::new(std::mem::take(response));
        let stderr = WritePipe::new_in_memory_with_capacity(MAX_STDERR_BYTES);
        let ran = self.run(&request, &responder, stderr.clone(), runtime);
        let stderr = stderr.contents();
        if !stderr.is_empty() {
            crate::log::stderr(request.method.as_str(), &request.path(), &stderr);
        }
        let mut r = responder.lock().unwrap_or_else(|e| e.into_inner());
        let unfinished = r.body.as_ref().is_some_and(|b| {
            let b = b.lock().unwrap_or_else(|e| e.into_inner());
            b.taken && !b.finished
        });
        let error = r.error.take();
        let set = r.set;
        *response = std::mem::take(&mut r.sink);
        drop(r);
        ran?;
        if let Some(e) = error {
            return Err(HandlerError::Failed(anyhow::anyhow!(
                "the handler answered with an error: {e}"
            )));
        }
        if !set {
            return Err(HandlerError::Failed(anyhow::anyhow!(
                "the handler returned without setting a response"
            )));
        }
        if unfinished {
            response.abort();
            return Err(HandlerError::Failed(anyhow::anyhow!(
                "the handler did not finish the response body"
            )));
        }
        Ok(())
    }
}

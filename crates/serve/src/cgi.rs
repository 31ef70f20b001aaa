//! The CGI handler (RFC 3875): an ordinary WASI command answers each
//! request in a fresh instance. The request's metadata is its environment
//! (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `HTTP_*`, ...), its
//! body is stdin, and what it writes to stdout is the response: CGI
//! header fields (`Status:`, `Content-Type:`, `Location:`, ...), a blank
//! line, the body, streamed to the client as it is written (see
//! [`response`]). What the guest writes to stderr (at most
//! [`MAX_STDERR_BYTES`]) goes to the server log as one line after the
//! request, so a handler cannot forge log lines.
//!
//! The module is compiled and its imports resolved once
//! ([`hayate::InstancePre`]) and instantiated once at startup, without
//! calling `_start`, so that a module the limits cannot hold is refused
//! then rather than on every request. Each request gets a new [`Store`] with the
//! configured limits (memory through [`StoreLimits`], an epoch deadline
//! for the timeout, optionally fuel), instantiates, and calls `_start`.
//! Returning, or `proc_exit(0)`, is success; any other exit status, a
//! trap or a malformed response is a failure (a 500, or a cut-off body if
//! the response had already begun); running out of time is a 504. The
//! deadline also bounds how long the handler's writes wait for a client
//! that stopped reading, and how long the guest may sleep in
//! `poll_oneoff` (`WasiCtxBuilder::blocking_deadline`): a sleeping guest
//! wakes once its time is up and stops at its next epoch check.

pub mod response;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hayate::{Engine, ExternType, InstancePre, Linker, Module, Store, StoreLimits, Trap};
use hayate_wasi::{FsPerms, I32Exit, ReadPipe, WasiCtx, WasiCtxBuilder, WritePipe};

use crate::handler::{Handler, HandlerError, Request, ResponseSink};
use response::CgiOutput;

/// How often the server's ticker advances the engine's epoch: the
/// resolution of request timeouts.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The most a handler's stderr keeps for the log, per request.
pub const MAX_STDERR_BYTES: usize = 16 * 1024;

/// A host directory preopened for every request's instance.
#[derive(Debug, Clone)]
pub struct Preopen {
    /// The directory on the host.
    pub host: PathBuf,
    /// Its name in the guest.
    pub guest: String,
    /// Whether the guest may only read and list it.
    pub read_only: bool,
}

/// What every instance of a CGI handler gets besides the request.
#[derive(Debug, Clone, Default)]
pub struct CgiOptions {
    /// The guest's argv after its name (the module's file name).
    pub args: Vec<String>,
    /// Extra environment variables (the request's CGI variables win).
    pub env: Vec<(String, String)>,
    /// Preopened directories.
    pub dirs: Vec<Preopen>,
    /// Wall-clock limit of one request (needs the server's epoch ticker;
    /// `None`: no limit).
    pub timeout: Option<Duration>,
    /// Fuel for one request (the engine must consume fuel).
    pub fuel: Option<u64>,
    /// Memory, table and instance caps of one request's store.
    pub limits: StoreLimits,
    /// Whether a `wasi:http/proxy` handler may make outgoing requests
    /// (`wasi:http/outgoing-handler`); CGI handlers have no network.
    pub outgoing_http: bool,
}

/// The data of one request's store.
struct CgiCtx {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// A WASI command answering requests through CGI.
pub struct CgiHandler {
    pre: InstancePre<CgiCtx>,
    engine: Engine,
    /// The guest's argv[0]: the module's file name, no host path.
    name: String,
    options: CgiOptions,
}

impl std::fmt::Debug for CgiHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CgiHandler")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CgiHandler {
    /// Loads the module at `path` (`.wasm` or `.wat`), checks that it is a
    /// WASI command whose imports WASI provides, and resolves them once.
    pub fn from_file(engine: &Engine, path: &Path, options: CgiOptions) -> Result<CgiHandler> {
        if !path.exists() {
            bail!("cannot read handler `{}`: no such file", path.display());
        }
        let module = Module::from_file(engine, path)
            .with_context(|| format!("cannot load handler `{}`", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        CgiHandler::new(engine, &module, name, options)
            .with_context(|| format!("handler `{}`", path.display()))
    }

    /// A handler running `module`, with `name` as its `argv[0]`.
    pub fn new(
        engine: &Engine,
        module: &Module,
        name: String,
        options: CgiOptions,
    ) -> Result<CgiHandler> {
        match module.exports().find(|e| e.name() == "_start") {
            Some(e) if matches!(e.ty(), ExternType::Func(_)) => {}
            Some(_) => bail!("its `_start` export is not a function"),
            None => bail!(
                "it does not export `_start`: a CGI handler is a WASI command \
                 (a program with a `main`)"
            ),
        }
        for dir in &options.dirs {
            if !dir.host.is_dir() {
                bail!("--dir `{}`: not a directory", dir.host.display());
            }
        }
        let mut linker = Linker::new(engine);
        hayate_wasi::add_to_linker(&mut linker, |ctx: &mut CgiCtx| &mut ctx.wasi)?;
        let missing: Vec<String> = module
            .imports()
            .filter(|i| i.module() != hayate_wasi::MODULE)
            .map(|i| format!("`{}::{}`", i.module(), i.name()))
            .collect();
        if !missing.is_empty() {
            bail!(
                "it imports what a CGI handler does not get (only WASI preview1): {}",
                missing.join(", ")
            );
        }
        let pre = linker.instantiate_pre(module)?;
        // Instantiate once now (without running it), so that a module the
        // limits cannot hold (a memory larger than the cap, a table larger
        // than the pool's slots) is refused at startup, not per request.
        let mut store = Store::new(
            engine,
            CgiCtx {
                wasi: WasiCtx::builder().build(),
                limits: options.limits.clone(),
            },
        );
        store.limiter(|ctx| &mut ctx.limits);
        pre.instantiate(&mut store)
            .context("it cannot be instantiated within the server's limits")?;
        drop(store);
        Ok(CgiHandler {
            pre,
            engine: engine.clone(),
            name,
            options,
        })
    }

    /// The WASI context of one request: argv, the configured environment
    /// and then the CGI variables, the body as stdin, `out` as stdout.
    fn wasi(&self, request: &Request, out: CgiOutput, stderr: WritePipe) -> Result<WasiCtx> {
        let mut b = WasiCtx::builder();
        b.arg(&self.name).args(&self.options.args);
        let cgi = cgi_env(request);
        for (name, value) in &self.options.env {
            if !cgi.iter().any(|(n, _)| n == name) {
                b.env(name, value);
            }
        }
        for (name, value) in &cgi {
            b.env(name, value);
        }
        b.stdin(ReadPipe::new(Cursor::new(request.body.clone())));
        b.stdout(WritePipe::new(out));
        b.stderr(stderr);
        request_wasi(&mut b, &self.options)?;
        Ok(b.build())
    }

    /// Runs the guest for one request; the output's verdict comes after.
    fn run(
        &self,
        request: &Request,
        out: CgiOutput,
        stderr: WritePipe,
    ) -> Result<(), HandlerError> {
        let wasi = self.wasi(request, out, stderr)?;
        let mut store = Store::new(
            &self.engine,
            CgiCtx {
                wasi,
                limits: self.options.limits.clone(),
            },
        );
        store.limiter(|ctx| &mut ctx.limits);
        limit_store(&mut store, &self.options)?;
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|start| start.call(&mut store, ()));
        verdict(result)
    }
}

/// What every handler's WASI context gets from `options` besides the
/// request: the preopened directories, and a blocking deadline. A guest
/// sleeping in `poll_oneoff` or `poll` wakes once its epoch deadline
/// ([`limit_store`], at most two ticks past the timeout) has passed, and
/// traps at its next check: it cannot hold a worker past its time.
pub(crate) fn request_wasi(b: &mut WasiCtxBuilder, options: &CgiOptions) -> Result<()> {
    if let Some(timeout) = options.timeout {
        b.blocking_deadline(std::time::Instant::now() + timeout + 2 * EPOCH_TICK);
    }
    for dir in &options.dirs {
        let perms = if dir.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        b.preopened_dir(&dir.host, &dir.guest, perms)
            .with_context(|| format!("cannot open --dir `{}`", dir.host.display()))?;
    }
    Ok(())
}

/// Sets one request's epoch deadline (the timeout, in ticks of the
/// server's ticker) and fuel on `store`.
pub(crate) fn limit_store<T>(
    store: &mut Store<T>,
    options: &CgiOptions,
) -> Result<(), HandlerError> {
    match options.timeout {
        Some(timeout) => {
            let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64;
            store.set_epoch_deadline(ticks.max(1) + 1);
        }
        None => store.set_epoch_deadline(u64::MAX),
    }
    if let Some(fuel) = options.fuel {
        store.set_fuel(fuel).map_err(HandlerError::Failed)?;
    }
    Ok(())
}

/// How a handler's run ended: returning or exiting with status 0 is
/// success, running out of time a timeout, anything else a failure.
pub(crate) fn verdict(result: anyhow::Result<()>) -> Result<(), HandlerError> {
    let Err(e) = result else {
        return Ok(());
    };
    match e.downcast_ref::<I32Exit>() {
        Some(I32Exit(0)) => Ok(()),
        Some(I32Exit(code)) => Err(HandlerError::Failed(anyhow::anyhow!(
            "the handler exited with status {code}"
        ))),
        None if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => Err(HandlerError::Timeout),
        None => Err(HandlerError::Failed(e)),
    }
}

impl Handler for CgiHandler {
    fn handle(&self, request: Request, response: &mut ResponseSink) -> Result<(), HandlerError> {
        if let Some(timeout) = self.options.timeout {
            response.set_deadline(std::time::Instant::now() + timeout);
        }
        let out = CgiOutput::new(std::mem::take(response));
        let stderr = WritePipe::new_in_memory_with_capacity(MAX_STDERR_BYTES);
        let ran = self.run(&request, out.clone(), stderr.clone());
        let stderr = stderr.contents();
        if !stderr.is_empty() {
            crate::log::stderr(request.method.as_str(), &request.path(), &stderr);
        }
        // The store is gone: `out` is the only handle left.
        let (sink, output) = out.finish();
        *response = sink;
        ran?;
        output.map_err(|why| HandlerError::Failed(anyhow::anyhow!(why)))
    }
}

/// The CGI meta-variables of a request (RFC 3875, section 4.1). Header
/// fields become `HTTP_*` (repeated ones joined with `, `), except those
/// CGI has variables for, credentials (`Authorization`,
/// `Proxy-Authorization`, as the RFC advises), `Proxy` (which would
/// become `HTTP_PROXY`, a variable programs take as their proxy) and
/// names with `_` (which would pass for the `-` spelling: `X_Real_IP`
/// for `X-Real-IP` set by a proxy in front).
pub fn cgi_env(r: &Request) -> Vec<(String, Vec<u8>)> {
    let mut env: Vec<(String, Vec<u8>)> = Vec::new();
    let mut set = |name: &str, value: &[u8]| env.push((name.to_string(), value.to_vec()));
    set("GATEWAY_INTERFACE", b"CGI/1.1");
    set(
        "SERVER_SOFTWARE",
        concat!("hayate/", env!("CARGO_PKG_VERSION")).as_bytes(),
    );
    set("SERVER_PROTOCOL", r.protocol.as_bytes());
    set("REQUEST_METHOD", r.method.as_str().as_bytes());
    set("SCRIPT_NAME", r.script_name.as_bytes());
    set("PATH_INFO", &percent_decode(&r.path_info));
    set("QUERY_STRING", r.query.as_bytes());
    set("REQUEST_URI", r.uri.as_bytes());
    let host = r
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<hyper::http::uri::Authority>().ok())
        .map(|a| a.host().trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| r.local_addr.ip().to_string());
    set("SERVER_NAME", host.as_bytes());
    set("SERVER_PORT", r.local_addr.port().to_string().as_bytes());
    set("REMOTE_ADDR", r.remote_addr.ip().to_string().as_bytes());
    set("REMOTE_PORT", r.remote_addr.port().to_string().as_bytes());
    if !r.body.is_empty() || r.headers.contains_key(hyper::header::CONTENT_LENGTH) {
        set("CONTENT_LENGTH", r.body.len().to_string().as_bytes());
    }
    if let Some(ty) = r.headers.get(hyper::header::CONTENT_TYPE) {
        set("CONTENT_TYPE", ty.as_bytes());
    }
    for name in r.headers.keys() {
        if matches!(
            name.as_str(),
            "content-type" | "content-length" | "authorization" | "proxy-authorization" | "proxy"
        ) || name.as_str().contains('_')
        {
            continue;
        }
        let values: Vec<&[u8]> = r
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        let var = format!(
            "HTTP_{}",
            name.as_str().to_ascii_uppercase().replace('-', "_")
        );
        set(&var, &values.join(&b", "[..]));
    }
    env
}

/// `PATH_INFO` is not URL-encoded (RFC 3875, section 4.1.5): `%XX`
/// becomes the byte it stands for; a `%` not followed by two hex digits
/// stays as it is.
fn percent_decode(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::{HeaderMap, Method};

    #[test]
    fn path_info_is_decoded() {
        assert_eq!(percent_decode("/a%20b/%C3%A9"), "/a b/é".as_bytes());
        assert_eq!(percent_decode("/100%/%zz/%4"), b"/100%/%zz/%4");
    }

    #[test]
    fn cgi_variables() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.org:8080".parse().unwrap());
        headers.insert("content-type", "text/plain".parse().unwrap());
        headers.insert("x-trace-id", "1".parse().unwrap());
        headers.append("accept", "a/b".parse().unwrap());
        headers.append("accept", "c/d".parse().unwrap());
        headers.insert("authorization", "secret".parse().unwrap());
        headers.insert("proxy", "evil".parse().unwrap());
        headers.insert("x_trace_id", "forged".parse().unwrap());
        let request = Request {
            method: Method::POST,
            protocol: "HTTP/1.1",
            script_name: "/app".into(),
            path_info: "/x/y".into(),
            query: "a=1&b=2".into(),
            uri: "/app/x/y?a=1&b=2".into(),
            headers,
            body: bytes::Bytes::from_static(b"hello"),
            remote_addr: "127.0.0.1:5555".parse().unwrap(),
            local_addr: "127.0.0.1:8080".parse().unwrap(),
        };
        let env = cgi_env(&request);
        let get = |name: &str| {
            env.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        };
        assert_eq!(get("REQUEST_METHOD").as_deref(), Some("POST"));
        assert_eq!(get("SCRIPT_NAME").as_deref(), Some("/app"));
        assert_eq!(get("PATH_INFO").as_deref(), Some("/x/y"));
        assert_eq!(get("QUERY_STRING").as_deref(), Some("a=1&b=2"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("5"));
        assert_eq!(get("CONTENT_TYPE").as_deref(), Some("text/plain"));
        assert_eq!(get("SERVER_NAME").as_deref(), Some("example.org"));
        assert_eq!(get("SERVER_PORT").as_deref(), Some("8080"));
        assert_eq!(get("REMOTE_ADDR").as_deref(), Some("127.0.0.1"));
        assert_eq!(get("HTTP_X_TRACE_ID").as_deref(), Some("1"));
        let traces = env.iter().filter(|(n, _)| n == "HTTP_X_TRACE_ID").count();
        assert_eq!(traces, 1, "the `_` spelling must not pass for the `-` one");
        assert_eq!(get("HTTP_ACCEPT").as_deref(), Some("a/b, c/d"));
        assert_eq!(get("HTTP_AUTHORIZATION"), None);
        assert_eq!(get("HTTP_PROXY"), None);
        assert_eq!(get("HTTP_CONTENT_TYPE"), None);
        assert_eq!(get("GATEWAY_INTERFACE").as_deref(), Some("CGI/1.1"));
    }
}

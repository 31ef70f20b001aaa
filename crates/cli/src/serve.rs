//! `hayate serve`: the command-line face of `hayate-serve`. It only parses
//! flags (`-W`/`-O`/`-C` as `hayate run` does, `--dir`, `--env`, the
//! routes and the server's own limits), builds the engine and the CGI
//! handlers, and runs the server until SIGINT or SIGTERM.
//!
//! `hayate serve handler.wasm [ARGS]...` serves one handler at `/` (with
//! ARGS as its argv after its name); `--route /api=api.wasm` mounts more,
//! and the longest matching prefix wins. `-W timeout` is the deadline of
//! one request (default 30 s), `-W max-memory-size` the memory cap of one
//! instance (default 256 MiB), `-W fuel` the fuel of one request.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Arg, ArgAction, ArgMatches, Command};
use hayate::{Config, Engine};
use hayate_serve::{
    CgiHandler, CgiOptions, Handler, Preopen, ProxyHandler, Router, ServeConfig, Server,
};

use crate::options::keys::{parse_duration, parse_size};
use crate::options::{CommonOptions, optional_arg, repeated_arg, strings};
use crate::run::wasi::{Access, split_dir};

/// A request's deadline when `-W timeout` does not say.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// An instance's memory cap when `-W max-memory-size` does not say.
const DEFAULT_MAX_MEMORY: usize = 256 << 20;

/// Arguments of `hayate serve`. Its `clap::Args` is written by hand, one
/// function per argument, to keep debug builds' stack frames small (see
/// `options/args.rs`).
#[derive(Default)]
pub struct ServeArgs {
    options: CommonOptions,
    addr: Option<String>,
    routes: Vec<String>,
    dirs: Vec<String>,
    envs: Vec<String>,
    workers: Option<String>,
    queue: Option<String>,
    max_body_size: Option<String>,
    grace: Option<String>,
    allow_outgoing_http: bool,
    module_and_args: Vec<String>,
}

impl clap::FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = ServeArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.options.update_from_arg_matches(matches)?;
        let one = |id: &str| matches.get_one::<String>(id).cloned();
        self.addr = one("addr");
        self.routes = strings(matches, "route");
        self.dirs = strings(matches, "dir");
        self.envs = strings(matches, "env");
        self.workers = one("workers");
        self.queue = one("queue");
        self.max_body_size = one("max-body-size");
        self.grace = one("grace");
        self.allow_outgoing_http = matches.get_flag("allow-outgoing-http");
        self.module_and_args = strings(matches, "module");
        Ok(())
    }
}

impl clap::Args for ServeArgs {
    fn augment_args(cmd: Command) -> Command {
        let cmd = CommonOptions::augment_args(cmd);
        cmd.arg(optional_arg(
            "addr",
            "ADDR",
            "Listen on ADDR (default 127.0.0.1:8080; port 0 picks a free port)",
        ))
        .arg(repeated_arg(
            "route",
            "PREFIX=MODULE",
            "Serve the requests under PREFIX with the handler MODULE; the longest matching \
             prefix wins (`--route /api=api.wasm`). Repeatable",
        ))
        .arg(repeated_arg(
            "dir",
            "HOST[::GUEST][::ro]",
            "Preopen a host directory for every handler instance, as in `hayate run`. \
             Repeatable",
        ))
        .arg(repeated_arg(
            "env",
            "NAME[=VAL]",
            "Set an environment variable of every handler (`NAME` alone passes the host's \
             value); the request's CGI variables take precedence. Repeatable",
        ))
        .arg(optional_arg(
            "workers",
            "N",
            "Requests handled at once, each in its own instance (default: one per core)",
        ))
        .arg(optional_arg(
            "queue",
            "N",
            "Requests that may wait for a worker; more get 503 (default 64)",
        ))
        .arg(optional_arg(
            "max-body-size",
            "SIZE",
            "Largest request body (`64Ki`, `10Mi`); larger ones get 413 (default 10Mi)",
        ))
        .arg(optional_arg(
            "grace",
            "DURATION",
            "After SIGINT or SIGTERM, how long requests in flight may take to finish \
             (default 10s)",
        ))
        .arg(
            Arg::new("allow-outgoing-http")
                .long("allow-outgoing-http")
                .action(ArgAction::SetTrue)
                .help(
                    "Let wasi:http/proxy handlers make outgoing HTTP requests \
                     (wasi:http/outgoing-handler); refused by default",
                ),
        )
        .arg(module_arg())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The handler served at `/` and its arguments.
#[inline(never)]
fn module_arg() -> Arg {
    Arg::new("module")
        .value_name("MODULE [ARGS]...")
        .action(ArgAction::Append)
        .num_args(1..)
        .trailing_var_arg(true)
        .allow_hyphen_values(true)
        .help(
            "The handler to serve at `/` (a wasi:http/proxy component, or a WASI command \
             speaking CGI), then its arguments; \
             everything after it belongs to the handler, so give `hayate serve` its own \
             options first",
        )
}

/// A `--route PREFIX=MODULE`, split.
fn parse_route(spec: &str) -> Result<(&str, &Path)> {
    match spec.split_once('=') {
        Some((prefix, module)) if prefix.starts_with('/') && !module.is_empty() => {
            Ok((prefix, Path::new(module)))
        }
        _ => bail!("invalid --route `{spec}`: expected PREFIX=MODULE, e.g. `/api=api.wasm`"),
    }
}

/// An optional number flag.
fn number(value: &Option<String>, flag: &str, default: usize) -> Result<usize> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .with_context(|| format!("invalid {flag} `{v}`: expected a number")),
    }
}

/// The `--env` flags, as name and value.
fn envs(specs: &[String]) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for spec in specs {
        match spec.split_once('=') {
            Some(("", _)) => bail!("invalid --env `{spec}`: expected NAME[=VAL]"),
            Some((name, value)) => env.push((name.to_string(), value.to_string())),
            None => {
                if let Ok(value) = std::env::var(spec) {
                    env.push((spec.clone(), value));
                }
            }
        }
    }
    Ok(env)
}

/// The `--dir` flags.
fn preopens(specs: &[String]) -> Result<Vec<Preopen>> {
    specs
        .iter()
        .map(|spec| {
            let (host, guest, access) = split_dir(spec);
            if host.is_empty() || guest.is_empty() {
                bail!("invalid --dir `{spec}`: expected HOST[::GUEST][::ro]");
            }
            if !Path::new(host).is_dir() {
                bail!("cannot open --dir `{host}`: not a directory");
            }
            Ok(Preopen {
                host: host.into(),
                guest: guest.into(),
                read_only: access == Access::ReadOnly,
            })
        })
        .collect()
}

/// Runs the server until SIGINT or SIGTERM.
pub fn execute(args: ServeArgs) -> Result<std::process::ExitCode> {
    let mut options = args.options.parse()?;
    if options.unknown_imports_trap {
        bail!(
            "`-W unknown-imports-trap` is not supported by `hayate serve`: a handler may \
             import only WASI"
        );
    }
    let mut serve = ServeConfig::default();
    if let Some(addr) = &args.addr {
        serve.addr = addr
            .parse()
            .with_context(|| format!("invalid --addr `{addr}`: expected IP:PORT"))?;
    }
    serve.workers = number(&args.workers, "--workers", serve.workers)?;
    if serve.workers == 0 {
        bail!("--workers must be at least 1");
    }
    serve.queue = number(&args.queue, "--queue", serve.queue)?;
    if let Some(size) = &args.max_body_size {
        serve.max_body_size =
            parse_size(size).with_context(|| format!("invalid --max-body-size `{size}`"))? as u64;
    }
    if let Some(grace) = &args.grace {
        serve.grace =
            parse_duration(grace).with_context(|| format!("invalid --grace `{grace}`"))?;
    }
    if let Some(stack) = options.max_wasm_stack {
        // Room for the host calls above the deepest Wasm stack.
        serve.worker_stack_size = serve.worker_stack_size.max(stack.saturating_add(2 << 20));
    }
    let max_memory = *options.max_memory_size.get_or_insert(DEFAULT_MAX_MEMORY);
    let cgi = CgiOptions {
        args: Vec::new(),
        env: envs(&args.envs)?,
        dirs: preopens(&args.dirs)?,
        timeout: Some(options.timeout.unwrap_or(DEFAULT_TIMEOUT)),
        fuel: options.fuel,
        limits: options.store_limits(),
        outgoing_http: args.allow_outgoing_http,
    };

    let mut config = Config::new();
    options.configure(&mut config);
    hayate_serve::configure_engine(&mut config, serve.workers, max_memory, options.pooling);
    let engine = Engine::new(&config).context("cannot create the engine")?;

    let mut router = Router::new();
    if let Some((module, guest_args)) = args.module_and_args.split_first() {
        let options = CgiOptions {
            args: guest_args.to_vec(),
            ..cgi.clone()
        };
        router.route("/", handler_for(&engine, Path::new(module), options)?)?;
    }
    for spec in &args.routes {
        let (prefix, module) = parse_route(spec)?;
        router
            .route(prefix, handler_for(&engine, module, cgi.clone())?)
            .with_context(|| format!("invalid --route `{spec}`"))?;
    }
    if router.is_empty() {
        bail!("nothing to serve: give a handler module, or --route PREFIX=MODULE");
    }
    let mut server = Server::bind(serve, router)?;
    server.tick_epochs(&engine);
    server.run(hayate_serve::shutdown_signal())?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The handler for the file at `path`: a `wasi:http/proxy` component, or
/// a WASI command module speaking CGI.
fn handler_for(engine: &Engine, path: &Path, options: CgiOptions) -> Result<Arc<dyn Handler>> {
    if hayate_serve::proxy::is_component_file(path) {
        return Ok(Arc::new(ProxyHandler::from_file(engine, path, options)?));
    }
    Ok(Arc::new(CgiHandler::from_file(engine, path, options)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let (prefix, module) = parse_route("/api=api.wasm").unwrap();
        assert_eq!((prefix, module), ("/api", Path::new("api.wasm")));
        assert_eq!(parse_route("/=a=b.wasm").unwrap().1, Path::new("a=b.wasm"));
        for bad in ["/api", "api=x.wasm", "/api=", "=x.wasm"] {
            let e = parse_route(bad).unwrap_err().to_string();
            assert!(e.contains("expected PREFIX=MODULE"), "{e}");
        }
    }

    #[test]
    fn env_flags() {
        let env = envs(&[
            "A=1".into(),
            "B=x=y".into(),
            "HAYATE_SURELY_UNSET_VAR".into(),
        ])
        .unwrap();
        assert_eq!(env, [("A".into(), "1".into()), ("B".into(), "x=y".into())]);
        assert!(envs(&["=1".into()]).is_err());
    }
}

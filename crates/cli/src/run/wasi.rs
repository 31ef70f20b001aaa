//! The WASI side of `hayate run`: the `--dir`, `--env` and `--tcplisten`
//! options, the guest's argv (argv[0] is the module's file name, as in
//! Wasmtime, so no host path leaks), and the exit status a guest asks for
//! with `proc_exit`.

use anyhow::{Context, Result, bail};
use clap::Args;
use hayate_wasi::{I32Exit, WasiCtx};
use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;

/// WASI options of `hayate run`, spelled as Wasmtime spells them.
#[derive(Args, Default)]
pub struct WasiOptions {
    /// Give the guest a host directory: `HOST[::GUEST]` (the guest sees it
    /// as GUEST, by default the same path as HOST). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set a guest environment variable: `NAME=VAL`, or `NAME` alone to
    /// pass the host's value (if it has one). Repeatable.
    #[arg(long = "env", value_name = "NAME[=VAL]")]
    envs: Vec<String>,
    /// Listen on a TCP address (`127.0.0.1:8080`) and give the guest the
    /// listening socket as a preopened fd for `sock_accept`. Repeatable.
    #[arg(long = "tcplisten", value_name = "ADDR")]
    tcplisten: Vec<String>,
}

/// Splits `HOST[::GUEST]`.
fn split_dir(spec: &str) -> (&str, &str) {
    match spec.split_once("::") {
        Some((host, guest)) => (host, guest),
        None => (spec, spec),
    }
}

impl WasiOptions {
    /// The guest's WASI context: inherited stdio, argv = module name and
    /// `args`, the environment, listening sockets (fds 3.. first, as
    /// Wasmtime numbers them) and then the preopened directories.
    pub fn build(&self, module: &Path, args: &[String]) -> Result<WasiCtx> {
        let mut b = WasiCtx::builder();
        b.inherit_stdio();
        let name = module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| module.display().to_string());
        b.arg(name).args(args);
        for spec in &self.envs {
            match spec.split_once('=') {
                Some((name, value)) => {
                    b.env(name, value);
                }
                None => {
                    if let Some(value) = std::env::var_os(spec) {
                        use std::os::unix::ffi::OsStrExt;
                        b.env(spec, value.as_bytes());
                    }
                }
            }
        }
        for addr in &self.tcplisten {
            let listener = TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on --tcplisten `{addr}`"))?;
            b.preopened_socket(listener);
        }
        for spec in &self.dirs {
            let (host, guest) = split_dir(spec);
            if host.is_empty() || guest.is_empty() {
                bail!("invalid --dir `{spec}`: expected HOST[::GUEST]");
            }
            b.preopened_dir(host, guest)
                .with_context(|| format!("cannot open --dir `{host}`"))?;
        }
        Ok(b.build())
    }
}

/// The process exit code for a guest that called `proc_exit` (the low 8
/// bits, as a POSIX exit status keeps them).
pub fn exit_code(error: &hayate::Error) -> Option<ExitCode> {
    error
        .downcast_ref::<I32Exit>()
        .map(|exit| ExitCode::from((exit.0 & 0xff) as u8))
}

#[cfg(test)]
mod tests {
    use super::split_dir;

    #[test]
    fn dir_specs() {
        assert_eq!(split_dir("."), (".", "."));
        assert_eq!(split_dir("/tmp/x::/data"), ("/tmp/x", "/data"));
        assert_eq!(split_dir("a::b::c"), ("a", "b::c"));
    }
}

//! The WASI side of `hayate run`: `-S KEY[=VAL]` (Wasmtime's WASI options:
//! `cli`, `inherit-env`, `inherit-stdin`/`-stdout`/`-stderr`, `tcplisten`,
//! and the ones Hayate refuses, with why), `--dir` (with a `::ro` suffix
//! for read-only preopens), `--env`, `--tcplisten`, `--argv0`, the guest's
//! argv (`argv[0]` is the module's file name, as in Wasmtime, so no host path
//! leaks), and the exit status a guest asks for with `proc_exit`.

use anyhow::{Context, Result, bail};
use clap::{ArgMatches, Command};
use hayate::Module;
use hayate_wasi::{FsPerms, I32Exit, WasiCtx};
use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;

use crate::options::keys::{Group, flag, off_only, refused, valued};
use crate::options::{list_arg, optional_arg, repeated_arg, strings};

const NOT_IMPLEMENTED: &str = "this WASI proposal is not implemented by Hayate yet";
const NO_COMPONENTS: &str = "Hayate's component limits are fixed (2^20 handles per component \
                             instance, 2^20 host resources per store) and not set with -S yet";
const NO_P3: &str = "WASI 0.3 (p3, async) is not implemented by Hayate yet";

/// `-S`: WASI options.
pub static WASI: Group = Group {
    flag: "-S",
    long: "wasi",
    summary: "WASI options, e.g. `-S inherit-env`, `-S tcplisten=127.0.0.1:8080`, `-S cli=n`; \
              `-S help` lists them all",
    what: "wasi",
    refused_prefixes: &[],
    keys: &[
        flag(
            "cli",
            "Provide WASI preview1 (default: yes); n provides no WASI at all, so a module \
             importing it is refused.",
        ),
        flag("common", "Deprecated alias for `cli`."),
        flag(
            "inherit-env",
            "Pass the whole host environment to the guest (`--env` still adds and overrides).",
        ),
        flag(
            "inherit-stdin",
            "Inherit stdin (default: yes; n: empty stdin).",
        ),
        flag(
            "inherit-stdout",
            "Inherit stdout (default: yes; n: output discarded).",
        ),
        flag(
            "inherit-stderr",
            "Inherit stderr (default: yes; n: output discarded).",
        ),
        valued(
            "tcplisten",
            "ADDR",
            "Listen on ADDR and give the guest the socket as a preopened fd (same as \
             `--tcplisten`).",
        ),
        flag(
            "preview2",
            "n: preview1 modules run on Hayate's preview1 implementation (components get \
             WASI 0.2); y (preview1 on top of WASI 0.2) is refused.",
        ),
        off_only(
            "preview0",
            "the `wasi_unstable` module is not implemented by Hayate",
        ),
        flag(
            "inherit-network",
            "Let a component's WASI 0.2 sockets bind, connect and listen on any address \
             (default: no: they fail with `access-denied`).",
        ),
        flag(
            "allow-ip-name-lookup",
            "Let a component resolve host names with `wasi:sockets/ip-name-lookup` \
             (default: no).",
        ),
        flag(
            "tcp",
            "Let a component create TCP sockets (default: yes; of use with `inherit-network`).",
        ),
        flag(
            "udp",
            "Let a component create UDP sockets (default: yes; of use with `inherit-network`).",
        ),
        flag(
            "network-error-code",
            "The unstable `wasi:sockets/network.network-error-code` (always provided).",
        ),
        flag(
            "cli-exit-with-code",
            "The unstable `wasi:cli/exit.exit-with-code` (always provided).",
        ),
        off_only("p3", NO_P3),
        off_only("threads", NOT_IMPLEMENTED),
        off_only("nn", NOT_IMPLEMENTED),
        flag(
            "http",
            "Provide `wasi:http` (its types and the outgoing handler) to a component: \
             HTTP/1.1 requests, over TLS for `https` (trusting the system's roots, or \
             `SSL_CERT_FILE`), each within 10 minutes (default: no).",
        ),
        off_only("config", NOT_IMPLEMENTED),
        off_only("keyvalue", NOT_IMPLEMENTED),
        off_only("tls", NOT_IMPLEMENTED),
        off_only(
            "listenfd",
            "not supported yet: use `-S tcplisten=ADDR` to give the guest a listener",
        ),
        refused(
            "cwd",
            "DIR",
            "preview1 has no working directory: guests resolve paths against `--dir` preopens",
        ),
        refused("nn-graph", "FORMAT::DIR", NOT_IMPLEMENTED),
        refused("config-var", "NAME=VAL", NOT_IMPLEMENTED),
        refused("keyvalue-in-memory-data", "NAME=VAL", NOT_IMPLEMENTED),
        refused("http-outgoing-body-buffer-chunks", "N", NOT_IMPLEMENTED),
        refused("http-outgoing-body-chunk-size", "N", NOT_IMPLEMENTED),
        refused("max-http-fields-size", "N", NOT_IMPLEMENTED),
        refused("max-resources", "N", NO_COMPONENTS),
        refused("max-component-handles", "N", NO_COMPONENTS),
        refused("hostcall-fuel", "N", NO_COMPONENTS),
        refused(
            "max-random-size",
            "N",
            "not configurable: Hayate's random_get is bounded by the guest's memory",
        ),
    ],
};

/// WASI options of `hayate run`, spelled as Wasmtime spells them. Its
/// `clap::Args` is written by hand, one function per argument, to keep
/// debug builds' stack frames small (see `options/args.rs`).
#[derive(Default)]
pub struct WasiOptions {
    /// `-S` lists.
    wasi: Vec<String>,
    /// `--dir HOST[::GUEST][::ro]`.
    dirs: Vec<String>,
    /// `--env NAME[=VAL]`.
    envs: Vec<String>,
    /// `--tcplisten ADDR`.
    tcplisten: Vec<String>,
    /// `--argv0 NAME`.
    argv0: Option<String>,
    /// `--preload NAME=MODULE_PATH`: not WASI, but like it an import
    /// module the guest's imports may name.
    preloads: Vec<String>,
}

impl clap::FromArgMatches for WasiOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut options = WasiOptions::default();
        options.update_from_arg_matches(matches)?;
        Ok(options)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.wasi = strings(matches, WASI.long);
        self.dirs = strings(matches, "dir");
        self.envs = strings(matches, "env");
        self.tcplisten = strings(matches, "tcplisten");
        self.argv0 = matches.get_one::<String>("argv0").cloned();
        self.preloads = strings(matches, "preload");
        Ok(())
    }
}

impl clap::Args for WasiOptions {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(list_arg(&WASI))
            .arg(repeated_arg(
                "dir",
                "HOST[::GUEST][::ro]",
                "Give the guest a host directory, seen as GUEST (by default the same path \
                 as HOST). Append `::ro` for a read-only preopen the guest can read and list \
                 but not change: `--dir ./data::/data::ro` (or `--dir ./data::ro`). Repeatable",
            ))
            .arg(repeated_arg(
                "env",
                "NAME[=VAL]",
                "Set a guest environment variable: `NAME=VAL`, or `NAME` alone to pass the \
                 host's value (if it has one). Repeatable",
            ))
            .arg(repeated_arg(
                "tcplisten",
                "ADDR",
                "The same as `-S tcplisten=ADDR`: listen on a TCP address (`127.0.0.1:8080`) \
                 and give the guest the listening socket as a preopened fd for `sock_accept`. \
                 Repeatable",
            ))
            .arg(repeated_arg(
                "preload",
                "NAME=MODULE_PATH",
                "Instantiate another module and give its exports to the guest as the import \
                 module NAME. Repeatable.",
            ))
            .arg(optional_arg(
                "argv0",
                "NAME",
                "The guest's argv[0] (default: the module's file name)",
            ))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// What the `-S` flags ask for.
#[derive(Debug, PartialEq, Eq)]
struct WasiFlags {
    cli: bool,
    inherit_env: bool,
    inherit_stdin: bool,
    inherit_stdout: bool,
    inherit_stderr: bool,
    tcplisten: Vec<String>,
    inherit_network: bool,
    allow_ip_name_lookup: bool,
    tcp: bool,
    udp: bool,
    http: bool,
}

/// Parses the `-S` flags.
fn parse_flags(flags: &[String]) -> Result<WasiFlags> {
    let mut f = WasiFlags {
        cli: true,
        inherit_env: false,
        inherit_stdin: true,
        inherit_stdout: true,
        inherit_stderr: true,
        tcplisten: Vec::new(),
        inherit_network: false,
        allow_ip_name_lookup: false,
        tcp: true,
        udp: true,
        http: false,
    };
    for item in WASI.items(flags)? {
        match item.key {
            "cli" | "common" => f.cli = item.bool()?,
            "inherit-env" => f.inherit_env = item.bool()?,
            "inherit-stdin" => f.inherit_stdin = item.bool()?,
            "inherit-stdout" => f.inherit_stdout = item.bool()?,
            "inherit-stderr" => f.inherit_stderr = item.bool()?,
            "tcplisten" => f.tcplisten.push(item.required()?.to_string()),
            "inherit-network" => f.inherit_network = item.bool()?,
            "allow-ip-name-lookup" => f.allow_ip_name_lookup = item.bool()?,
            "tcp" => f.tcp = item.bool()?,
            "udp" => f.udp = item.bool()?,
            "http" => f.http = item.bool()?,
            // Always available; accepted for Wasmtime's command lines.
            "network-error-code" | "cli-exit-with-code" => {
                item.bool()?;
            }
            "preview2" => {
                if item.bool()? {
                    bail!(
                        "`-S preview2=y` is not supported: Hayate runs preview1 modules on its \
                         own preview1 implementation, not on WASI 0.2 (components get WASI \
                         0.2; `-S preview2=n` is accepted)"
                    );
                }
            }
            name => unreachable!("`-S {name}` is in the table but not handled"),
        }
    }
    Ok(f)
}

/// Whether a `--dir` is read-write or read-only (`::ro`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    ReadOnly,
}

impl Access {
    /// The permissions the guest gets on the directory and below.
    fn perms(self) -> FsPerms {
        match self {
            Access::ReadWrite => FsPerms::ReadWrite,
            Access::ReadOnly => FsPerms::ReadOnly,
        }
    }
}

/// A `--dir` argument: host path, guest path, access.
pub(crate) fn split_dir(spec: &str) -> (&str, &str, Access) {
    let (rest, perms) = match spec.strip_suffix("::ro") {
        Some(rest) => (rest, Access::ReadOnly),
        None => (spec.strip_suffix("::rw").unwrap_or(spec), Access::ReadWrite),
    };
    match rest.split_once("::") {
        Some((host, guest)) => (host, guest, perms),
        None => (rest, rest, perms),
    }
}

impl WasiOptions {
    /// The guest's WASI context: stdio (inherited unless `-S` says not),
    /// argv = `--argv0` or the module name, then `args`; the environment
    /// (`-S inherit-env` first, then `--env`); listening sockets (fds 3..
    /// first, as Wasmtime numbers them) and then the preopened directories.
    /// With `-S cli=n` WASI is not provided: a module that imports it is
    /// refused.
    /// The guest's WASI context; `module` is `None` for a component.
    pub fn build(&self, module: Option<&Module>, path: &Path, args: &[String]) -> Result<WasiCtx> {
        let flags = parse_flags(&self.wasi)?;
        if flags.http && module.is_some() {
            bail!("`-S http` provides `wasi:http` to components, and this is a core module");
        }
        if !flags.cli {
            let wasi: Vec<String> = module
                .iter()
                .flat_map(|m| m.imports())
                .filter(|i| i.module() == "wasi_snapshot_preview1")
                .map(|i| format!("`{}::{}`", i.module(), i.name()))
                .collect();
            if !wasi.is_empty() {
                let more = match wasi.len() {
                    n @ 4.. => format!(" and {} more", n - 3),
                    _ => String::new(),
                };
                bail!(
                    "module imports WASI ({}{more}), which `-S cli=n` turns off",
                    wasi[..wasi.len().min(3)].join(", ")
                );
            }
        }
        let mut b = WasiCtx::builder();
        if flags.inherit_stdin {
            b.inherit_stdin();
        }
        if flags.inherit_stdout {
            b.inherit_stdout();
        }
        if flags.inherit_stderr {
            b.inherit_stderr();
        }
        b.inherit_network(flags.inherit_network)
            .allow_ip_name_lookup(flags.allow_ip_name_lookup)
            .allow_tcp(flags.tcp)
            .allow_udp(flags.udp);
        let name = match &self.argv0 {
            Some(name) => name.clone(),
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
        };
        b.arg(name).args(args);
        if flags.inherit_env {
            b.inherit_env();
        }
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
        let listeners = flags
            .tcplisten
            .iter()
            .map(|addr| (addr, format!("`-S tcplisten={addr}`")))
            .chain(
                self.tcplisten
                    .iter()
                    .map(|addr| (addr, format!("--tcplisten `{addr}`"))),
            );
        for (addr, flag) in listeners {
            let listener =
                TcpListener::bind(addr).with_context(|| format!("cannot listen on {flag}"))?;
            b.preopened_socket(listener);
        }
        for spec in &self.dirs {
            let (host, guest, access) = split_dir(spec);
            if host.is_empty() || guest.is_empty() {
                bail!("invalid --dir `{spec}`: expected HOST[::GUEST][::ro]");
            }
            b.preopened_dir(host, guest, access.perms())
                .with_context(|| format!("cannot open --dir `{host}`"))?;
        }
        Ok(b.build())
    }
}

impl WasiOptions {
    /// Whether `-S http` asks for `wasi:http` (for a component).
    pub fn http(&self) -> Result<bool> {
        Ok(parse_flags(&self.wasi)?.http)
    }

    /// The `--preload NAME=MODULE_PATH` arguments, split.
    pub fn preloads(&self) -> Result<Vec<(&str, &Path)>> {
        self.preloads
            .iter()
            .map(|spec| match spec.split_once('=') {
                Some((name, path)) if !name.is_empty() && !path.is_empty() => {
                    Ok((name, Path::new(path)))
                }
                _ => bail!("invalid --preload `{spec}`: expected NAME=MODULE_PATH"),
            })
            .collect()
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
    use super::*;

    #[test]
    fn dir_specs() {
        use Access::{ReadOnly, ReadWrite};
        assert_eq!(split_dir("."), (".", ".", ReadWrite));
        assert_eq!(split_dir("/tmp/x::/data"), ("/tmp/x", "/data", ReadWrite));
        assert_eq!(split_dir("a::b::c"), ("a", "b::c", ReadWrite));
        assert_eq!(
            split_dir("/tmp/x::/data::ro"),
            ("/tmp/x", "/data", ReadOnly)
        );
        assert_eq!(split_dir("./d::ro"), ("./d", "./d", ReadOnly));
        assert_eq!(split_dir("a::ro::rw"), ("a", "ro", ReadWrite));
        assert_eq!(split_dir("a::b::rw"), ("a", "b", ReadWrite));
    }

    fn flags(s: &[&str]) -> Result<WasiFlags> {
        parse_flags(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn wasi_flags() {
        let f = flags(&[]).unwrap();
        assert!(f.cli && !f.inherit_env && f.inherit_stdin && f.inherit_stdout);
        let f = flags(&["inherit-env,cli=y", "tcplisten=127.0.0.1:0"]).unwrap();
        assert!(f.inherit_env && f.cli);
        assert_eq!(f.tcplisten, ["127.0.0.1:0"]);
        assert!(!flags(&["cli=n"]).unwrap().cli);
        assert!(!flags(&["common=no"]).unwrap().cli);
        let f = flags(&["inherit-stdin=n,inherit-stdout=n,inherit-stderr=n"]).unwrap();
        assert!(!f.inherit_stdin && !f.inherit_stdout && !f.inherit_stderr);
        assert!(flags(&["preview2=n,inherit-network=n,threads=n"]).is_ok());
        assert!(!f.inherit_network && !f.allow_ip_name_lookup && f.tcp && f.udp);
        let f = flags(&["inherit-network,allow-ip-name-lookup=y,tcp=n,udp=no"]).unwrap();
        assert!(f.inherit_network && f.allow_ip_name_lookup && !f.tcp && !f.udp);
    }

    #[test]
    fn wasi_flag_errors() {
        let e = |s: &str| format!("{:#}", flags(&[s]).unwrap_err());
        assert!(e("preview2=y").contains("own preview1 implementation"));
        assert!(e("p3").contains("WASI 0.3"));
        assert!(flags(&["http"]).unwrap().http && !flags(&[]).unwrap().http);
        assert!(flags(&["network-error-code,cli-exit-with-code=y"]).is_ok());
        assert!(e("inherit-network=maybe").contains("invalid value"));
        assert!(e("nn").contains("not implemented by Hayate yet"));
        assert!(e("cwd=/").contains("not supported"));
        assert!(e("inherit-evn").contains("`-S inherit-env`"));
        assert!(e("tcplisten").contains("needs a value"));
        assert!(e("cli=maybe").contains("invalid value"));
    }
}

//! `WasiCtxBuilder` and `WasiCtx`: a guest's arguments, environment,
//! standard streams, preopened directories and sockets, and its fd table.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use cap_std::fs::Dir;

use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::perms::{FsPerms, preopen_rights};
use crate::stdio::{Input, Output, ReadPipe, WritePipe, host_filetype};
use crate::table::{DirHandle, Entry, FdTable, Kind};
use crate::types::{filetype, rights};

/// The WASI state of one guest: build it with [`WasiCtxBuilder`], keep it
/// in the store's data, and give [`crate::add_to_linker`] a way to reach it.
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) table: FdTable,
    /// When set, no call blocks past this instant
    /// ([`WasiCtxBuilder::blocking_deadline`]).
    pub(crate) blocking_deadline: Option<std::time::Instant>,
    /// Set by `poll_oneoff` when it returned because `blocking_deadline`
    /// passed with nothing ready; the call then stops the guest.
    pub(crate) blocking_deadline_passed: bool,
    /// WASI 0.2's host resources (streams, pollables, descriptors).
    pub(crate) p2: hayate_component::ResourceTable,
    /// What the guest may do with the network (see the network policy
    /// block below).
    pub(crate) net: NetPolicy,
    /// What the guest holds of the network now.
    pub(crate) net_use: NetUse,
}

impl WasiCtx {
    /// A builder with no arguments, no environment, empty stdin, discarded
    /// stdout and stderr, and no preopens.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The table of WASI 0.2 host resources (streams, pollables,
    /// descriptors), for hosts that add interfaces of their own on top
    /// (`wasi:http`'s bodies are `wasi:io` streams).
    pub fn resource_table(&mut self) -> &mut hayate_component::ResourceTable {
        &mut self.p2
    }

    /// The guest-visible number of every open fd.
    pub fn open_fds(&self) -> Vec<i32> {
        self.table.fds().collect()
    }
}

/// Writes `strings` the way `args_get`/`environ_get` return them: an array
/// of pointers at `ptrs`, NUL-terminated bytes from `buf` on.
fn write_strings(
    mem: &mut GuestMemory,
    strings: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> WasiResult<()> {
    let (_, size) = sizes(strings)?;
    mem.check(
        ptrs,
        (strings.len() as u32).checked_mul(4).ok_or(Errno::Fault)?,
        4,
    )?;
    mem.slice(buf, size)?;
    // Positions as u64: the end of the last string may be exactly 4 GiB.
    let mut at = u64::from(buf);
    for (i, s) in strings.iter().enumerate() {
        mem.write_u32(ptrs + 4 * i as u32, at as u32)?;
        mem.write_bytes(at as u32, s)?;
        mem.write_u8((at + s.len() as u64) as u32, 0)?;
        at += s.len() as u64 + 1;
    }
    Ok(())
}

/// The count of `strings` and the bytes they take with their NULs.
fn sizes(strings: &[Vec<u8>]) -> WasiResult<(u32, u32)> {
    let count = u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?;
    let size = strings
        .iter()
        .try_fold(0u32, |acc, s| {
            u32::try_from(s.len())
                .ok()
                .and_then(|n| acc.checked_add(n)?.checked_add(1))
        })
        .ok_or(Errno::Overflow)?;
    Ok((count, size))
}

impl WasiCtx {
    pub(crate) fn args_sizes_get(
        &mut self,
        mem: &mut GuestMemory,
        argc: u32,
        size: u32,
    ) -> WasiResult<()> {
        let (n, bytes) = sizes(&self.args)?;
        mem.check(argc, 4, 4)?;
        mem.check(size, 4, 4)?;
        mem.write_u32(argc, n)?;
        mem.write_u32(size, bytes)
    }

    pub(crate) fn args_get(
        &mut self,
        mem: &mut GuestMemory,
        argv: u32,
        buf: u32,
    ) -> WasiResult<()> {
        write_strings(mem, &self.args, argv, buf)
    }

    pub(crate) fn environ_sizes_get(
        &mut self,
        mem: &mut GuestMemory,
        count: u32,
        size: u32,
    ) -> WasiResult<()> {
        let (n, bytes) = sizes(&self.env)?;
        mem.check(count, 4, 4)?;
        mem.check(size, 4, 4)?;
        mem.write_u32(count, n)?;
        mem.write_u32(size, bytes)
    }

    pub(crate) fn environ_get(
        &mut self,
        mem: &mut GuestMemory,
        environ: u32,
        buf: u32,
    ) -> WasiResult<()> {
        write_strings(mem, &self.env, environ, buf)
    }
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args.len())
            .field("env", &self.env.len())
            .field("fds", &self.open_fds())
            .finish()
    }
}

enum Preopen {
    Dir {
        dir: Dir,
        guest: String,
        /// `(base, inheriting)` rights.
        rights: (u64, u64),
    },
    Socket(TcpListener),
}

/// Builds a [`WasiCtx`]. Preopens get fds from 3 on, in the order they were
/// added.
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    preopens: Vec<Preopen>,
    blocking_deadline: Option<std::time::Instant>,
    net: NetPolicy,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl WasiCtxBuilder {
    /// An empty builder (see [`WasiCtx::builder`]).
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::Pipe(ReadPipe::from_bytes(Vec::new())),
            stdout: Output::Pipe(WritePipe::new(io::sink())),
            stderr: Output::Pipe(WritePipe::new(io::sink())),
            preopens: Vec::new(),
            blocking_deadline: None,
            net: NetPolicy::default(),
        }
    }

    /// Bounds how long the guest's calls may block: past `deadline`,
    /// `poll_oneoff` stops sleeping; if something is ready then it returns
    /// it, and otherwise it stops the guest with `Trap::Interrupt`, as an
    /// expired epoch deadline would. Pair it with an epoch deadline or fuel
    /// on the store, which stop a guest that computes rather than sleeps,
    /// so no guest can hold its thread past its time. Without it, calls
    /// block as a process would.
    pub fn blocking_deadline(&mut self, deadline: std::time::Instant) -> &mut Self {
        self.blocking_deadline = Some(deadline);
        self
    }

    /// Appends one argument (the first is the program's name, `argv[0]`).
    pub fn arg(&mut self, arg: impl AsRef<[u8]>) -> &mut Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Appends several arguments (a slice, as Wasmtime's builder takes).
    pub fn args(&mut self, args: &[impl AsRef<[u8]>]) -> &mut Self {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets environment variable `name` to `value`.
    pub fn env(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        let name = name.as_ref();
        self.env
            .retain(|e| !(e.starts_with(name) && e.get(name.len()) == Some(&b'=')));
        let mut e = name.to_vec();
        e.push(b'=');
        e.extend_from_slice(value.as_ref());
        self.env.push(e);
        self
    }

    /// Sets several environment variables (a slice, as Wasmtime's builder
    /// takes).
    pub fn envs(&mut self, vars: &[(impl AsRef<[u8]>, impl AsRef<[u8]>)]) -> &mut Self {
        for (n, v) in vars {
            self.env(n, v);
        }
        self
    }

    /// Passes the host process's own arguments (`std::env::args`), its
    /// name first.
    pub fn inherit_args(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStrExt;
        for a in std::env::args_os() {
            self.arg(a.as_bytes());
        }
        self
    }

    /// Passes the host process's whole environment.
    pub fn inherit_env(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStrExt;
        for (n, v) in std::env::vars_os() {
            self.env(n.as_bytes(), v.as_bytes());
        }
        self
    }

    /// Reads stdin from `pipe` (a [`ReadPipe`] or a
    /// [`crate::pipe::MemoryInputPipe`]).
    pub fn stdin(&mut self, pipe: impl Into<ReadPipe>) -> &mut Self {
        self.stdin = Input::Pipe(pipe.into());
        self
    }

    /// Writes stdout to `pipe` (a [`WritePipe`] or a
    /// [`crate::pipe::MemoryOutputPipe`]).
    pub fn stdout(&mut self, pipe: impl Into<WritePipe>) -> &mut Self {
        self.stdout = Output::Pipe(pipe.into());
        self
    }

    /// Writes stderr to `pipe`.
    pub fn stderr(&mut self, pipe: impl Into<WritePipe>) -> &mut Self {
        self.stderr = Output::Pipe(pipe.into());
        self
    }

    /// Uses the host process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = Input::Host;
        self
    }

    /// Uses the host process's stdout.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout = Output::HostStdout;
        self
    }

    /// Uses the host process's stderr.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr = Output::HostStderr;
        self
    }

    /// Uses the host process's stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Opens the host directory `host` now and preopens it for the guest as
    /// `guest`, read-write or read-only (`perms`). Fails if the directory
    /// cannot be opened. The same signature as Wasmtime 49's.
    pub fn preopened_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: impl AsRef<str>,
        perms: FsPerms,
    ) -> io::Result<&mut Self> {
        let dir = Dir::open_ambient_dir(host.as_ref(), cap_std::ambient_authority())?;
        Ok(self.preopened_cap_dir(dir, guest, perms))
    }

    /// Preopens an already opened `cap_std` directory as `guest`.
    pub fn preopened_cap_dir(
        &mut self,
        dir: Dir,
        guest: impl AsRef<str>,
        perms: FsPerms,
    ) -> &mut Self {
        self.preopens.push(Preopen::Dir {
            dir,
            guest: guest.as_ref().to_string(),
            rights: preopen_rights(perms),
        });
        self
    }

    /// Preopens a listening TCP socket, for `sock_accept`.
    pub fn preopened_socket(&mut self, listener: TcpListener) -> &mut Self {
        self.preopens.push(Preopen::Socket(listener));
        self
    }

    /// The context, by the name Wasmtime's WASIp1 API uses (the same as
    /// [`WasiCtxBuilder::build`]).
    pub fn build_p1(&mut self) -> crate::p1::WasiP1Ctx {
        self.build()
    }

    /// The context. The builder is left empty.
    pub fn build(&mut self) -> WasiCtx {
        let this = std::mem::take(self);
        let mut table = FdTable::default();
        let stream = |kind: Kind, ft: u8, base: u64| Entry::new(kind, ft, base, 0);
        let ft = host_filetype(this.stdin.host_fd());
        table.insert_at(
            0,
            stream(
                Kind::Input(this.stdin),
                ft,
                stream_rights(ft, rights::FD_READ),
            ),
        );
        let ft = host_filetype(this.stdout.host_fd());
        table.insert_at(
            1,
            stream(
                Kind::Output(this.stdout),
                ft,
                stream_rights(ft, rights::FD_WRITE),
            ),
        );
        let ft = host_filetype(this.stderr.host_fd());
        table.insert_at(
            2,
            stream(
                Kind::Output(this.stderr),
                ft,
                stream_rights(ft, rights::FD_WRITE),
            ),
        );
        for (next, p) in (3..).zip(this.preopens) {
            let entry = match p {
                Preopen::Dir {
                    dir,
                    guest,
                    rights: (base, inheriting),
                } => {
                    let mut e = Entry::new(
                        Kind::Dir(DirHandle { dir, listing: None }),
                        filetype::DIRECTORY,
                        base,
                        inheriting,
                    );
                    e.preopen = Some(guest.into_bytes());
                    e
                }
                Preopen::Socket(l) => Entry::new(
                    Kind::Listener(l),
                    filetype::SOCKET_STREAM,
                    rights::LISTENER,
                    rights::SOCKET,
                ),
            };
            table.insert_at(next, entry);
        }
        WasiCtx {
            args: this.args,
            env: this.env,
            table,
            blocking_deadline: this.blocking_deadline,
            blocking_deadline_passed: false,
            p2: hayate_component::ResourceTable::new(),
            net: this.net,
            net_use: NetUse::default(),
        }
    }
}

// ===== Network policy (WASI 0.2 `wasi:sockets`) ==========================
//
// Everything the builder and the context know about the network lives in
// this block; `p2/sockets` enforces it. The default denies: sockets may be
// created, but binding, connecting and listening fail with `access-denied`
// until the embedder calls `inherit_network(true)`, and name lookups fail
// until it calls `allow_ip_name_lookup(true)`.

/// What a guest is about to use a socket address for, as told to a
/// [`WasiCtxBuilder::socket_addr_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketAddrUse {
    /// Binding a TCP socket to the address: explicitly, or implicitly by
    /// connecting an unbound socket (then the address is the unspecified
    /// one, `0.0.0.0:0` or `[::]:0`).
    TcpBind,
    /// Connecting a TCP socket to the address.
    TcpConnect,
    /// Binding a UDP socket to the address.
    UdpBind,
    /// Restricting a UDP socket's streams to the remote address.
    UdpConnect,
    /// Sending a datagram to the address.
    UdpOutgoingDatagram,
}

/// The most sockets (TCP and UDP, accepted ones included) one guest holds
/// at once; creating or accepting more fails with `new-socket-limit`, so a
/// guest cannot exhaust the host's fds.
pub(crate) const MAX_SOCKETS: usize = 1024;

/// The most name lookups one guest may have running at once (each runs on
/// a thread of its own); more fail with `temporary-resolver-failure`.
pub(crate) const MAX_LOOKUPS: usize = 16;

type AddrCheck = std::sync::Arc<dyn Fn(SocketAddr, SocketAddrUse) -> bool + Send + Sync>;

/// What a guest may do with the network.
#[derive(Clone)]
pub(crate) struct NetPolicy {
    /// Whether sockets may bind, connect and listen at all.
    pub(crate) inherit_network: bool,
    /// Whether `ip-name-lookup` resolves names.
    pub(crate) ip_name_lookup: bool,
    /// Whether TCP sockets may be created.
    pub(crate) tcp: bool,
    /// Whether UDP sockets may be created.
    pub(crate) udp: bool,
    /// A further check of every address used, if set.
    pub(crate) addr_check: Option<AddrCheck>,
}

impl Default for NetPolicy {
    fn default() -> Self {
        NetPolicy {
            inherit_network: false,
            ip_name_lookup: false,
            tcp: true,
            udp: true,
            addr_check: None,
        }
    }
}

impl NetPolicy {
    /// Whether the guest may use `addr` for `usage`: only with network
    /// access, and only if the address check (if any) agrees.
    pub(crate) fn allows(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        self.inherit_network && self.addr_check.as_ref().is_none_or(|f| f(addr, usage))
    }
}

/// What a guest holds of the network now.
#[derive(Default)]
pub(crate) struct NetUse {
    /// Open sockets, at most [`MAX_SOCKETS`].
    pub(crate) sockets: usize,
    /// Name lookups still running (their threads decrement it).
    pub(crate) lookups: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl WasiCtxBuilder {
    /// Lets the guest's WASI 0.2 sockets bind, connect and listen on any
    /// address the host can (narrowed by
    /// [`WasiCtxBuilder::socket_addr_check`] if set). Off by default:
    /// every bind and connect fails with `access-denied`. A guest holds at
    /// most 1024 sockets at once (more fail with `new-socket-limit`).
    pub fn inherit_network(&mut self, allow: bool) -> &mut Self {
        self.net.inherit_network = allow;
        self
    }

    /// Lets the guest resolve host names (`wasi:sockets/ip-name-lookup`),
    /// with the host's resolver. Off by default: lookups fail with
    /// `permanent-resolver-failure`.
    pub fn allow_ip_name_lookup(&mut self, allow: bool) -> &mut Self {
        self.net.ip_name_lookup = allow;
        self
    }

    /// Whether the guest may create TCP sockets (default: yes; they are
    /// of use only with [`WasiCtxBuilder::inherit_network`]). When not,
    /// `create-tcp-socket` fails with `access-denied`.
    pub fn allow_tcp(&mut self, allow: bool) -> &mut Self {
        self.net.tcp = allow;
        self
    }

    /// Whether the guest may create UDP sockets (default: yes; they are
    /// of use only with [`WasiCtxBuilder::inherit_network`]). When not,
    /// `create-udp-socket` fails with `access-denied`.
    pub fn allow_udp(&mut self, allow: bool) -> &mut Self {
        self.net.udp = allow;
        self
    }

    /// Asks `check` about every address a guest binds, connects or sends
    /// a datagram to; `false` makes the operation fail with
    /// `access-denied`. It narrows [`WasiCtxBuilder::inherit_network`],
    /// never widens it: without network access nothing is allowed,
    /// whatever `check` says.
    pub fn socket_addr_check(
        &mut self,
        check: impl Fn(SocketAddr, SocketAddrUse) -> bool + Send + Sync + 'static,
    ) -> &mut Self {
        self.net.addr_check = Some(std::sync::Arc::new(check));
        self
    }
}

// ===== End of the network policy ==========================================

/// The rights of a standard stream: reading or writing, never seeking (a
/// terminal must not look seekable: `isatty` in wasi-libc relies on that).
fn stream_rights(ft: u8, rw: u64) -> u64 {
    let _ = ft;
    rw | rights::FD_FDSTAT_SET_FLAGS | rights::FD_FILESTAT_GET | rights::POLL_FD_READWRITE
}

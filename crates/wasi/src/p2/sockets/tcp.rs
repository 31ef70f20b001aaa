//! `wasi:sockets/tcp` and `tcp-create-socket`: the `tcp-socket` state
//! machine (unbound, bound, connecting, connected, listening, closed) on
//! a non-blocking host socket, the input and output streams of a
//! connection, and the socket's pollable.
//!
//! `start-bind` and `start-listen` do their work at once (their `finish-`
//! only ends the operation); `start-connect` starts a non-blocking
//! connect, `finish-connect` returns `would-block` until it completes,
//! and the socket's pollable is ready when it has. `accept` never blocks
//! (`would-block` without a pending connection; the pollable waits for
//! one). A connection's streams are children of its socket, as are the
//! socket's pollables, so the socket is dropped last.
//!
//! Reads return at most 64 KiB at once; writes are sent without blocking
//! and what the kernel does not take yet is kept (at most one
//! `check-write` permit, 64 KiB) until `flush`, which waits until the
//! kernel took it all (or the context's blocking deadline passes).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hayate_component::{Linker, Resource, Val};
use rustix::io::Errno as RErrno;
use rustix::net::{RecvFlags, SendFlags, Shutdown, SocketFlags, SocketType, sockopt};

use super::{
    Code, Family, SockResult, bind_error, buffer_size, check, fd_ready, func, hop_limit, host_addr,
    is_remote, is_unicast, network_arg, new_socket, release_socket, reserve_socket, result,
    set_buffer_size, set_hop_limit, socket_addr, socket_addr_val, u8_of, u32_of, wait_fd,
};
use crate::ctx::{NetPolicy, SocketAddrUse, WasiCtx};
use crate::p2::io::{
    HostInputStream, HostOutputStream, HostPollable, InputStream, OutputStream, Pollable,
    StreamError,
};
use crate::p2::{GetCtx, arg, arg_res, arg_u64, handle, interface, ok, resource};

/// The most bytes one read returns.
const READ_CHUNK: usize = 64 << 10;
/// What `check-write` permits when the stream has nothing pending.
const WRITE_CHUNK: usize = 64 << 10;
/// The listen backlog unless the guest sets one.
const DEFAULT_BACKLOG: u64 = 128;
/// The largest listen backlog a guest may ask for (larger is clamped).
const MAX_BACKLOG: u64 = 4096;
/// The shortest and longest keep-alive times a guest may set (others are
/// clamped), and the most keep-alive probes.
const MIN_KEEPALIVE: Duration = Duration::from_secs(1);
const MAX_KEEPALIVE: Duration = Duration::from_secs(i16::MAX as u64);
const MAX_KEEPALIVE_COUNT: u32 = 127;

/// An operation started and not finished yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Bind,
    Connect,
    Listen,
}

enum State {
    Unbound,
    Bound,
    Connecting,
    Connected(Arc<Conn>),
    Listening,
    /// A connect failed: only dropping is left.
    Closed,
}

/// What the socket's pollables wait for.
const WATCH_NOTHING: u8 = 0;
const WATCH_CONNECT: u8 = 1;
const WATCH_ACCEPT: u8 = 2;

/// `tcp-socket`.
pub(crate) struct TcpSocket {
    fd: Arc<OwnedFd>,
    family: Family,
    state: State,
    pending: Option<Op>,
    backlog: u64,
    /// One of the `WATCH_` values, shared with the pollables.
    watch: Arc<AtomicU8>,
}

/// A connection, shared by its socket and its streams.
struct Conn {
    fd: Arc<OwnedFd>,
    /// Set by `shutdown(receive)`: the input stream has ended.
    read_shut: AtomicBool,
    /// Set by `shutdown(send)`: the output stream is closed.
    write_shut: AtomicBool,
}

impl TcpSocket {
    fn new(fd: Arc<OwnedFd>, family: Family, state: State) -> TcpSocket {
        TcpSocket {
            fd,
            family,
            state,
            pending: None,
            backlog: DEFAULT_BACKLOG,
            watch: Arc::new(AtomicU8::new(WATCH_NOTHING)),
        }
    }

    /// The host socket, for options; a closed socket has none to offer.
    fn open_fd(&self) -> SockResult<&OwnedFd> {
        match self.state {
            State::Closed => Err(Code::InvalidState),
            _ => Ok(&self.fd),
        }
    }

    fn start_bind(&mut self, net: &NetPolicy, addr: std::net::SocketAddr) -> SockResult<()> {
        if self.pending.is_some() {
            return Err(Code::ConcurrencyConflict);
        }
        if !matches!(self.state, State::Unbound) {
            return Err(Code::InvalidState);
        }
        if !is_unicast(addr.ip()) || !self.family.accepts(addr.ip()) {
            return Err(Code::InvalidArgument);
        }
        check(net, addr, SocketAddrUse::TcpBind)?;
        // A bound port must not be held up by an earlier socket's
        // TIME_WAIT (what WASI asks of implementations).
        let _ = sockopt::set_socket_reuseaddr(&*self.fd, true);
        rustix::net::bind(&*self.fd, &addr).map_err(bind_error)?;
        self.state = State::Bound;
        self.pending = Some(Op::Bind);
        Ok(())
    }

    fn start_connect(&mut self, net: &NetPolicy, addr: std::net::SocketAddr) -> SockResult<()> {
        if self.pending.is_some() {
            return Err(Code::ConcurrencyConflict);
        }
        let bound = match self.state {
            State::Unbound => false,
            State::Bound => true,
            _ => return Err(Code::InvalidState),
        };
        if !is_unicast(addr.ip()) || !is_remote(addr) || !self.family.accepts(addr.ip()) {
            return Err(Code::InvalidArgument);
        }
        if !bound {
            check(net, self.family.unspecified(), SocketAddrUse::TcpBind)?;
        }
        check(net, addr, SocketAddrUse::TcpConnect)?;
        match rustix::net::connect(&*self.fd, &addr) {
            Ok(()) | Err(RErrno::INPROGRESS) => {
                self.state = State::Connecting;
                self.pending = Some(Op::Connect);
                self.watch.store(WATCH_CONNECT, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.state = State::Closed;
                Err(connect_error(e))
            }
        }
    }

    fn finish_connect(&mut self) -> SockResult<Arc<Conn>> {
        if self.pending != Some(Op::Connect) {
            return Err(Code::NotInProgress);
        }
        if !fd_ready(&self.fd, false) {
            return Err(Code::WouldBlock);
        }
        self.pending = None;
        self.watch.store(WATCH_NOTHING, Ordering::Relaxed);
        match sockopt::socket_error(&*self.fd) {
            Ok(Ok(())) => {
                let conn = Arc::new(Conn {
                    fd: self.fd.clone(),
                    read_shut: AtomicBool::new(false),
                    write_shut: AtomicBool::new(false),
                });
                self.state = State::Connected(conn.clone());
                Ok(conn)
            }
            Ok(Err(e)) | Err(e) => {
                self.state = State::Closed;
                Err(connect_error(e))
            }
        }
    }

    fn start_listen(&mut self, net: &NetPolicy) -> SockResult<()> {
        if self.pending.is_some() {
            return Err(Code::ConcurrencyConflict);
        }
        if !matches!(self.state, State::Bound) {
            return Err(Code::InvalidState);
        }
        if !net.inherit_network {
            return Err(Code::AccessDenied);
        }
        rustix::net::listen(&*self.fd, self.backlog as i32)?;
        self.state = State::Listening;
        self.pending = Some(Op::Listen);
        Ok(())
    }

    fn finish(&mut self, op: Op) -> SockResult<()> {
        if self.pending != Some(op) {
            return Err(Code::NotInProgress);
        }
        self.pending = None;
        if op == Op::Listen {
            self.watch.store(WATCH_ACCEPT, Ordering::Relaxed);
        }
        Ok(())
    }

    fn local_address(&self) -> SockResult<std::net::SocketAddr> {
        match self.state {
            State::Unbound | State::Closed => Err(Code::InvalidState),
            _ => host_addr(rustix::net::getsockname(&*self.fd)?),
        }
    }

    fn remote_address(&self) -> SockResult<std::net::SocketAddr> {
        match self.state {
            State::Connected(_) => match rustix::net::getpeername(&*self.fd)? {
                Some(addr) => host_addr(addr),
                None => Err(Code::InvalidState),
            },
            _ => Err(Code::InvalidState),
        }
    }

    fn set_listen_backlog_size(&mut self, value: u64) -> SockResult<()> {
        if value == 0 {
            return Err(Code::InvalidArgument);
        }
        let value = value.min(MAX_BACKLOG);
        match self.state {
            State::Unbound | State::Bound => {}
            State::Listening => {
                rustix::net::listen(&*self.fd, value as i32).map_err(|_| Code::NotSupported)?;
            }
            _ => return Err(Code::InvalidState),
        }
        self.backlog = value;
        Ok(())
    }

    fn shutdown(&self, how: &str) -> SockResult<()> {
        let State::Connected(conn) = &self.state else {
            return Err(Code::InvalidState);
        };
        let (read, write, how) = match how {
            "receive" => (true, false, Shutdown::Read),
            "send" => (false, true, Shutdown::Write),
            _ => (true, true, Shutdown::Both),
        };
        if read {
            conn.read_shut.store(true, Ordering::Relaxed);
        }
        if write {
            conn.write_shut.store(true, Ordering::Relaxed);
        }
        match rustix::net::shutdown(&*self.fd, how) {
            // The peer may have gone already: nothing is left to shut.
            Ok(()) | Err(RErrno::NOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The error of a connect.
fn connect_error(e: RErrno) -> Code {
    match e {
        // No ephemeral port was left for the implicit bind.
        RErrno::ADDRNOTAVAIL => Code::AddressInUse,
        RErrno::AFNOSUPPORT => Code::InvalidArgument,
        e => e.into(),
    }
}

/// A connection's input stream.
struct Reader {
    conn: Arc<Conn>,
    ended: bool,
}

impl HostInputStream for Reader {
    fn read(&mut self, max: usize) -> Result<Vec<u8>, StreamError> {
        if self.ended || self.conn.read_shut.load(Ordering::Relaxed) {
            return Err(StreamError::Closed);
        }
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0; max.min(READ_CHUNK)];
        match rustix::net::recv(&*self.conn.fd, &mut buf[..], RecvFlags::DONTWAIT) {
            Ok((0, _)) => {
                self.ended = true;
                Err(StreamError::Closed)
            }
            Ok((n, _)) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(RErrno::AGAIN | RErrno::INTR) => Ok(Vec::new()),
            Err(e) => {
                self.ended = true;
                Err(StreamError::Failed(e.into()))
            }
        }
    }

    fn ready(&self) -> bool {
        self.ended || self.conn.read_shut.load(Ordering::Relaxed) || fd_ready(&self.conn.fd, true)
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.conn.fd.as_fd())
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.conn.fd, Shutdown::Read);
    }
}

/// A connection's output stream.
struct Writer {
    conn: Arc<Conn>,
    /// Written, not yet taken by the kernel.
    pending: Vec<u8>,
    /// Once a send failed, every later operation fails the same way.
    failed: Option<StreamError>,
    /// The context's blocking deadline: `flush` waits no longer.
    deadline: Option<Instant>,
}

impl Writer {
    /// Sends what is pending, without blocking.
    fn send_pending(&mut self) -> Result<(), StreamError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        while !self.pending.is_empty() {
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            match rustix::net::send(&*self.conn.fd, &self.pending, flags) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(RErrno::AGAIN) => return Ok(()),
                Err(RErrno::INTR) => {}
                Err(e) => {
                    let e = match e {
                        RErrno::PIPE => StreamError::Closed,
                        e => StreamError::Failed(e.into()),
                    };
                    self.failed = Some(e);
                    self.pending = Vec::new();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn closed(&self) -> bool {
        self.conn.write_shut.load(Ordering::Relaxed)
    }
}

impl HostOutputStream for Writer {
    fn check_write(&mut self) -> Result<usize, StreamError> {
        if self.closed() {
            return Err(StreamError::Closed);
        }
        self.send_pending()?;
        Ok(if self.pending.is_empty() {
            WRITE_CHUNK
        } else {
            0
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        if self.closed() {
            return Err(StreamError::Closed);
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.pending.extend_from_slice(bytes);
        self.send_pending()
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        loop {
            self.send_pending()?;
            if self.pending.is_empty() || self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            wait_fd(&self.conn.fd, false, Duration::from_millis(50));
        }
    }

    fn ready(&self) -> bool {
        self.closed()
            || self.failed.is_some()
            || self.pending.is_empty()
            || fd_ready(&self.conn.fd, false)
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.conn.fd.as_fd())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.send_pending();
        let _ = rustix::net::shutdown(&*self.conn.fd, Shutdown::Write);
    }
}

/// The pollable of a socket: ready when a connect has completed (or
/// failed), when a listener has a connection to accept, and otherwise
/// always.
struct SocketReady {
    fd: Arc<OwnedFd>,
    watch: Arc<AtomicU8>,
}

impl HostPollable for SocketReady {
    fn ready(&self) -> bool {
        match self.watch.load(Ordering::Relaxed) {
            WATCH_CONNECT => fd_ready(&self.fd, false),
            WATCH_ACCEPT => fd_ready(&self.fd, true),
            _ => true,
        }
    }

    fn host_fd(&self) -> Option<(BorrowedFd<'_>, bool)> {
        match self.watch.load(Ordering::Relaxed) {
            WATCH_CONNECT => Some((self.fd.as_fd(), false)),
            WATCH_ACCEPT => Some((self.fd.as_fd(), true)),
            _ => None,
        }
    }
}

/// The input and output streams of `conn`, children of `socket`.
fn streams(ctx: &mut WasiCtx, socket: &Resource<TcpSocket>, conn: Arc<Conn>) -> Result<[Val; 2]> {
    let reader = Reader {
        conn: conn.clone(),
        ended: false,
    };
    let writer = Writer {
        conn,
        pending: Vec::new(),
        failed: None,
        deadline: ctx.blocking_deadline,
    };
    let input = ctx
        .p2
        .push_child(InputStream::Host(Box::new(reader)), socket)?;
    let output = ctx
        .p2
        .push_child(OutputStream::Host(Box::new(writer)), socket)?;
    Ok([handle(input), handle(output)])
}

/// Runs a socket-option operation for [`with_socket`].
fn attempt(f: impl FnOnce() -> SockResult<Option<Val>>) -> Result<SockResult<Option<Val>>> {
    Ok(f())
}

fn this(args: &[Val]) -> Result<Resource<TcpSocket>> {
    arg_res::<TcpSocket>(args, 0)
}

/// A socket method on the table's value: `f` gets the socket and the
/// function's other arguments and gives the `result`'s `ok` value.
fn with_socket(
    ctx: &mut WasiCtx,
    args: &[Val],
    f: impl FnOnce(&mut TcpSocket, &[Val]) -> Result<SockResult<Option<Val>>>,
) -> Result<Val> {
    let socket = ctx.p2.get_mut(&this(args)?)?;
    Ok(result(f(socket, &args[1..])?))
}

fn create(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let family = Family::of_val(arg(args, 0)?)?;
    if !ctx.net.tcp {
        return Ok(result(Err(Code::AccessDenied)));
    }
    let fd = match new_socket(ctx, family, SocketType::STREAM) {
        Ok(fd) => fd,
        Err(code) => return Ok(result(Err(code))),
    };
    match ctx
        .p2
        .push(TcpSocket::new(Arc::new(fd), family, State::Unbound))
    {
        Ok(socket) => Ok(ok(Some(handle(socket)))),
        Err(e) => {
            release_socket(ctx);
            Err(e.into())
        }
    }
}

fn start_bind(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    network_arg(ctx, args, 1)?;
    let addr = socket_addr(arg(args, 2)?)?;
    let socket = ctx.p2.get_mut(&this(args)?)?;
    Ok(result(socket.start_bind(&ctx.net, addr).map(|()| None)))
}

fn start_connect(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    network_arg(ctx, args, 1)?;
    let addr = socket_addr(arg(args, 2)?)?;
    let socket = ctx.p2.get_mut(&this(args)?)?;
    Ok(result(socket.start_connect(&ctx.net, addr).map(|()| None)))
}

fn finish_connect(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let this = this(args)?;
    match ctx.p2.get_mut(&this)?.finish_connect() {
        Ok(conn) => {
            let [input, output] = streams(ctx, &this, conn)?;
            Ok(ok(Some(Val::Tuple(vec![input, output]))))
        }
        Err(code) => Ok(result(Err(code))),
    }
}

fn start_listen(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let socket = ctx.p2.get_mut(&this(args)?)?;
    Ok(result(socket.start_listen(&ctx.net).map(|()| None)))
}

fn accept(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let socket = ctx.p2.get(&this(args)?)?;
    if !matches!(socket.state, State::Listening) {
        return Ok(result(Err(Code::InvalidState)));
    }
    let (listener, family) = (socket.fd.clone(), socket.family);
    if let Err(code) = reserve_socket(ctx) {
        return Ok(result(Err(code)));
    }
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let client = match rustix::net::accept_with(&*listener, flags) {
        Ok(client) => Arc::new(client),
        Err(e) => {
            release_socket(ctx);
            let code = match e {
                RErrno::AGAIN | RErrno::INTR => Code::WouldBlock,
                RErrno::MFILE | RErrno::NFILE => Code::NewSocketLimit,
                // The connection went away before it was accepted.
                RErrno::CONNRESET
                | RErrno::NETRESET
                | RErrno::HOSTUNREACH
                | RErrno::HOSTDOWN
                | RErrno::NETDOWN
                | RErrno::NETUNREACH
                | RErrno::PROTO
                | RErrno::NOPROTOOPT
                | RErrno::NONET
                | RErrno::OPNOTSUPP => Code::ConnectionAborted,
                e => e.into(),
            };
            return Ok(result(Err(code)));
        }
    };
    let conn = Arc::new(Conn {
        fd: client.clone(),
        read_shut: AtomicBool::new(false),
        write_shut: AtomicBool::new(false),
    });
    let accepted = TcpSocket::new(client, family, State::Connected(conn.clone()));
    let accepted = match ctx.p2.push(accepted) {
        Ok(r) => r,
        Err(e) => {
            release_socket(ctx);
            return Err(e.into());
        }
    };
    let [input, output] = streams(ctx, &accepted, conn)?;
    Ok(ok(Some(Val::Tuple(vec![handle(accepted), input, output]))))
}

fn subscribe(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let this = this(args)?;
    let socket = ctx.p2.get(&this)?;
    let p = Pollable::Host(Box::new(SocketReady {
        fd: socket.fd.clone(),
        watch: socket.watch.clone(),
    }));
    Ok(handle(ctx.p2.push_child(p, &this)?))
}

/// A keep-alive duration (nanoseconds) as set: never 0, clamped.
fn keepalive_time(nanos: u64) -> SockResult<Duration> {
    if nanos == 0 {
        return Err(Code::InvalidArgument);
    }
    Ok(Duration::from_nanos(nanos).clamp(MIN_KEEPALIVE, MAX_KEEPALIVE))
}

fn nanos(d: Duration) -> Val {
    Val::U64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn bool_of(v: &Val) -> Result<bool> {
    match v {
        Val::Bool(b) => Ok(*b),
        other => bail!("expected a bool, found {other:?}"),
    }
}

type Method = fn(&mut WasiCtx, &[Val]) -> Result<Val>;

/// The methods that only read or set a socket option, or ask about the
/// socket's state.
const OPTIONS: &[(&str, Method)] = &[
    ("finish-bind", |ctx, args| {
        with_socket(ctx, args, |s, _| Ok(s.finish(Op::Bind).map(|()| None)))
    }),
    ("finish-listen", |ctx, args| {
        with_socket(ctx, args, |s, _| Ok(s.finish(Op::Listen).map(|()| None)))
    }),
    ("local-address", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            Ok(s.local_address().map(|a| Some(socket_addr_val(a))))
        })
    }),
    ("remote-address", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            Ok(s.remote_address().map(|a| Some(socket_addr_val(a))))
        })
    }),
    ("is-listening", |ctx, args| {
        let socket = ctx.p2.get(&this(args)?)?;
        Ok(Val::Bool(matches!(socket.state, State::Listening)))
    }),
    ("address-family", |ctx, args| {
        Ok(ctx.p2.get(&this(args)?)?.family.val())
    }),
    ("set-listen-backlog-size", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = arg_u64(a, 0)?;
            Ok(s.set_listen_backlog_size(value).map(|()| None))
        })
    }),
    ("keep-alive-enabled", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(Val::Bool(sockopt::socket_keepalive(s.open_fd()?)?))))
        })
    }),
    ("set-keep-alive-enabled", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = bool_of(arg(a, 0)?)?;
            attempt(|| {
                sockopt::set_socket_keepalive(s.open_fd()?, value)?;
                Ok(None)
            })
        })
    }),
    ("keep-alive-idle-time", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(nanos(sockopt::tcp_keepidle(s.open_fd()?)?))))
        })
    }),
    ("set-keep-alive-idle-time", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = arg_u64(a, 0)?;
            attempt(|| {
                let d = keepalive_time(value)?;
                sockopt::set_tcp_keepidle(s.open_fd()?, d)?;
                Ok(None)
            })
        })
    }),
    ("keep-alive-interval", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(nanos(sockopt::tcp_keepintvl(s.open_fd()?)?))))
        })
    }),
    ("set-keep-alive-interval", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = arg_u64(a, 0)?;
            attempt(|| {
                let d = keepalive_time(value)?;
                sockopt::set_tcp_keepintvl(s.open_fd()?, d)?;
                Ok(None)
            })
        })
    }),
    ("keep-alive-count", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(Val::U32(sockopt::tcp_keepcnt(s.open_fd()?)?))))
        })
    }),
    ("set-keep-alive-count", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = u32_of(arg(a, 0)?)?;
            attempt(|| {
                if value == 0 {
                    return Err(Code::InvalidArgument);
                }
                let value = value.min(MAX_KEEPALIVE_COUNT);
                sockopt::set_tcp_keepcnt(s.open_fd()?, value)?;
                Ok(None)
            })
        })
    }),
    ("hop-limit", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(Val::U8(hop_limit(s.open_fd()?, s.family)?))))
        })
    }),
    ("set-hop-limit", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = u8_of(arg(a, 0)?)?;
            attempt(|| {
                set_hop_limit(s.open_fd()?, s.family, value)?;
                Ok(None)
            })
        })
    }),
    ("receive-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(Val::U64(buffer_size(s.open_fd()?, true)?))))
        })
    }),
    ("set-receive-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = arg_u64(a, 0)?;
            attempt(|| {
                set_buffer_size(s.open_fd()?, true, value)?;
                Ok(None)
            })
        })
    }),
    ("send-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s, _| {
            attempt(|| Ok(Some(Val::U64(buffer_size(s.open_fd()?, false)?))))
        })
    }),
    ("set-send-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let value = arg_u64(a, 0)?;
            attempt(|| {
                set_buffer_size(s.open_fd()?, false, value)?;
                Ok(None)
            })
        })
    }),
    ("shutdown", |ctx, args| {
        with_socket(ctx, args, |s, a| {
            let Val::Enum(how) = arg(a, 0)? else {
                bail!("expected a shutdown-type");
            };
            Ok(s.shutdown(how).map(|()| None))
        })
    }),
];

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut tcp = interface(linker, "wasi:sockets/tcp")?;
    resource::<T, TcpSocket>(&mut tcp, "tcp-socket", get, |ctx, _| release_socket(ctx))?;
    let methods: [(&str, Method); 6] = [
        ("start-bind", start_bind),
        ("start-connect", start_connect),
        ("finish-connect", finish_connect),
        ("start-listen", start_listen),
        ("accept", accept),
        ("subscribe", subscribe),
    ];
    for (name, f) in methods.iter().chain(OPTIONS) {
        func(&mut tcp, &format!("[method]tcp-socket.{name}"), get, *f)?;
    }
    let mut create_socket = interface(linker, "wasi:sockets/tcp-create-socket")?;
    func(&mut create_socket, "create-tcp-socket", get, create)?;
    Ok(())
}

//! `wasi:sockets/udp` and `udp-create-socket`: `udp-socket` on a
//! non-blocking host socket, and its `incoming-datagram-stream` and
//! `outgoing-datagram-stream` (children of the socket).
//!
//! `start-bind` binds at once. `stream` (dis)connects the socket and
//! returns a new pair of streams; calling it while the previous pair is
//! alive traps, as WASI allows. `receive` returns at most
//! [`MAX_DATAGRAMS`] datagrams (and stops after about [`MAX_READ`]
//! bytes) whatever the guest asks for; `check-send` permits at most
//! [`MAX_DATAGRAMS`], and a `send` of more than it permitted traps.
//! Every datagram's destination goes through the address check.

use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use anyhow::{Result, bail};
use hayate_component::{Linker, Resource, Val};
use rustix::io::Errno as RErrno;
use rustix::net::{RecvFlags, SendFlags, SocketType};

use super::{
    Code, Family, SockResult, bind_error, buffer_size, check, fd_ready, field, func, hop_limit,
    host_addr, is_remote, is_unicast, network_arg, new_socket, release_socket, result,
    set_buffer_size, set_hop_limit, socket_addr, socket_addr_val, u8_of,
};
use crate::ctx::{NetPolicy, SocketAddrUse, WasiCtx};
use crate::p2::io::{HostPollable, Pollable};
use crate::p2::vals::{bytes, bytes_of};
use crate::p2::{GetCtx, MAX_READ, arg, arg_res, arg_u64, handle, interface, ok, resource};

/// The most datagrams one `receive` returns and one `check-send`
/// permits.
pub(crate) const MAX_DATAGRAMS: u64 = 64;

/// The largest datagram (what fits the 16-bit length of a UDP header).
const MAX_DATAGRAM_SIZE: usize = u16::MAX as usize;

/// `udp-socket`.
pub(crate) struct UdpSocket {
    fd: Arc<OwnedFd>,
    family: Family,
    bound: bool,
    bind_pending: bool,
    /// The remote address of the last `stream`, if it gave one.
    remote: Option<SocketAddr>,
    /// The streams of the last `stream` call still alive.
    live_streams: u8,
}

/// `incoming-datagram-stream`.
pub(crate) struct IncomingDatagramStream {
    fd: Arc<OwnedFd>,
    remote: Option<SocketAddr>,
    /// The socket's handle (its parent).
    socket: u32,
}

/// `outgoing-datagram-stream`.
pub(crate) struct OutgoingDatagramStream {
    fd: Arc<OwnedFd>,
    family: Family,
    remote: Option<SocketAddr>,
    /// How many datagrams the last `check-send` permitted.
    permit: u64,
    /// The socket's handle (its parent).
    socket: u32,
}

impl UdpSocket {
    fn start_bind(&mut self, net: &NetPolicy, addr: SocketAddr) -> SockResult<()> {
        if self.bind_pending {
            return Err(Code::ConcurrencyConflict);
        }
        if self.bound {
            return Err(Code::InvalidState);
        }
        if !is_unicast(addr.ip()) || !self.family.accepts(addr.ip()) {
            return Err(Code::InvalidArgument);
        }
        check(net, addr, SocketAddrUse::UdpBind)?;
        rustix::net::bind(&*self.fd, &addr).map_err(bind_error)?;
        self.bound = true;
        self.bind_pending = true;
        Ok(())
    }

    /// Restricts the socket to `remote`, or lifts the restriction.
    fn connect(&mut self, net: &NetPolicy, remote: Option<SocketAddr>) -> SockResult<()> {
        if !self.bound {
            return Err(Code::InvalidState);
        }
        if let Some(addr) = remote {
            if !self.family.accepts(addr.ip()) || !is_remote(addr) {
                return Err(Code::InvalidArgument);
            }
            check(net, addr, SocketAddrUse::UdpConnect)?;
        }
        if self.remote.take().is_some() {
            rustix::net::connect_unspec(&*self.fd)?;
        }
        if let Some(addr) = remote {
            rustix::net::connect(&*self.fd, &addr).map_err(|e| match e {
                RErrno::AFNOSUPPORT => Code::InvalidArgument,
                RErrno::ADDRNOTAVAIL => Code::AddressInUse,
                e => e.into(),
            })?;
            self.remote = Some(addr);
        }
        Ok(())
    }
}

impl OutgoingDatagramStream {
    /// Sends one datagram; `Ok(false)` when the socket cannot take it now.
    fn send_one(&self, net: &NetPolicy, data: &[u8], to: Option<SocketAddr>) -> SockResult<bool> {
        let dest = match (self.remote, to) {
            (Some(r), None) => r,
            (Some(r), Some(to)) if to == r => r,
            (None, Some(to)) => to,
            (Some(_), Some(_)) | (None, None) => return Err(Code::InvalidArgument),
        };
        if !self.family.accepts(dest.ip()) || !is_remote(dest) {
            return Err(Code::InvalidArgument);
        }
        if data.len() > MAX_DATAGRAM_SIZE {
            return Err(Code::DatagramTooLarge);
        }
        check(net, dest, SocketAddrUse::UdpOutgoingDatagram)?;
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        let sent = match self.remote {
            Some(_) => rustix::net::send(&*self.fd, data, flags),
            None => rustix::net::sendto(&*self.fd, data, flags, &dest),
        };
        match sent {
            Ok(_) => Ok(true),
            Err(RErrno::AGAIN | RErrno::INTR) => Ok(false),
            Err(RErrno::MSGSIZE) => Err(Code::DatagramTooLarge),
            Err(e) => Err(e.into()),
        }
    }
}

/// Ready when its fd is readable (or writable).
struct FdReady {
    fd: Arc<OwnedFd>,
    read: bool,
}

impl HostPollable for FdReady {
    fn ready(&self) -> bool {
        fd_ready(&self.fd, self.read)
    }

    fn host_fd(&self) -> Option<(BorrowedFd<'_>, bool)> {
        Some((self.fd.as_fd(), self.read))
    }
}

/// Forgets one live stream of the socket with handle `socket`.
fn stream_dropped(ctx: &mut WasiCtx, socket: u32) {
    if let Ok(s) = ctx.p2.get_mut(&Resource::<UdpSocket>::new_borrow(socket)) {
        s.live_streams = s.live_streams.saturating_sub(1);
    }
}

fn this(args: &[Val]) -> Result<Resource<UdpSocket>> {
    arg_res::<UdpSocket>(args, 0)
}

fn create(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let family = super::Family::of_val(arg(args, 0)?)?;
    if !ctx.net.udp {
        return Ok(result(Err(Code::AccessDenied)));
    }
    let fd = match new_socket(ctx, family, SocketType::DGRAM) {
        Ok(fd) => fd,
        Err(code) => return Ok(result(Err(code))),
    };
    let socket = UdpSocket {
        fd: Arc::new(fd),
        family,
        bound: false,
        bind_pending: false,
        remote: None,
        live_streams: 0,
    };
    match ctx.p2.push(socket) {
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

fn finish_bind(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let socket = ctx.p2.get_mut(&this(args)?)?;
    let r = if socket.bind_pending {
        socket.bind_pending = false;
        Ok(None)
    } else {
        Err(Code::NotInProgress)
    };
    Ok(result(r))
}

fn stream(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let this = this(args)?;
    let remote = match arg(args, 1)? {
        Val::Option(None) => None,
        Val::Option(Some(addr)) => Some(socket_addr(addr)?),
        other => bail!("expected an option<ip-socket-address>, found {other:?}"),
    };
    let socket = ctx.p2.get_mut(&this)?;
    if socket.live_streams > 0 {
        bail!("`udp-socket.stream` called before the streams it returned last were dropped");
    }
    if let Err(code) = socket.connect(&ctx.net, remote) {
        return Ok(result(Err(code)));
    }
    let (fd, family) = (socket.fd.clone(), socket.family);
    let incoming = IncomingDatagramStream {
        fd: fd.clone(),
        remote,
        socket: this.rep(),
    };
    let outgoing = OutgoingDatagramStream {
        fd,
        family,
        remote,
        permit: 0,
        socket: this.rep(),
    };
    let incoming = ctx.p2.push_child(incoming, &this)?;
    ctx.p2.get_mut(&this)?.live_streams = 1;
    let outgoing = ctx.p2.push_child(outgoing, &this)?;
    ctx.p2.get_mut(&this)?.live_streams = 2;
    Ok(ok(Some(Val::Tuple(vec![
        handle(incoming),
        handle(outgoing),
    ]))))
}

fn receive(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let stream = ctx.p2.get(&arg_res::<IncomingDatagramStream>(args, 0)?)?;
    let max = arg_u64(args, 1)?.min(MAX_DATAGRAMS) as usize;
    let mut datagrams = Vec::new();
    let mut total = 0;
    let mut buf = Vec::new();
    // Each attempt consumes a datagram or ends the loop; datagrams from
    // elsewhere than the stream's remote address are skipped, at most as
    // many as were asked for.
    for _ in 0..2 * max {
        if datagrams.len() >= max || total >= MAX_READ as usize {
            break;
        }
        buf.resize(MAX_DATAGRAM_SIZE + 1, 0);
        match rustix::net::recvfrom(&*stream.fd, &mut buf[..], RecvFlags::DONTWAIT) {
            Ok((n, _, from)) => {
                let Some(from) = from.and_then(|a| host_addr(a).ok()) else {
                    continue;
                };
                // A connected socket only receives from its peer; the
                // datagram reports the address the stream was given.
                let from = match stream.remote {
                    Some(r) if (r.ip(), r.port()) != (from.ip(), from.port()) => continue,
                    Some(r) => r,
                    None => from,
                };
                total += n;
                datagrams.push(Val::Record(vec![
                    ("data".into(), bytes(&buf[..n])),
                    ("remote-address".into(), socket_addr_val(from)),
                ]));
            }
            Err(RErrno::AGAIN) => break,
            Err(RErrno::INTR) => {}
            Err(_) if !datagrams.is_empty() => break,
            Err(e) => return Ok(result(Err(e.into()))),
        }
    }
    Ok(ok(Some(Val::List(datagrams))))
}

fn check_send(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let stream = ctx
        .p2
        .get_mut(&arg_res::<OutgoingDatagramStream>(args, 0)?)?;
    stream.permit = if fd_ready(&stream.fd, false) {
        MAX_DATAGRAMS
    } else {
        0
    };
    Ok(ok(Some(Val::U64(stream.permit))))
}

/// An `outgoing-datagram` value: its data and destination.
fn outgoing(v: &Val) -> Result<(Vec<u8>, Option<SocketAddr>)> {
    let Val::Record(fields) = v else {
        bail!("expected an outgoing-datagram, found {v:?}");
    };
    let data = bytes_of(field(fields, "data")?)?;
    let to = match field(fields, "remote-address")? {
        Val::Option(None) => None,
        Val::Option(Some(addr)) => Some(socket_addr(addr)?),
        other => bail!("expected an option<ip-socket-address>, found {other:?}"),
    };
    Ok((data, to))
}

fn send(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let Val::List(items) = arg(args, 1)? else {
        bail!("expected a list of outgoing datagrams");
    };
    let stream = ctx
        .p2
        .get_mut(&arg_res::<OutgoingDatagramStream>(args, 0)?)?;
    if items.is_empty() {
        return Ok(ok(Some(Val::U64(0))));
    }
    if items.len() as u64 > stream.permit {
        bail!(
            "a send of {} datagrams, more than check-send permitted ({})",
            items.len(),
            stream.permit
        );
    }
    stream.permit = 0;
    let mut sent = 0u64;
    for item in items {
        let (data, to) = outgoing(item)?;
        match stream.send_one(&ctx.net, &data, to) {
            Ok(true) => sent += 1,
            Ok(false) => break,
            Err(_) if sent > 0 => break,
            Err(code) => return Ok(result(Err(code))),
        }
    }
    Ok(ok(Some(Val::U64(sent))))
}

type Method = fn(&mut WasiCtx, &[Val]) -> Result<Val>;

/// A socket method giving a `result`.
fn with_socket(
    ctx: &mut WasiCtx,
    args: &[Val],
    f: impl FnOnce(&UdpSocket) -> SockResult<Option<Val>>,
) -> Result<Val> {
    Ok(result(f(ctx.p2.get(&this(args)?)?)))
}

const SOCKET_METHODS: &[(&str, Method)] = &[
    ("start-bind", start_bind),
    ("finish-bind", finish_bind),
    ("stream", stream),
    ("local-address", |ctx, args| {
        with_socket(ctx, args, |s| {
            if !s.bound {
                return Err(Code::InvalidState);
            }
            let addr = host_addr(rustix::net::getsockname(&*s.fd)?)?;
            Ok(Some(socket_addr_val(addr)))
        })
    }),
    ("remote-address", |ctx, args| {
        with_socket(ctx, args, |s| match s.remote {
            Some(addr) => Ok(Some(socket_addr_val(addr))),
            None => Err(Code::InvalidState),
        })
    }),
    ("address-family", |ctx, args| {
        Ok(ctx.p2.get(&this(args)?)?.family.val())
    }),
    ("unicast-hop-limit", |ctx, args| {
        with_socket(ctx, args, |s| {
            Ok(Some(Val::U8(hop_limit(&s.fd, s.family)?)))
        })
    }),
    ("set-unicast-hop-limit", |ctx, args| {
        let value = u8_of(arg(args, 1)?)?;
        with_socket(ctx, args, |s| {
            set_hop_limit(&s.fd, s.family, value).map(|()| None)
        })
    }),
    ("receive-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s| Ok(Some(Val::U64(buffer_size(&s.fd, true)?))))
    }),
    ("set-receive-buffer-size", |ctx, args| {
        let value = arg_u64(args, 1)?;
        with_socket(ctx, args, |s| {
            set_buffer_size(&s.fd, true, value).map(|()| None)
        })
    }),
    ("send-buffer-size", |ctx, args| {
        with_socket(ctx, args, |s| {
            Ok(Some(Val::U64(buffer_size(&s.fd, false)?)))
        })
    }),
    ("set-send-buffer-size", |ctx, args| {
        let value = arg_u64(args, 1)?;
        with_socket(ctx, args, |s| {
            set_buffer_size(&s.fd, false, value).map(|()| None)
        })
    }),
    ("subscribe", |ctx, args| {
        // Nothing of a UDP socket itself is ever pending.
        let this = this(args)?;
        ctx.p2.get(&this)?;
        Ok(handle(ctx.p2.push_child(Pollable::Ready, &this)?))
    }),
];

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut udp = interface(linker, "wasi:sockets/udp")?;
    resource::<T, UdpSocket>(&mut udp, "udp-socket", get, |ctx, _| release_socket(ctx))?;
    resource::<T, IncomingDatagramStream>(&mut udp, "incoming-datagram-stream", get, |ctx, s| {
        stream_dropped(ctx, s.socket)
    })?;
    resource::<T, OutgoingDatagramStream>(&mut udp, "outgoing-datagram-stream", get, |ctx, s| {
        stream_dropped(ctx, s.socket)
    })?;
    for (name, f) in SOCKET_METHODS {
        func(&mut udp, &format!("[method]udp-socket.{name}"), get, *f)?;
    }
    func(
        &mut udp,
        "[method]incoming-datagram-stream.receive",
        get,
        receive,
    )?;
    func(
        &mut udp,
        "[method]incoming-datagram-stream.subscribe",
        get,
        |ctx, args| {
            let this = arg_res::<IncomingDatagramStream>(args, 0)?;
            let fd = ctx.p2.get(&this)?.fd.clone();
            let p = Pollable::Host(Box::new(FdReady { fd, read: true }));
            Ok(handle(ctx.p2.push_child(p, &this)?))
        },
    )?;
    func(
        &mut udp,
        "[method]outgoing-datagram-stream.check-send",
        get,
        check_send,
    )?;
    func(&mut udp, "[method]outgoing-datagram-stream.send", get, send)?;
    func(
        &mut udp,
        "[method]outgoing-datagram-stream.subscribe",
        get,
        |ctx, args| {
            let this = arg_res::<OutgoingDatagramStream>(args, 0)?;
            let fd = ctx.p2.get(&this)?.fd.clone();
            let p = Pollable::Host(Box::new(FdReady { fd, read: false }));
            Ok(handle(ctx.p2.push_child(p, &this)?))
        },
    )?;
    let mut create_socket = interface(linker, "wasi:sockets/udp-create-socket")?;
    func(&mut create_socket, "create-udp-socket", get, create)?;
    Ok(())
}

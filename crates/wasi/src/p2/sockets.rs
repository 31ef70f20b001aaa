//! `wasi:sockets` (0.2): the `network` resource and `error-code`s,
//! `instance-network`, and what TCP (`tcp.rs`), UDP (`udp.rs`) and name
//! lookup (`lookup.rs`) share: socket addresses as component values,
//! address checks, the policy of the [`WasiCtx`] and its socket count,
//! and socket options.
//!
//! Sockets are host sockets in non-blocking mode, used through `rustix`.
//! What a guest may do is the context's network policy
//! ([`WasiCtxBuilder::inherit_network`](crate::WasiCtxBuilder::inherit_network)
//! and its siblings): without network access every bind, connect and
//! listen fails with `access-denied`, and every address used is offered
//! to the embedder's address check. A guest holds at most
//! [`MAX_SOCKETS`](crate::ctx::MAX_SOCKETS) sockets at once.

mod lookup;
mod tcp;
mod udp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hayate::StoreContextMut;
use hayate_component::{Linker, LinkerInstance, Val};
use rustix::net::sockopt;

use super::io::IoError;
use super::{GetCtx, arg_res, err, handle, interface, ok, resource, ret};
use crate::ctx::{MAX_SOCKETS, NetPolicy, SocketAddrUse, WasiCtx};
use crate::errno::Errno;

/// `wasi:sockets/network`'s `network`: the right to use the network,
/// which the context's policy spells out.
pub(crate) struct Network;

/// `error-code`, in the WIT's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Unknown,
    AccessDenied,
    NotSupported,
    InvalidArgument,
    OutOfMemory,
    Timeout,
    ConcurrencyConflict,
    NotInProgress,
    WouldBlock,
    InvalidState,
    NewSocketLimit,
    AddressNotBindable,
    AddressInUse,
    RemoteUnreachable,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    DatagramTooLarge,
    NameUnresolvable,
    TemporaryResolverFailure,
    PermanentResolverFailure,
}

impl Code {
    /// The WIT enum case's name.
    fn name(self) -> &'static str {
        match self {
            Code::Unknown => "unknown",
            Code::AccessDenied => "access-denied",
            Code::NotSupported => "not-supported",
            Code::InvalidArgument => "invalid-argument",
            Code::OutOfMemory => "out-of-memory",
            Code::Timeout => "timeout",
            Code::ConcurrencyConflict => "concurrency-conflict",
            Code::NotInProgress => "not-in-progress",
            Code::WouldBlock => "would-block",
            Code::InvalidState => "invalid-state",
            Code::NewSocketLimit => "new-socket-limit",
            Code::AddressNotBindable => "address-not-bindable",
            Code::AddressInUse => "address-in-use",
            Code::RemoteUnreachable => "remote-unreachable",
            Code::ConnectionRefused => "connection-refused",
            Code::ConnectionReset => "connection-reset",
            Code::ConnectionAborted => "connection-aborted",
            Code::DatagramTooLarge => "datagram-too-large",
            Code::NameUnresolvable => "name-unresolvable",
            Code::TemporaryResolverFailure => "temporary-resolver-failure",
            Code::PermanentResolverFailure => "permanent-resolver-failure",
        }
    }

    /// The code of a network failure, `None` for errors that are not
    /// about the network (for `network-error-code`).
    fn of_network_errno(e: Errno) -> Option<Code> {
        Some(match e {
            Errno::Acces | Errno::Perm => Code::AccessDenied,
            Errno::Addrinuse => Code::AddressInUse,
            Errno::Addrnotavail => Code::AddressNotBindable,
            Errno::Timedout => Code::Timeout,
            Errno::Connrefused => Code::ConnectionRefused,
            Errno::Connreset | Errno::Netreset => Code::ConnectionReset,
            Errno::Connaborted => Code::ConnectionAborted,
            Errno::Hostunreach | Errno::Netdown | Errno::Netunreach => Code::RemoteUnreachable,
            Errno::Isconn | Errno::Notconn | Errno::Destaddrreq => Code::InvalidState,
            Errno::Msgsize => Code::DatagramTooLarge,
            Errno::Nobufs => Code::OutOfMemory,
            Errno::Afnosupport | Errno::Protonosupport | Errno::Prototype => Code::NotSupported,
            Errno::Mfile | Errno::Nfile => Code::NewSocketLimit,
            _ => return None,
        })
    }
}

impl From<Errno> for Code {
    fn from(e: Errno) -> Code {
        if let Some(code) = Code::of_network_errno(e) {
            return code;
        }
        match e {
            Errno::Inval => Code::InvalidArgument,
            Errno::Nomem => Code::OutOfMemory,
            Errno::Again => Code::WouldBlock,
            Errno::Already => Code::ConcurrencyConflict,
            Errno::Notsup | Errno::Noprotoopt => Code::NotSupported,
            _ => Code::Unknown,
        }
    }
}

impl From<rustix::io::Errno> for Code {
    fn from(e: rustix::io::Errno) -> Code {
        Code::from(Errno::from(e))
    }
}

/// The outcome of a socket operation.
type SockResult<T> = std::result::Result<T, Code>;

/// The `result<T, error-code>` of `r`.
fn result(r: SockResult<Option<Val>>) -> Val {
    match r {
        Ok(v) => ok(v),
        Err(code) => err(Val::Enum(code.name().into())),
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    fn of_val(v: &Val) -> Result<Family> {
        match v {
            Val::Enum(case) if case == "ipv4" => Ok(Family::V4),
            Val::Enum(case) if case == "ipv6" => Ok(Family::V6),
            other => bail!("expected an ip-address-family, found {other:?}"),
        }
    }

    fn val(self) -> Val {
        Val::Enum(match self {
            Family::V4 => "ipv4".into(),
            Family::V6 => "ipv6".into(),
        })
    }

    /// The unspecified address with port 0 (what an implicit bind uses).
    fn unspecified(self) -> SocketAddr {
        match self {
            Family::V4 => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            Family::V6 => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
        }
    }

    /// Whether a socket of this family may use `ip`: IPv6 sockets are
    /// IPv6-only, so IPv4-mapped (and the deprecated IPv4-compatible)
    /// addresses are refused.
    fn accepts(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Family::V4, IpAddr::V4(_)) => true,
            (Family::V6, IpAddr::V6(v6)) => {
                let compatible = matches!(v6.segments(), [0, 0, 0, 0, 0, 0, _, _])
                    && !v6.is_unspecified()
                    && !v6.is_loopback();
                v6.to_ipv4_mapped().is_none() && !compatible
            }
            _ => false,
        }
    }
}

/// Whether `ip` is a unicast address (bind and connect refuse others).
fn is_unicast(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// Whether `addr` can be connected or sent to (not the unspecified
/// address, not port 0).
fn is_remote(addr: SocketAddr) -> bool {
    !addr.ip().to_canonical().is_unspecified() && addr.port() != 0
}

/// Field `name` of a record value.
fn field<'a>(fields: &'a [(String, Val)], name: &str) -> Result<&'a Val> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .with_context(|| format!("record field `{name}` missing"))
}

fn u8_of(v: &Val) -> Result<u8> {
    match v {
        Val::U8(x) => Ok(*x),
        other => bail!("expected a u8, found {other:?}"),
    }
}

fn u16_of(v: &Val) -> Result<u16> {
    match v {
        Val::U16(x) => Ok(*x),
        other => bail!("expected a u16, found {other:?}"),
    }
}

fn u32_of(v: &Val) -> Result<u32> {
    match v {
        Val::U32(x) => Ok(*x),
        other => bail!("expected a u32, found {other:?}"),
    }
}

fn tuple_of(v: &Val, len: usize) -> Result<&[Val]> {
    match v {
        Val::Tuple(items) if items.len() == len => Ok(items),
        other => bail!("expected a tuple of {len}, found {other:?}"),
    }
}

/// An `ip-socket-address` value as a socket address.
fn socket_addr(v: &Val) -> Result<SocketAddr> {
    let Val::Variant(case, Some(payload)) = v else {
        bail!("expected an ip-socket-address, found {v:?}");
    };
    let Val::Record(fields) = &**payload else {
        bail!("expected a socket address record, found {payload:?}");
    };
    let port = u16_of(field(fields, "port")?)?;
    match case.as_str() {
        "ipv4" => {
            let a = tuple_of(field(fields, "address")?, 4)?;
            let ip = Ipv4Addr::new(u8_of(&a[0])?, u8_of(&a[1])?, u8_of(&a[2])?, u8_of(&a[3])?);
            Ok(SocketAddrV4::new(ip, port).into())
        }
        "ipv6" => {
            let a = tuple_of(field(fields, "address")?, 8)?;
            let mut seg = [0u16; 8];
            for (s, v) in seg.iter_mut().zip(a) {
                *s = u16_of(v)?;
            }
            let flow = u32_of(field(fields, "flow-info")?)?;
            let scope = u32_of(field(fields, "scope-id")?)?;
            Ok(SocketAddrV6::new(Ipv6Addr::from(seg), port, flow, scope).into())
        }
        other => bail!("unknown ip-socket-address case `{other}`"),
    }
}

/// The `ip-address` value of `ip`.
fn ip_val(ip: IpAddr) -> Val {
    match ip {
        IpAddr::V4(v4) => Val::Variant(
            "ipv4".into(),
            Some(Box::new(Val::Tuple(
                v4.octets().into_iter().map(Val::U8).collect(),
            ))),
        ),
        IpAddr::V6(v6) => Val::Variant(
            "ipv6".into(),
            Some(Box::new(Val::Tuple(
                v6.segments().into_iter().map(Val::U16).collect(),
            ))),
        ),
    }
}

/// The `ip-socket-address` value of `addr`.
fn socket_addr_val(addr: SocketAddr) -> Val {
    let (case, fields) = match addr {
        SocketAddr::V4(a) => (
            "ipv4",
            vec![
                ("port".into(), Val::U16(a.port())),
                (
                    "address".into(),
                    Val::Tuple(a.ip().octets().into_iter().map(Val::U8).collect()),
                ),
            ],
        ),
        SocketAddr::V6(a) => (
            "ipv6",
            vec![
                ("port".into(), Val::U16(a.port())),
                ("flow-info".into(), Val::U32(a.flowinfo())),
                (
                    "address".into(),
                    Val::Tuple(a.ip().segments().into_iter().map(Val::U16).collect()),
                ),
                ("scope-id".into(), Val::U32(a.scope_id())),
            ],
        ),
    };
    Val::Variant(case.into(), Some(Box::new(Val::Record(fields))))
}

/// A socket address the kernel reported.
fn host_addr(addr: rustix::net::SocketAddrAny) -> SockResult<SocketAddr> {
    SocketAddr::try_from(addr).map_err(|_| Code::NotSupported)
}

/// Counts a new socket against the guest's limit.
fn reserve_socket(ctx: &mut WasiCtx) -> SockResult<()> {
    if ctx.net_use.sockets >= MAX_SOCKETS {
        return Err(Code::NewSocketLimit);
    }
    ctx.net_use.sockets += 1;
    Ok(())
}

/// Uncounts a socket that was closed.
fn release_socket(ctx: &mut WasiCtx) {
    ctx.net_use.sockets = ctx.net_use.sockets.saturating_sub(1);
}

/// A new non-blocking socket of `family`, counted against the limit
/// (IPv6 ones IPv6-only, as WASI wants).
fn new_socket(
    ctx: &mut WasiCtx,
    family: Family,
    ty: rustix::net::SocketType,
) -> SockResult<OwnedFd> {
    use rustix::net::{AddressFamily, SocketFlags};
    reserve_socket(ctx)?;
    let af = match family {
        Family::V4 => AddressFamily::INET,
        Family::V6 => AddressFamily::INET6,
    };
    let made = rustix::net::socket_with(af, ty, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, None)
        .and_then(|fd| {
            if family == Family::V6 {
                sockopt::set_ipv6_v6only(&fd, true)?;
            }
            Ok(fd)
        });
    made.map_err(|e| {
        release_socket(ctx);
        match e {
            rustix::io::Errno::AFNOSUPPORT => Code::NotSupported,
            e => Code::from(e),
        }
    })
}

/// Access-denied unless the policy allows using `addr` for `usage`.
fn check(net: &NetPolicy, addr: SocketAddr, usage: SocketAddrUse) -> SockResult<()> {
    if net.allows(addr, usage) {
        Ok(())
    } else {
        Err(Code::AccessDenied)
    }
}

/// The error of a bind.
fn bind_error(e: rustix::io::Errno) -> Code {
    match e {
        rustix::io::Errno::AFNOSUPPORT => Code::InvalidArgument,
        e => Code::from(e),
    }
}

/// Whether `fd` is readable (or writable) now.
fn fd_ready(fd: &OwnedFd, read: bool) -> bool {
    crate::poll::ready_now(Some(fd.as_fd()), read)
}

/// Sleeps until `fd` is readable (or writable), at most `max`.
fn wait_fd(fd: &OwnedFd, read: bool, max: Duration) {
    use rustix::event::{PollFd, PollFlags};
    let flags = if read { PollFlags::IN } else { PollFlags::OUT };
    let mut fds = [PollFd::new(fd, flags)];
    let ts = rustix::time::Timespec {
        tv_sec: max.as_secs() as i64,
        tv_nsec: i64::from(max.subsec_nanos()),
    };
    let _ = rustix::event::poll(&mut fds, Some(&ts));
}

/// `hop-limit` (IPv4 TTL or IPv6 unicast hops).
fn hop_limit(fd: &OwnedFd, family: Family) -> SockResult<u8> {
    match family {
        Family::V4 => u8::try_from(sockopt::ip_ttl(fd)?).map_err(|_| Code::NotSupported),
        Family::V6 => Ok(sockopt::ipv6_unicast_hops(fd)?),
    }
}

fn set_hop_limit(fd: &OwnedFd, family: Family, value: u8) -> SockResult<()> {
    if value == 0 {
        return Err(Code::InvalidArgument);
    }
    match family {
        Family::V4 => sockopt::set_ip_ttl(fd, value.into())?,
        Family::V6 => sockopt::set_ipv6_unicast_hops(fd, Some(value))?,
    }
    Ok(())
}

/// A buffer size as the guest asked for it (Linux reports double what
/// was set, to count its bookkeeping; halving gives back the request).
fn buffer_size_of(reported: usize) -> u64 {
    (reported / 2) as u64
}

/// Sets the receive (or send) buffer size: a hint the kernel clamps.
fn set_buffer_size(fd: &OwnedFd, receive: bool, value: u64) -> SockResult<()> {
    if value == 0 {
        return Err(Code::InvalidArgument);
    }
    let value = value.min(i32::MAX as u64) as usize;
    let r = if receive {
        sockopt::set_socket_recv_buffer_size(fd, value)
    } else {
        sockopt::set_socket_send_buffer_size(fd, value)
    };
    match r {
        Ok(()) | Err(rustix::io::Errno::NOBUFS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn buffer_size(fd: &OwnedFd, receive: bool) -> SockResult<u64> {
    let n = if receive {
        sockopt::socket_recv_buffer_size(fd)?
    } else {
        sockopt::socket_send_buffer_size(fd)?
    };
    Ok(buffer_size_of(n))
}

/// Checks that argument `i` is a live `network` handle.
fn network_arg(ctx: &WasiCtx, args: &[Val], i: usize) -> Result<()> {
    let net = arg_res::<Network>(args, i)?;
    ctx.p2.get(&net)?;
    Ok(())
}

/// Defines `name` on `inst` as `f` on the context, whose value is the
/// function's one result.
fn func<T: 'static>(
    inst: &mut LinkerInstance<'_, T>,
    name: &str,
    get: impl GetCtx<T>,
    f: fn(&mut WasiCtx, &[Val]) -> Result<Val>,
) -> Result<()> {
    inst.func_new(
        name,
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let v = f(get(store.data_mut()), args)?;
            ret(results, v)
        },
    )
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut network = interface(linker, "wasi:sockets/network")?;
    resource::<T, Network>(&mut network, "network", get, |_, _| {})?;
    func(&mut network, "network-error-code", get, |ctx, args| {
        let e = arg_res::<IoError>(args, 0)?;
        let code = Code::of_network_errno(ctx.p2.get(&e)?.errno);
        Ok(Val::Option(
            code.map(|c| Box::new(Val::Enum(c.name().into()))),
        ))
    })?;

    let mut instance = interface(linker, "wasi:sockets/instance-network")?;
    func(&mut instance, "instance-network", get, |ctx, _| {
        Ok(handle(ctx.p2.push(Network)?))
    })?;

    tcp::add(linker, get)?;
    udp::add(linker, get)?;
    lookup::add(linker, get)?;
    Ok(())
}

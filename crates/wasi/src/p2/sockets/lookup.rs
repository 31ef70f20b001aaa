//! `wasi:sockets/ip-name-lookup`: `resolve-addresses` and its
//! `resolve-address-stream`.
//!
//! Only with [`WasiCtxBuilder::allow_ip_name_lookup`](crate::WasiCtxBuilder::allow_ip_name_lookup);
//! otherwise every lookup fails with `permanent-resolver-failure`. An IP
//! address is returned as it is. A host name (ASCII only: names are not
//! converted from Unicode) is resolved by the host's resolver on a thread
//! of its own, so `resolve-addresses` never blocks: the stream says
//! `would-block` until the answer arrives, and its pollable is ready
//! then. A guest runs at most [`MAX_LOOKUPS`] lookups at once and gets at
//! most [`MAX_ADDRESSES`] addresses from one.

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Result;
use hayate_component::{Linker, Val};

use super::{Code, SockResult, func, ip_val, network_arg, result};
use crate::ctx::{MAX_LOOKUPS, WasiCtx};
use crate::p2::io::{HostPollable, Pollable};
use crate::p2::{GetCtx, arg_res, arg_str, handle, interface, ok, resource};

/// The most addresses one lookup returns.
const MAX_ADDRESSES: usize = 256;

/// A lookup's answer, once it has one.
type Answer = Arc<Mutex<Option<SockResult<Vec<IpAddr>>>>>;

/// `resolve-address-stream`.
pub(crate) struct ResolveAddressStream {
    answer: Answer,
    /// How many addresses were returned.
    next: usize,
}

fn lock(answer: &Answer) -> MutexGuard<'_, Option<SockResult<Vec<IpAddr>>>> {
    answer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a name to resolve is.
enum Name {
    Ip(IpAddr),
    Host(String),
}

/// Parses `name`: an IP address (IPv6 with or without brackets) or a
/// host name of ASCII letters, digits, `-` and `_` in dot-separated
/// labels. `None` for anything else.
fn parse(name: &str) -> Option<Name> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(Name::Ip(ip.to_canonical()));
    }
    let host = name.strip_suffix('.').unwrap_or(name);
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !host.split('.').all(label_ok) {
        return None;
    }
    // A name ending in a number would be read as an IPv4 address in some
    // other notation (`1.2.3`, `0x7f.1`): refuse it as a URL parser does.
    let last = host.rsplit('.').next().unwrap_or(host);
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return None;
    }
    Some(Name::Host(host.to_ascii_lowercase()))
}

/// Resolves `host` with the host's resolver.
fn resolve(host: &str) -> SockResult<Vec<IpAddr>> {
    match (host, 0u16).to_socket_addrs() {
        Ok(addrs) => {
            let mut ips = Vec::new();
            for addr in addrs {
                let ip = addr.ip().to_canonical();
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
                if ips.len() >= MAX_ADDRESSES {
                    break;
                }
            }
            if ips.is_empty() {
                return Err(Code::NameUnresolvable);
            }
            Ok(ips)
        }
        // The standard library reports the resolver's message only.
        Err(e) if e.to_string().contains("Temporary failure") => {
            Err(Code::TemporaryResolverFailure)
        }
        Err(_) => Err(Code::NameUnresolvable),
    }
}

/// Starts resolving `host` on a thread; its answer goes to `answer`.
fn spawn(ctx: &WasiCtx, host: String, answer: Answer) -> SockResult<()> {
    let running = ctx.net_use.lookups.clone();
    if running.fetch_add(1, Ordering::SeqCst) >= MAX_LOOKUPS {
        running.fetch_sub(1, Ordering::SeqCst);
        return Err(Code::TemporaryResolverFailure);
    }
    let thread_running = running.clone();
    let spawned = std::thread::Builder::new()
        .name("wasi-ip-name-lookup".into())
        .spawn(move || {
            let ips = resolve(&host);
            *lock(&answer) = Some(ips);
            thread_running.fetch_sub(1, Ordering::SeqCst);
        });
    if spawned.is_err() {
        running.fetch_sub(1, Ordering::SeqCst);
        return Err(Code::OutOfMemory);
    }
    Ok(())
}

fn resolve_addresses(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    network_arg(ctx, args, 0)?;
    let name = arg_str(args, 1)?;
    if !ctx.net.ip_name_lookup {
        return Ok(result(Err(Code::PermanentResolverFailure)));
    }
    let answer: Answer = Arc::new(Mutex::new(None));
    match parse(name) {
        None => return Ok(result(Err(Code::InvalidArgument))),
        Some(Name::Ip(ip)) => *lock(&answer) = Some(Ok(vec![ip])),
        Some(Name::Host(host)) => {
            if let Err(code) = spawn(ctx, host, answer.clone()) {
                return Ok(result(Err(code)));
            }
        }
    }
    let stream = ctx.p2.push(ResolveAddressStream { answer, next: 0 })?;
    Ok(ok(Some(handle(stream))))
}

fn resolve_next_address(ctx: &mut WasiCtx, args: &[Val]) -> Result<Val> {
    let stream = ctx.p2.get_mut(&arg_res::<ResolveAddressStream>(args, 0)?)?;
    let next = match &*lock(&stream.answer) {
        None => Err(Code::WouldBlock),
        Some(Err(code)) => Err(*code),
        Some(Ok(ips)) => Ok(ips.get(stream.next).copied()),
    };
    if let Ok(Some(_)) = next {
        stream.next += 1;
    }
    Ok(result(next.map(|ip| {
        Some(Val::Option(ip.map(|ip| Box::new(ip_val(ip)))))
    })))
}

/// Ready once the lookup has its answer.
struct AnswerReady(Answer);

impl HostPollable for AnswerReady {
    fn ready(&self) -> bool {
        lock(&self.0).is_some()
    }
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut lookup = interface(linker, "wasi:sockets/ip-name-lookup")?;
    resource::<T, ResolveAddressStream>(&mut lookup, "resolve-address-stream", get, |_, _| {})?;
    func(&mut lookup, "resolve-addresses", get, resolve_addresses)?;
    func(
        &mut lookup,
        "[method]resolve-address-stream.resolve-next-address",
        get,
        resolve_next_address,
    )?;
    func(
        &mut lookup,
        "[method]resolve-address-stream.subscribe",
        get,
        |ctx, args| {
            let this = arg_res::<ResolveAddressStream>(args, 0)?;
            let answer = ctx.p2.get(&this)?.answer.clone();
            let p = Pollable::Host(Box::new(AnswerReady(answer)));
            Ok(handle(ctx.p2.push_child(p, &this)?))
        },
    )?;
    Ok(())
}

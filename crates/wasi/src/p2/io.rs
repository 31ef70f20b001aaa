//! `wasi:io`: errors, pollables and `poll`, and input and output streams:
//! of standard input and output, of files, and of whatever else the host
//! implements ([`HostInputStream`], [`HostOutputStream`]: sockets, HTTP
//! bodies). File streams read and write through the preview1
//! `fd_pread`/`fd_pwrite` of their descriptor (so its rights apply);
//! standard streams are the context's.

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use hayate::StoreContextMut;
use hayate_component::{Linker, Resource, Val};

use super::bridge::Scratch;
use super::{
    GetCtx, MAX_READ, MAX_WRITE, arg, arg_res, arg_u64, err, handle, interface, ok, resource, ret,
};
use crate::ctx::WasiCtx;
use crate::errno::Errno;
use crate::table::Kind;

/// `wasi:io/error`'s `error`: what failed, for `to-debug-string` and
/// `filesystem-error-code`.
pub struct IoError {
    /// The failure, as a preview1 error.
    pub errno: Errno,
}

/// Why a host stream operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// The stream has ended (input) or the other side closed it (output).
    Closed,
    /// The last operation failed; the stream is closed from now on.
    Failed(Errno),
}

/// An input stream the host implements.
pub trait HostInputStream: Send {
    /// Reads at most `max` bytes without blocking (an empty vector when
    /// none are ready).
    fn read(&mut self, max: usize) -> Result<Vec<u8>, StreamError>;
    /// Whether a read would return data or an error now.
    fn ready(&self) -> bool;
    /// A host fd that polls readable when [`HostInputStream::ready`]
    /// would say so, for blocking without spinning.
    fn host_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

/// An output stream the host implements.
pub trait HostOutputStream: Send {
    /// How many bytes a write may take now (0 when not ready).
    fn check_write(&mut self) -> Result<usize, StreamError>;
    /// Writes `bytes` (at most what `check_write` permitted).
    fn write(&mut self, bytes: &[u8]) -> Result<(), StreamError>;
    /// Starts flushing what was written.
    fn flush(&mut self) -> Result<(), StreamError>;
    /// Whether `check_write` would permit a write (or fail) now.
    fn ready(&self) -> bool;
    /// A host fd that polls writable when [`HostOutputStream::ready`]
    /// would say so.
    fn host_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

/// A readiness the host implements (a socket's connection, an HTTP
/// response arriving).
pub trait HostPollable: Send {
    /// Whether it is ready now.
    fn ready(&self) -> bool;
    /// A host fd that polls ready (readable if `true`, else writable)
    /// when it is, for blocking without spinning.
    fn host_fd(&self) -> Option<(std::os::fd::BorrowedFd<'_>, bool)> {
        None
    }
}

/// `wasi:io/poll`'s `pollable`.
pub enum Pollable {
    /// Always ready (files, output to the standard streams).
    Ready,
    /// Ready from an instant on.
    Deadline(Instant),
    /// Never ready (a deadline beyond what the host's clock can express).
    Never,
    /// Ready when standard input has data (or ends).
    Stdin,
    /// Ready when the host input stream with this handle is.
    Input(u32),
    /// Ready when the host output stream with this handle is.
    Output(u32),
    /// Ready when the host says so.
    Host(Box<dyn HostPollable>),
}

/// `wasi:io/streams`' `input-stream`.
pub enum InputStream {
    /// A preview1 fd's contents from `offset` on.
    #[doc(hidden)]
    File { fd: i32, offset: u64 },
    /// Standard input.
    Stdin,
    /// A stream the host implements.
    Host(Box<dyn HostInputStream>),
}

/// `wasi:io/streams`' `output-stream`.
pub enum OutputStream {
    /// Writes into a preview1 fd from `offset` on.
    #[doc(hidden)]
    File { fd: i32, offset: u64 },
    /// Writes at the end of a preview1 fd.
    #[doc(hidden)]
    Append { fd: i32 },
    /// Standard output (1) or error (2).
    Stdio(i32),
    /// A stream the host implements.
    Host(Box<dyn HostOutputStream>),
}

/// A host stream's failure as a stream operation's error.
fn stream_error(e: StreamError) -> std::result::Result<Option<Vec<u8>>, Errno> {
    match e {
        StreamError::Closed => Ok(None),
        StreamError::Failed(errno) => Err(errno),
    }
}

/// `err(closed)` of a stream operation.
fn closed() -> Val {
    err(Val::Variant("closed".into(), None))
}

/// `err(last-operation-failed(e))` of a stream operation.
pub(super) fn failed(ctx: &mut WasiCtx, errno: Errno) -> Result<Val> {
    let e = ctx.p2.push(IoError { errno })?;
    Ok(err(Val::Variant(
        "last-operation-failed".into(),
        Some(Box::new(handle(e))),
    )))
}

/// Reads up to `len` bytes from `stream`; `Ok(None)` at its end.
fn read(
    ctx: &mut WasiCtx,
    stream: &Resource<InputStream>,
    len: u64,
    blocking: bool,
) -> Result<std::result::Result<Option<Vec<u8>>, Errno>> {
    let len = len.min(MAX_READ) as u32;
    if len == 0 {
        return Ok(Ok(Some(Vec::new())));
    }
    if let InputStream::Host(host) = ctx.p2.get_mut(stream)? {
        return Ok(read_host(host.as_mut(), len as usize, blocking));
    }
    match *ctx.p2.get(stream)? {
        InputStream::Host(_) => unreachable!("handled above"),
        InputStream::Stdin => {
            let Ok(entry) = ctx.table.get(0) else {
                return Ok(Ok(None));
            };
            let Kind::Input(input) = &entry.kind else {
                return Ok(Err(Errno::Badf));
            };
            if !blocking && !crate::poll::ready_now(input.host_fd(), true) {
                return Ok(Ok(Some(Vec::new())));
            }
            let mut buf = vec![0; len as usize];
            match input.read(&mut buf) {
                Ok(0) => Ok(Ok(None)),
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Ok(Some(buf)))
                }
                Err(e) => Ok(Err(Errno::from(e))),
            }
        }
        InputStream::File { fd, offset } => {
            let mut s = Scratch::default();
            let buf = s.reserve(len as usize);
            let iov = s.iovec(buf, len);
            let nread = s.reserve(4);
            if let Err(e) = ctx.fd_pread(&mut s.mem(), fd, iov, 1, offset, nread) {
                return Ok(Err(e));
            }
            let n = s.u32_at(nread);
            if n == 0 {
                return Ok(Ok(None));
            }
            if let InputStream::File { offset, .. } = ctx.p2.get_mut(stream)? {
                *offset += u64::from(n);
            }
            Ok(Ok(Some(s.bytes(buf, n).to_vec())))
        }
    }
}

/// Reads from a host stream, blocking (by polling its readiness) when
/// asked to until data or its end arrive.
fn read_host(
    host: &mut dyn HostInputStream,
    len: usize,
    blocking: bool,
) -> std::result::Result<Option<Vec<u8>>, Errno> {
    loop {
        match host.read(len) {
            Ok(data) if data.is_empty() && blocking => block_on(|| host.ready(), host.host_fd()),
            Ok(data) => return Ok(Some(data)),
            Err(e) => return stream_error(e),
        }
    }
}

/// Waits a while for `ready`: on `fd` if there is one, else briefly.
fn block_on(ready: impl Fn() -> bool, fd: Option<std::os::fd::BorrowedFd<'_>>) {
    if ready() {
        return;
    }
    match fd {
        Some(fd) => {
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            let ts = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let _ = rustix::event::poll(&mut fds, Some(&ts));
        }
        None => std::thread::sleep(Duration::from_millis(1)),
    }
}

/// Writes all of `data` to `stream`.
fn write(
    ctx: &mut WasiCtx,
    stream: &Resource<OutputStream>,
    data: &[u8],
) -> Result<std::result::Result<(), Errno>> {
    ensure!(
        data.len() as u64 <= MAX_WRITE,
        "a write of {} bytes, more than check-write permitted",
        data.len()
    );
    if let OutputStream::Host(host) = ctx.p2.get_mut(stream)? {
        return Ok(write_host(host.as_mut(), data));
    }
    let mut s = Scratch::default();
    let at = s.put(data);
    let mut done = 0u32;
    while (done as usize) < data.len() {
        let iov = s.iovec(at + done, data.len() as u32 - done);
        let n_at = s.reserve(4);
        let result = match *ctx.p2.get(stream)? {
            OutputStream::Host(_) => unreachable!("handled above"),
            OutputStream::Stdio(fd) => ctx.fd_write(&mut s.mem(), fd, iov, 1, n_at),
            OutputStream::File { fd, offset } => {
                ctx.fd_pwrite(&mut s.mem(), fd, iov, 1, offset, n_at)
            }
            OutputStream::Append { fd } => match ctx.file_size(fd) {
                Ok(end) => ctx.fd_pwrite(&mut s.mem(), fd, iov, 1, end, n_at),
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            return Ok(Err(e));
        }
        let n = s.u32_at(n_at);
        if n == 0 {
            return Ok(Err(Errno::Nospc));
        }
        done += n;
        if let OutputStream::File { offset, .. } = ctx.p2.get_mut(stream)? {
            *offset += u64::from(n);
        }
    }
    Ok(Ok(()))
}

/// Writes all of `data` to a host stream, waiting for it to accept more
/// as needed.
fn write_host(host: &mut dyn HostOutputStream, mut data: &[u8]) -> std::result::Result<(), Errno> {
    let fail = |e| match e {
        StreamError::Closed => Errno::Pipe,
        StreamError::Failed(errno) => errno,
    };
    while !data.is_empty() {
        let permit = host.check_write().map_err(fail)?;
        if permit == 0 {
            block_on(|| host.ready(), None);
            continue;
        }
        let n = permit.min(data.len());
        host.write(&data[..n]).map_err(fail)?;
        data = &data[n..];
    }
    host.flush().map_err(fail)
}

/// Whether `p` is ready now.
fn ready(ctx: &WasiCtx, p: &Pollable, now: Instant) -> bool {
    match p {
        Pollable::Ready => true,
        Pollable::Deadline(d) => now >= *d,
        Pollable::Never => false,
        Pollable::Stdin => match ctx.table.get(0).map(|e| &e.kind) {
            Ok(Kind::Input(input)) => crate::poll::ready_now(input.host_fd(), true),
            _ => true,
        },
        Pollable::Input(rep) => match ctx.p2.get(&Resource::<InputStream>::new_borrow(*rep)) {
            Ok(InputStream::Host(h)) => h.ready(),
            _ => true,
        },
        Pollable::Output(rep) => match ctx.p2.get(&Resource::<OutputStream>::new_borrow(*rep)) {
            Ok(OutputStream::Host(h)) => h.ready(),
            _ => true,
        },
        Pollable::Host(h) => h.ready(),
    }
}

/// Blocks until one of `polls` is ready and returns the indices of those
/// that are. The embedder's blocking deadline stops the guest.
fn wait(ctx: &mut WasiCtx, polls: &[Resource<Pollable>]) -> Result<Vec<u32>> {
    use rustix::event::{PollFd, PollFlags};
    ensure!(!polls.is_empty(), "`poll` of an empty list");
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut wake: Option<Instant> = None;
        // Host fds to sleep on, and whether some readiness has none (then
        // it is checked again shortly).
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        let mut spin = false;
        let ctx: &WasiCtx = ctx;
        for (i, r) in (0u32..).zip(polls) {
            let p = ctx.p2.get(r)?;
            if ready(ctx, p, now) {
                out.push(i);
            }
            let (fd, flags) = match p {
                Pollable::Deadline(d) => {
                    wake = Some(wake.map_or(*d, |w| w.min(*d)));
                    continue;
                }
                Pollable::Ready | Pollable::Never => continue,
                Pollable::Stdin => match ctx.table.get(0).map(|e| &e.kind) {
                    Ok(Kind::Input(input)) => (input.host_fd(), PollFlags::IN),
                    _ => continue,
                },
                Pollable::Input(rep) => {
                    match ctx.p2.get(&Resource::<InputStream>::new_borrow(*rep)) {
                        Ok(InputStream::Host(h)) => (h.host_fd(), PollFlags::IN),
                        _ => continue,
                    }
                }
                Pollable::Output(rep) => {
                    match ctx.p2.get(&Resource::<OutputStream>::new_borrow(*rep)) {
                        Ok(OutputStream::Host(h)) => (h.host_fd(), PollFlags::OUT),
                        _ => continue,
                    }
                }
                Pollable::Host(h) => match h.host_fd() {
                    Some((fd, true)) => (Some(fd), PollFlags::IN),
                    Some((fd, false)) => (Some(fd), PollFlags::OUT),
                    None => (None, PollFlags::IN),
                },
            };
            match fd {
                Some(fd) => fds.push(PollFd::from_borrowed_fd(fd, flags)),
                None => spin = true,
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
        if let Some(limit) = ctx.blocking_deadline {
            if now >= limit {
                return Err(anyhow::Error::new(hayate::Trap::Interrupt));
            }
            wake = Some(wake.map_or(limit, |w| w.min(limit)));
        }
        let mut timeout = wake.map_or(Duration::from_secs(1), |w| w.saturating_duration_since(now));
        if spin {
            timeout = timeout.min(Duration::from_millis(1));
        }
        if fds.is_empty() {
            std::thread::sleep(timeout.min(Duration::from_secs(1)));
        } else {
            let ts = rustix::time::Timespec {
                tv_sec: timeout.as_secs().min(1) as i64,
                tv_nsec: timeout.subsec_nanos() as i64,
            };
            let _ = rustix::event::poll(&mut fds, Some(&ts));
        }
    }
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut errors = interface(linker, "wasi:io/error")?;
    resource::<T, IoError>(&mut errors, "error", get, |_, _| {})?;
    errors.func_new(
        "[method]error.to-debug-string",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let e = arg_res::<IoError>(args, 0)?;
            let errno = get(store.data_mut()).p2.get(&e)?.errno;
            ret(results, Val::String(errno.message().into()))
        },
    )?;

    let mut poll = interface(linker, "wasi:io/poll")?;
    resource::<T, Pollable>(&mut poll, "pollable", get, |_, _| {})?;
    poll.func_new(
        "[method]pollable.ready",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let p = arg_res::<Pollable>(args, 0)?;
            let ctx = get(store.data_mut());
            let is = ready(ctx, ctx.p2.get(&p)?, Instant::now());
            ret(results, Val::Bool(is))
        },
    )?;
    poll.func_new(
        "[method]pollable.block",
        move |mut store: StoreContextMut<'_, T>, args, _| {
            let p = arg_res::<Pollable>(args, 0)?;
            wait(get(store.data_mut()), &[p]).map(drop)
        },
    )?;
    poll.func_new(
        "poll",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let Val::List(items) = arg(args, 0)? else {
                bail!("expected a list of pollables");
            };
            let polls = items
                .iter()
                .map(|v| match v {
                    Val::Resource(r) => r.clone().try_into_resource::<Pollable>(),
                    other => bail!("expected a pollable, found {other:?}"),
                })
                .collect::<Result<Vec<_>>>()?;
            let ready = wait(get(store.data_mut()), &polls)?;
            ret(
                results,
                Val::List(ready.into_iter().map(Val::U32).collect()),
            )
        },
    )?;

    let mut streams = interface(linker, "wasi:io/streams")?;
    resource::<T, InputStream>(&mut streams, "input-stream", get, |_, _| {})?;
    resource::<T, OutputStream>(&mut streams, "output-stream", get, |_, _| {})?;
    // `read` gives the bytes, `skip` only how many there were.
    let bytes: fn(&[u8]) -> Val = super::vals::bytes;
    let count: fn(&[u8]) -> Val = |data| Val::U64(data.len() as u64);
    for (name, blocking, answer) in [
        ("[method]input-stream.read", false, bytes),
        ("[method]input-stream.blocking-read", true, bytes),
        ("[method]input-stream.skip", false, count),
        ("[method]input-stream.blocking-skip", true, count),
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<InputStream>(args, 0)?;
                let len = arg_u64(args, 1)?;
                let ctx = get(store.data_mut());
                let v = match read(ctx, &stream, len, blocking)? {
                    Ok(Some(data)) => ok(Some(answer(&data))),
                    Ok(None) => closed(),
                    Err(e) => failed(ctx, e)?,
                };
                ret(results, v)
            },
        )?;
    }
    streams.func_new(
        "[method]input-stream.subscribe",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let stream = arg_res::<InputStream>(args, 0)?;
            let ctx = get(store.data_mut());
            let p = match ctx.p2.get(&stream)? {
                InputStream::Stdin => Pollable::Stdin,
                InputStream::File { .. } => Pollable::Ready,
                InputStream::Host(_) => Pollable::Input(stream.rep()),
            };
            let p = ctx.p2.push_child(p, &stream)?;
            ret(results, handle(p))
        },
    )?;
    streams.func_new(
        "[method]output-stream.check-write",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let stream = arg_res::<OutputStream>(args, 0)?;
            let ctx = get(store.data_mut());
            let v = match ctx.p2.get_mut(&stream)? {
                OutputStream::Host(h) => match h.check_write() {
                    Ok(n) => ok(Some(Val::U64((n as u64).min(MAX_WRITE)))),
                    Err(StreamError::Closed) => closed(),
                    Err(StreamError::Failed(e)) => failed(ctx, e)?,
                },
                _ => ok(Some(Val::U64(MAX_WRITE))),
            };
            ret(results, v)
        },
    )?;
    for name in [
        "[method]output-stream.write",
        "[method]output-stream.blocking-write-and-flush",
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<OutputStream>(args, 0)?;
                let data = super::vals::arg_bytes(args, 1)?;
                let ctx = get(store.data_mut());
                let v = match write(ctx, &stream, &data)? {
                    Ok(()) => ok(None),
                    Err(e) => failed(ctx, e)?,
                };
                ret(results, v)
            },
        )?;
    }
    for name in [
        "[method]output-stream.write-zeroes",
        "[method]output-stream.blocking-write-zeroes-and-flush",
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<OutputStream>(args, 0)?;
                let len = arg_u64(args, 1)?;
                ensure!(len <= MAX_WRITE, "more zeroes than check-write permitted");
                let ctx = get(store.data_mut());
                let v = match write(ctx, &stream, &vec![0; len as usize])? {
                    Ok(()) => ok(None),
                    Err(e) => failed(ctx, e)?,
                };
                ret(results, v)
            },
        )?;
    }
    for name in [
        "[method]output-stream.flush",
        "[method]output-stream.blocking-flush",
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<OutputStream>(args, 0)?;
                let ctx = get(store.data_mut());
                let v = match ctx.p2.get_mut(&stream)? {
                    OutputStream::Host(h) => match h.flush() {
                        Ok(()) => ok(None),
                        Err(StreamError::Closed) => closed(),
                        Err(StreamError::Failed(e)) => failed(ctx, e)?,
                    },
                    _ => ok(None),
                };
                ret(results, v)
            },
        )?;
    }
    for name in [
        "[method]output-stream.splice",
        "[method]output-stream.blocking-splice",
    ] {
        let blocking = name.contains("blocking");
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let out = arg_res::<OutputStream>(args, 0)?;
                let src = arg_res::<InputStream>(args, 1)?;
                let len = arg_u64(args, 2)?.min(MAX_WRITE);
                let ctx = get(store.data_mut());
                let v = match read(ctx, &src, len, blocking)? {
                    Ok(Some(data)) => match write(ctx, &out, &data)? {
                        Ok(()) => ok(Some(Val::U64(data.len() as u64))),
                        Err(e) => failed(ctx, e)?,
                    },
                    Ok(None) => closed(),
                    Err(e) => failed(ctx, e)?,
                };
                ret(results, v)
            },
        )?;
    }
    streams.func_new(
        "[method]output-stream.subscribe",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let stream = arg_res::<OutputStream>(args, 0)?;
            let ctx = get(store.data_mut());
            let p = match ctx.p2.get(&stream)? {
                OutputStream::Host(_) => Pollable::Output(stream.rep()),
                _ => Pollable::Ready,
            };
            let p = ctx.p2.push_child(p, &stream)?;
            ret(results, handle(p))
        },
    )?;
    Ok(())
}

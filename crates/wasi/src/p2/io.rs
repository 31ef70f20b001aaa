//! `wasi:io`: errors, pollables and `poll`, and the input and output
//! streams of standard input and output and of files. File streams read
//! and write through the preview1 `fd_pread`/`fd_pwrite` of their
//! descriptor (so its rights apply); standard streams are the context's.

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
pub(crate) struct IoError {
    pub errno: Errno,
}

/// `wasi:io/poll`'s `pollable`.
pub(crate) enum Pollable {
    /// Always ready (files, output to the standard streams).
    Ready,
    /// Ready from an instant on.
    Deadline(Instant),
    /// Never ready (a deadline beyond what the host's clock can express).
    Never,
    /// Ready when standard input has data (or ends).
    Stdin,
}

/// `wasi:io/streams`' `input-stream`.
pub(crate) enum InputStream {
    /// A file descriptor's contents from `offset` on.
    File { fd: i32, offset: u64 },
    /// Standard input.
    Stdin,
}

/// `wasi:io/streams`' `output-stream`.
pub(crate) enum OutputStream {
    /// Writes into a file descriptor from `offset` on.
    File { fd: i32, offset: u64 },
    /// Writes at the end of a file descriptor.
    Append { fd: i32 },
    /// Standard output (1) or error (2).
    Stdio(i32),
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

fn bytes(data: Vec<u8>) -> Val {
    Val::List(data.into_iter().map(Val::U8).collect())
}

fn arg_bytes(args: &[Val], i: usize) -> Result<Vec<u8>> {
    match arg(args, i)? {
        Val::List(items) => items
            .iter()
            .map(|v| match v {
                Val::U8(b) => Ok(*b),
                other => bail!("expected a byte, found {other:?}"),
            })
            .collect(),
        other => bail!("expected a list of bytes, found {other:?}"),
    }
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
    match *ctx.p2.get(stream)? {
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
    let mut s = Scratch::default();
    let at = s.put(data);
    let mut done = 0u32;
    while (done as usize) < data.len() {
        let iov = s.iovec(at + done, data.len() as u32 - done);
        let n_at = s.reserve(4);
        let result = match *ctx.p2.get(stream)? {
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
    }
}

/// Blocks until one of `polls` is ready and returns the indices of those
/// that are. The embedder's blocking deadline stops the guest.
fn wait(ctx: &mut WasiCtx, polls: &[Resource<Pollable>]) -> Result<Vec<u32>> {
    ensure!(!polls.is_empty(), "`poll` of an empty list");
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut wake: Option<Instant> = None;
        let mut stdin = false;
        for (i, r) in (0u32..).zip(polls) {
            let p = ctx.p2.get(r)?;
            if ready(ctx, p, now) {
                out.push(i);
            }
            match p {
                Pollable::Deadline(d) => wake = Some(wake.map_or(*d, |w| w.min(*d))),
                Pollable::Stdin => stdin = true,
                _ => {}
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
        let timeout = wake.map_or(Duration::from_secs(1), |w| w.saturating_duration_since(now));
        let host_stdin = match ctx.table.get(0).map(|e| &e.kind) {
            Ok(Kind::Input(input)) if stdin => input.host_fd(),
            _ => None,
        };
        match host_stdin {
            Some(fd) => {
                let mut fds = [rustix::event::PollFd::new(
                    &fd,
                    rustix::event::PollFlags::IN,
                )];
                let ts = rustix::time::Timespec {
                    tv_sec: timeout.as_secs() as i64,
                    tv_nsec: timeout.subsec_nanos() as i64,
                };
                let _ = rustix::event::poll(&mut fds, Some(&ts));
            }
            None => std::thread::sleep(timeout.min(Duration::from_secs(1))),
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
    for (name, blocking) in [
        ("[method]input-stream.read", false),
        ("[method]input-stream.blocking-read", true),
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<InputStream>(args, 0)?;
                let len = arg_u64(args, 1)?;
                let ctx = get(store.data_mut());
                let v = match read(ctx, &stream, len, blocking)? {
                    Ok(Some(data)) => ok(Some(bytes(data))),
                    Ok(None) => closed(),
                    Err(e) => failed(ctx, e)?,
                };
                ret(results, v)
            },
        )?;
    }
    for (name, blocking) in [
        ("[method]input-stream.skip", false),
        ("[method]input-stream.blocking-skip", true),
    ] {
        streams.func_new(
            name,
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let stream = arg_res::<InputStream>(args, 0)?;
                let len = arg_u64(args, 1)?;
                let ctx = get(store.data_mut());
                let v = match read(ctx, &stream, len, blocking)? {
                    Ok(Some(data)) => ok(Some(Val::U64(data.len() as u64))),
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
            };
            let p = ctx.p2.push_child(p, &stream)?;
            ret(results, handle(p))
        },
    )?;
    streams.func_new(
        "[method]output-stream.check-write",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let stream = arg_res::<OutputStream>(args, 0)?;
            get(store.data_mut()).p2.get(&stream)?;
            ret(results, ok(Some(Val::U64(MAX_WRITE))))
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
                let data = arg_bytes(args, 1)?;
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
                get(store.data_mut()).p2.get(&stream)?;
                ret(results, ok(None))
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
            let p = get(store.data_mut())
                .p2
                .push_child(Pollable::Ready, &stream)?;
            ret(results, handle(p))
        },
    )?;
    Ok(())
}

//! `add_to_linker`: defines every `wasi_snapshot_preview1` function in a
//! `Linker`, converting the raw Wasm arguments, giving each call a checked
//! view of the caller's memory, and returning errno values.

use hayate::{Caller, Error, Extern, Linker};

use crate::I32Exit;
use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::proc::ProcRaise;

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

fn narrow<N: TryFrom<u32>>(v: u32) -> WasiResult<N> {
    N::try_from(v).map_err(|_| Errno::Inval)
}

fn code(r: WasiResult<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e as i32,
    }
}

fn run(f: impl FnOnce() -> WasiResult<()>) -> i32 {
    code(f())
}

fn with_memory<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory) -> WasiResult<()>,
) -> hayate::Result<i32> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(Error::msg(
            "a WASI function was called by a module that exports no memory named `memory`",
        ));
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut mem = GuestMemory::new(bytes);
    Ok(code(f(get(data), &mut mem)))
}

macro_rules! with_mem {
    ($linker:ident, $get:ident, $name:literal, |$ctx:ident, $mem:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap(
            MODULE,
            $name,
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> hayate::Result<i32> {
                with_memory(&mut caller, $get, |$ctx, $mem| $body)
            },
        )?;
    };
}

macro_rules! without_mem {
    ($linker:ident, $get:ident, $name:literal, |$ctx:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap(
            MODULE,
            $name,
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> i32 {
                let $ctx = $get(caller.data_mut());
                run(|| $body)
            },
        )?;
    };
}

/// Defines every function of `wasi_snapshot_preview1` in `linker`. `get`
/// finds the guest's [`WasiCtx`] in the store's data.
///
/// `proc_exit` ends the call with an error holding [`I32Exit`]; embedders
/// find the exit code with `error.downcast_ref::<I32Exit>()`. A status of
/// 126 or more (or negative) is not a portable exit status: the call ends
/// with an error saying so instead, as in Wasmtime.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> hayate::Result<()> {
    with_mem!(linker, get, "args_get", |c, m, argv: u32, buf: u32| c
        .args_get(m, argv, buf));
    with_mem!(
        linker,
        get,
        "args_sizes_get",
        |c, m, argc: u32, size: u32| c.args_sizes_get(m, argc, size)
    );
    with_mem!(linker, get, "environ_get", |c, m, env: u32, buf: u32| c
        .environ_get(m, env, buf));
    with_mem!(
        linker,
        get,
        "environ_sizes_get",
        |c, m, n: u32, size: u32| c.environ_sizes_get(m, n, size)
    );
    with_mem!(linker, get, "clock_res_get", |c, m, id: u32, out: u32| c
        .clock_res_get(m, id, out));
    with_mem!(
        linker,
        get,
        "clock_time_get",
        |c, m, id: u32, precision: u64, out: u32| c.clock_time_get(m, id, precision, out)
    );
    without_mem!(
        linker,
        get,
        "fd_advise",
        |c, fd: i32, offset: u64, len: u64, advice: u32| c.fd_advise(
            fd,
            offset,
            len,
            narrow(advice)?
        )
    );
    without_mem!(
        linker,
        get,
        "fd_allocate",
        |c, fd: i32, offset: u64, len: u64| c.fd_allocate(fd, offset, len)
    );
    without_mem!(linker, get, "fd_close", |c, fd: i32| c.fd_close(fd));
    without_mem!(linker, get, "fd_datasync", |c, fd: i32| c.fd_sync(fd, true));
    with_mem!(linker, get, "fd_fdstat_get", |c, m, fd: i32, out: u32| c
        .fd_fdstat_get(m, fd, out));
    without_mem!(
        linker,
        get,
        "fd_fdstat_set_flags",
        |c, fd: i32, flags: u32| c.fd_fdstat_set_flags(fd, narrow(flags)?)
    );
    without_mem!(
        linker,
        get,
        "fd_fdstat_set_rights",
        |c, fd: i32, base: u64, inh: u64| c.fd_fdstat_set_rights(fd, base, inh)
    );
    with_mem!(linker, get, "fd_filestat_get", |c, m, fd: i32, out: u32| c
        .fd_filestat_get(m, fd, out));
    without_mem!(
        linker,
        get,
        "fd_filestat_set_size",
        |c, fd: i32, size: u64| c.fd_filestat_set_size(fd, size)
    );
    without_mem!(
        linker,
        get,
        "fd_filestat_set_times",
        |c, fd: i32, atim: u64, mtim: u64, fst: u32| c.fd_filestat_set_times(
            fd,
            atim,
            mtim,
            narrow(fst)?
        )
    );
    with_mem!(
        linker,
        get,
        "fd_pread",
        |c, m, fd: i32, iovs: u32, len: u32, off: u64, out: u32| c
            .fd_pread(m, fd, iovs, len, off, out)
    );
    with_mem!(linker, get, "fd_prestat_get", |c, m, fd: i32, out: u32| c
        .fd_prestat_get(m, fd, out));
    with_mem!(
        linker,
        get,
        "fd_prestat_dir_name",
        |c, m, fd: i32, path: u32, len: u32| c.fd_prestat_dir_name(m, fd, path, len)
    );
    with_mem!(
        linker,
        get,
        "fd_pwrite",
        |c, m, fd: i32, iovs: u32, len: u32, off: u64, out: u32| c
            .fd_pwrite(m, fd, iovs, len, off, out)
    );
    with_mem!(
        linker,
        get,
        "fd_read",
        |c, m, fd: i32, iovs: u32, len: u32, out: u32| c.fd_read(m, fd, iovs, len, out)
    );
    with_mem!(
        linker,
        get,
        "fd_readdir",
        |c, m, fd: i32, buf: u32, len: u32, cookie: u64, out: u32| c
            .fd_readdir(m, fd, buf, len, cookie, out)
    );
    without_mem!(linker, get, "fd_renumber", |c, from: i32, to: i32| c
        .fd_renumber(from, to));
    with_mem!(
        linker,
        get,
        "fd_seek",
        |c, m, fd: i32, off: i64, whence: u32, out: u32| c.fd_seek(
            m,
            fd,
            off,
            narrow(whence)?,
            out
        )
    );
    without_mem!(linker, get, "fd_sync", |c, fd: i32| c.fd_sync(fd, false));
    with_mem!(linker, get, "fd_tell", |c, m, fd: i32, out: u32| c
        .fd_tell(m, fd, out));
    with_mem!(
        linker,
        get,
        "fd_write",
        |c, m, fd: i32, iovs: u32, len: u32, out: u32| c.fd_write(m, fd, iovs, len, out)
    );
    with_mem!(
        linker,
        get,
        "path_create_directory",
        |c, m, fd: i32, p: u32, len: u32| c.path_create_directory(m, fd, p, len)
    );
    with_mem!(
        linker,
        get,
        "path_filestat_get",
        |c, m, fd: i32, flags: u32, p: u32, len: u32, out: u32| c
            .path_filestat_get(m, fd, flags, p, len, out)
    );
    with_mem!(
        linker,
        get,
        "path_filestat_set_times",
        |c, m, fd: i32, flags: u32, p: u32, len: u32, atim: u64, mtim: u64, fst: u32| c
            .path_filestat_set_times(m, fd, flags, p, len, atim, mtim, narrow(fst)?)
    );
    with_mem!(
        linker,
        get,
        "path_link",
        |c,
         m,
         old_fd: i32,
         old_flags: u32,
         old_p: u32,
         old_len: u32,
         new_fd: i32,
         new_p: u32,
         new_len: u32| c
            .path_link(m, old_fd, old_flags, old_p, old_len, new_fd, new_p, new_len)
    );
    with_mem!(
        linker,
        get,
        "path_open",
        |c,
         m,
         fd: i32,
         dirflags: u32,
         p: u32,
         len: u32,
         oflags: u32,
         base: u64,
         inheriting: u64,
         fdflags: u32,
         out: u32| c.path_open(
            m,
            fd,
            dirflags,
            p,
            len,
            narrow(oflags)?,
            base,
            inheriting,
            narrow(fdflags)?,
            out
        )
    );
    with_mem!(
        linker,
        get,
        "path_readlink",
        |c, m, fd: i32, p: u32, len: u32, buf: u32, buf_len: u32, out: u32| c
            .path_readlink(m, fd, p, len, buf, buf_len, out)
    );
    with_mem!(
        linker,
        get,
        "path_remove_directory",
        |c, m, fd: i32, p: u32, len: u32| c.path_remove_directory(m, fd, p, len)
    );
    with_mem!(
        linker,
        get,
        "path_rename",
        |c, m, fd: i32, old_p: u32, old_len: u32, new_fd: i32, new_p: u32, new_len: u32| c
            .path_rename(m, fd, old_p, old_len, new_fd, new_p, new_len)
    );
    with_mem!(
        linker,
        get,
        "path_symlink",
        |c, m, old_p: u32, old_len: u32, fd: i32, new_p: u32, new_len: u32| c
            .path_symlink(m, old_p, old_len, fd, new_p, new_len)
    );
    with_mem!(
        linker,
        get,
        "path_unlink_file",
        |c, m, fd: i32, p: u32, len: u32| c.path_unlink_file(m, fd, p, len)
    );
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        move |mut caller: Caller<'_, T>, input: u32, output: u32, n: u32, out: u32| {
            let errno = with_memory(&mut caller, get, |c, m| {
                c.poll_oneoff(m, input, output, n, out)
            })?;
            // Woken by the embedder's blocking deadline with nothing ready:
            // the guest is out of time, and stops here rather than at its
            // next epoch check, which a busy machine may delay.
            if std::mem::take(&mut get(caller.data_mut()).blocking_deadline_passed) {
                return Err(Error::new(hayate::Trap::Interrupt));
            }
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_caller: Caller<'_, T>, status: u32| -> hayate::Result<()> {
            // A portable exit status is below 126 (126 and up mean "cannot
            // execute", "not found" and signals to a shell); Wasmtime
            // refuses the others the same way.
            match i32::try_from(status) {
                Ok(code) if code < 126 => Err(Error::new(I32Exit(code))),
                _ => Err(Error::msg(
                    "exit with invalid exit status outside of [0..126)",
                )),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_raise",
        move |mut caller: Caller<'_, T>, sig: u32| -> hayate::Result<i32> {
            let Ok(sig) = u8::try_from(sig) else {
                return Ok(Errno::Inval as i32);
            };
            match get(caller.data_mut()).proc_raise(sig) {
                Ok(()) => Ok(0),
                Err(ProcRaise::Errno(e)) => Ok(e as i32),
                Err(ProcRaise::Exit(exit)) => Err(Error::new(exit)),
            }
        },
    )?;
    with_mem!(linker, get, "random_get", |c, m, buf: u32, len: u32| c
        .random_get(m, buf, len));
    without_mem!(linker, get, "sched_yield", |c| c.sched_yield());
    with_mem!(
        linker,
        get,
        "sock_accept",
        |c, m, fd: i32, flags: u32, out: u32| c.sock_accept(m, fd, narrow(flags)?, out)
    );
    with_mem!(
        linker,
        get,
        "sock_recv",
        |c, m, fd: i32, iovs: u32, len: u32, flags: u32, nread: u32, roflags: u32| c.sock_recv(
            m,
            fd,
            iovs,
            len,
            narrow(flags)?,
            nread,
            roflags
        )
    );
    with_mem!(
        linker,
        get,
        "sock_send",
        |c, m, fd: i32, iovs: u32, len: u32, flags: u32, out: u32| c.sock_send(
            m,
            fd,
            iovs,
            len,
            narrow(flags)?,
            out
        )
    );
    without_mem!(linker, get, "sock_shutdown", |c, fd: i32, how: u32| c
        .sock_shutdown(fd, narrow(how)?));
    Ok(())
}

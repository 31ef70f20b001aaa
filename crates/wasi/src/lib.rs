//! WASI preview1 (`wasi_snapshot_preview1`) for Hayate: every function of
//! the snapshot, with the capability sandbox of `cap-std`.
//!
//! A guest sees only what its [`WasiCtx`] grants: its arguments and
//! environment, its three standard streams, the directories preopened for
//! it (each a capability: `..`, absolute paths and symlinks cannot lead out
//! of it) and the listening sockets preopened for it. Every fd carries
//! WASI rights, checked on every call; every pointer and length the guest
//! passes is checked against its memory (a bad one is `fault`, never a host
//! fault).
//!
//! # Behaviour worth knowing
//!
//! - **Escapes** (`..` past a preopen, absolute paths, symlinks leading
//!   out, whether the host or the guest made them) fail with `perm`, as in
//!   Wasmtime. Each directory fd is a root of its own: `..` from a
//!   subdirectory fd cannot reach its parent. `path_symlink` refuses
//!   absolute targets; relative ones are created but never followed out.
//!   `path_readlink` of a link with an absolute target fails with `perm`
//!   (the target would show a host path); relative targets are returned.
//!   A path that ends in `/`, `/.` or `/..` names what its last symlink
//!   points to, so `rmdir("link_out/")`, `stat("link_out/")` and the like
//!   are escapes too (`perm`), whatever the call does with the slash.
//! - **Rights** are checked on every call and fail with `notcapable`. A
//!   `path_open` may ask only for rights the directory fd passes on
//!   (`fs_rights_inheriting`); rights that do not apply to the opened
//!   object's type are dropped. `O_TRUNC` needs `path_filestat_set_size` on
//!   the directory, `O_CREAT` needs `path_create_file`. A read-only
//!   preopen ([`FsPerms::ReadOnly`]) passes on no right that changes
//!   anything. `fd_fdstat_set_rights` can only drop rights.
//! - **fd numbers**: preopens from 3 in the order added; new fds take the
//!   lowest free number. `fd_renumber(from, to)` needs both open, closes
//!   `to` and moves `from` there (the way programs swap stdout and stderr).
//! - **`fd_readdir`** lists `.` and `..` first. A listing is read when a
//!   guest starts at cookie 0 and kept with the fd, so cookies stay valid
//!   while entries are added or removed (`rm -r` does not skip entries).
//! - **Standard streams** never seek (`espipe`), so a terminal looks like
//!   one to `isatty`. Non-blocking reads of the host's stdin are emulated
//!   with `poll`, without changing the host's file status flags.
//! - **`proc_exit(n)`** ends the call with [`I32Exit`]`(n)` for `n` in
//!   `[0, 126)` and with an error for other statuses; `proc_raise`
//!   ignores signals whose default action is to ignore, stop or continue,
//!   and ends the guest with [`I32Exit`]`(128 + host signal number)` for
//!   the others (134 for `SIGABRT`).
//! - **Clocks**: realtime, monotonic, and process and thread CPU time.
//!   `poll_oneoff` waits on clocks (relative or absolute) and on fd
//!   readiness together; regular files are always ready; bad fds or
//!   missing rights come back as events with an error, not as a failed
//!   call.
//!
//! # Resource bounds
//!
//! A guest must not make the host allocate memory, or work, in proportion
//! to a number it chose beyond what its own memory allows, and one host
//! call cannot be interrupted (an epoch deadline or fuel only takes effect
//! when the call returns). So every count and length a guest passes is
//! bounded, and the guest sees POSIX behaviour at the bound:
//!
//! - **iovecs** (`fd_read`, `fd_pread`, `fd_write`, `fd_pwrite`,
//!   `sock_recv`, `sock_send`): the whole array must lie in memory (else
//!   `fault`), but only its first [`IOV_MAX`] (1024) entries are used, and
//!   they are cut so that their total stays within the size of memory (and
//!   a `u32`). A guest naming the same bytes many times gets a **short read
//!   or write**, never an error. Data moves straight between guest memory
//!   and the host fd (vectored writes, `pwritev`, reads into each buffer in
//!   turn): no host buffer is sized by a guest number. Streams (stdin,
//!   sockets) read into the first non-empty buffer only; `RECV_PEEK` peeks
//!   into it; `RECV_WAITALL` fills the (bounded) buffers in turn.
//! - **Standard output and error** are written from guest memory too,
//!   never gathered. An in-memory [`WritePipe::new_in_memory`] keeps
//!   everything; [`WritePipe::new_in_memory_with_capacity`] keeps at most
//!   its capacity: the write that reaches it is short, and writes to a full
//!   pipe fail with `nospc`.
//! - **Paths** of [`PATH_MAX`] (4096) bytes or more fail with
//!   `nametoolong` before anything is copied (Linux's limit, which counts
//!   the NUL: 4095 bytes is the longest path); a shorter path out of memory
//!   is `fault`.
//! - **`poll_oneoff`** takes at most [`MAX_SUBSCRIPTIONS`] (131073)
//!   subscriptions; more fail with `inval` (an array that does not fit
//!   memory is `fault` first). The host keeps a few tens of bytes per
//!   subscription for the call.
//! - **`random_get`** and **`fd_readdir`** write straight into the guest's
//!   buffer (checked to lie in memory first); nothing on the host is sized
//!   by their lengths.
//! - **fds**: a guest holds at most [`MAX_FDS`] at once (`path_open` and
//!   `sock_accept` then fail with `mfile`).
//! - What comes from the host, not the guest, is bounded by the host:
//!   arguments, environment and preopen names (written straight into
//!   memory, `fault` if they do not fit), directory listings (read whole
//!   when a listing starts at cookie 0) and symlink targets (at most the
//!   host's `PATH_MAX`).
//!
//! Not bounded here: disk space (writes, `fd_allocate`,
//! `fd_filestat_set_size` grow files as the host file system allows; use a
//! quota), and time spent blocked (a read of an empty stdin or socket, or
//! a `poll_oneoff` on a clock far away, waits as a blocked process would).
//!
//! ```no_run
//! use hayate::{Engine, Linker, Module, Store};
//! use hayate_wasi::{FsPerms, I32Exit, WasiCtx};
//!
//! # fn main() -> hayate::Result<()> {
//! let engine = Engine::default();
//! let module = Module::new(&engine, std::fs::read("hello.wasm").unwrap())?;
//! let mut linker = Linker::new(&engine);
//! hayate_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let ctx = WasiCtx::builder()
//!     .arg("hello.wasm")
//!     .inherit_stdio()
//!     .preopened_dir(".", ".", FsPerms::ReadWrite)
//!     .map_err(hayate::Error::new)?
//!     .build();
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! match start.call(&mut store, ()) {
//!     Ok(()) => {}
//!     Err(e) => match e.downcast_ref::<I32Exit>() {
//!         Some(exit) => std::process::exit(exit.0),
//!         None => return Err(e),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod ctx;
mod dir;
mod errno;
mod fd;
mod linker;
mod memory;
pub mod p1;
pub mod p2;
mod path;
mod perms;
pub mod pipe;
mod poll;
mod proc;
mod random;
mod sock;
mod stdio;
mod table;
pub mod types;

pub use ctx::{SocketAddrUse, WasiCtx, WasiCtxBuilder};
pub use errno::{Errno, WasiResult};
pub use linker::{MODULE, add_to_linker};
pub use memory::{GuestMemory, IOV_MAX, IoVec, PATH_MAX};
pub use perms::FsPerms;
pub use poll::MAX_SUBSCRIPTIONS;
pub use stdio::{ReadPipe, WritePipe};
pub use table::MAX_FDS;

/// The error that ends a guest which called `proc_exit(code)` (or raised a
/// terminating signal with `proc_raise`, as exit code 128 + the signal's
/// number). Find it with `error.downcast_ref::<I32Exit>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

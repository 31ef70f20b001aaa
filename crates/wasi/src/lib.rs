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
//! ```no_run
//! use hayate::{Engine, Linker, Module, Store};
//! use hayate_wasi::{I32Exit, WasiCtx};
//!
//! # fn main() -> hayate::Result<()> {
//! let engine = Engine::default();
//! let module = Module::new(&engine, std::fs::read("hello.wasm").unwrap())?;
//! let mut linker = Linker::new(&engine);
//! hayate_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let ctx = WasiCtx::builder()
//!     .arg("hello.wasm")
//!     .inherit_stdio()
//!     .preopened_dir(".", ".")
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

mod ctx;
mod dir;
mod errno;
mod fd;
mod linker;
mod memory;
mod path;
mod poll;
mod sock;
mod stdio;
mod table;
pub mod types;

pub use ctx::{DirPerms, WasiCtx, WasiCtxBuilder};
pub use errno::{Errno, WasiResult};
pub use linker::{MODULE, add_to_linker};
pub use memory::{GuestMemory, IoVec};
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

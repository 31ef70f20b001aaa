//! Hayate: a fast, safe WebAssembly runtime.
//!
//! Modules are compiled to native code with Cranelift, run in a sandbox with
//! guard-page-protected linear memories, and stopped by traps that come back
//! as ordinary Rust errors.
//!
//! ```
//! use hayate::{Engine, Linker, Module, Store};
//!
//! # fn main() -> hayate::Result<()> {
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "host" "double" (func $double (param i32) (result i32)))
//!       (func (export "add_then_double") (param i32 i32) (result i32)
//!         (call $double (i32.add (local.get 0) (local.get 1)))))
//! "#)?;
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let mut store = Store::new(&engine, ());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let f = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add_then_double")?;
//! assert_eq!(f.call(&mut store, (1, 2))?, 6);
//!
//! // Traps are errors, never crashes.
//! let module = Module::new(&engine, r#"(module (func (export "boom") unreachable))"#)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let boom = instance.get_typed_func::<(), ()>(&mut store, "boom")?;
//! let err = boom.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.downcast_ref::<hayate::Trap>(), Some(&hayate::Trap::UnreachableCodeReached));
//! # Ok(())
//! # }
//! ```

//!
//! # Coming from Wasmtime
//!
//! The API keeps Wasmtime 49's names and shapes (see the table in the
//! README): a program written against `wasmtime` compiles against `hayate`
//! with the crate name changed, as `hayate-wasi`'s `from_wasmtime`
//! example shows. Where Hayate differs on purpose:
//!
//! - [`Error`] is `anyhow::Error` (an error type of Hayate's own could not
//!   take both `?` on any `std::error::Error` and on an `anyhow::Error`),
//!   with [`bail!`], [`ensure!`], [`anyhow!`] and [`Context`]. Traps and
//!   backtraces are found with `downcast_ref::<Trap>()` and
//!   `downcast_ref::<WasmBacktrace>()`, as in Wasmtime.
//! - Memory layout is [`Config::bounds_checks`] ([`BoundsChecks`]): guard
//!   pages or explicit checks, instead of reservation and guard sizes.
//! - [`Config::table_lazy_init`] and [`Config::spec_version`] are
//!   Hayate's own; there is no async support, no component model, and no
//!   proposal past WebAssembly 2.0 but multi-memory yet.
//! - A precompiled artifact is Hayate's format: [`Module::deserialize`]
//!   refuses Wasmtime's `.cwasm` files, and the reverse.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod config;
mod engine;
mod error;
mod exceptions;
mod externals;
mod func;
mod instance;
mod instance_pre;
#[cfg(feature = "llvm")]
mod isolated;
#[cfg(feature = "compiler")]
mod lazy;
mod limits;
mod linker;
mod module;
mod serialize;
mod store;
mod typed;
mod types;
mod values;
mod vm;

pub use cache::CacheStats;
pub use config::{
    BoundsChecks, Config, InstanceAllocationStrategy, OptLevel, PoolingConfig, ProfilingStrategy,
    Strategy,
};
pub use engine::{Engine, Precompiled};
pub use error::{Context, Error, FrameInfo, Result, Trap, WasmBacktrace, anyhow, bail, ensure};
pub use exceptions::{ExnRef, ThrownException};
pub use externals::{Extern, Global, Memory, Table, Tag};
pub use func::{Caller, Func};
pub use hayate_environ::SpecVersion;
pub use instance::{Export, Instance};
pub use instance_pre::InstancePre;
pub use limits::{ResourceLimiter, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
pub use linker::{Linker, UnknownImportError};
pub use module::Module;
pub use store::{AsContext, AsContextMut, CallHook, Store, StoreContext, StoreContextMut};
pub use typed::{IntoFunc, TypedFunc, V128, WasmParams, WasmResults, WasmRet, WasmTy};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, HeapType, ImportType, MemoryType,
    MemoryTypeBuilder, Mutability, RefType, TableType, TagType, ValType,
};
pub use values::{AnyRef, ArrayRef, ExternRef, Ref, StructRef, Val};

//! WASI 0.2 for components: `wasi:cli`, `wasi:io`, `wasi:clocks`,
//! `wasi:random`, `wasi:filesystem` and `wasi:sockets`, defined on a
//! [`hayate_component::Linker`] by [`add_to_linker`].
//!
//! WASI 0.2 runs on the same capability core as preview1: a WASI 0.2
//! descriptor *is* a preview1 fd of the guest's [`WasiCtx`], and every
//! file-system operation goes through the preview1 operation that does
//! the same thing (path resolution, preopens, rights, limits), its
//! arguments passed through a small host-side scratch memory
//! (`bridge.rs`). So the two can never disagree about what a guest may
//! touch. Streams, pollables and errors are host resources kept in the
//! context's [`ResourceTable`](hayate_component::ResourceTable); a stream
//! of a descriptor is its child, so the descriptor cannot be dropped
//! before it.
//!
//! Interfaces are defined at version [`VERSION`]; the linker resolves an
//! import of any semver-compatible version (`@0.2.0` through `@0.2.12`)
//! to them, as Wasmtime's does.
//!
//! Every length a guest passes is bounded: reads return at most
//! [`MAX_READ`] bytes (short reads are allowed), writes and zero-fills
//! take at most what `check-write` permits, and `get-random-bytes` of more
//! than [`MAX_RANDOM`] bytes traps rather than allocate.

mod bridge;
mod cli;
mod clocks;
mod filesystem;
mod io;
pub mod pipe;
mod sockets;
pub mod vals;

use anyhow::{Context, Result};
use hayate_component::{Linker, LinkerInstance, Resource, ResourceType, Val};

use crate::ctx::WasiCtx;
use vals::{arg, arg_flag, arg_res, arg_str, arg_u64, err, handle, ok, ret};

pub use io::{
    HostInputStream, HostOutputStream, HostPollable, InputStream, IoError, OutputStream, Pollable,
    StreamError,
};

/// The WASI 0.2 version the interfaces are defined at.
pub const VERSION: &str = "0.2.12";

/// The most bytes one stream or descriptor read returns.
pub const MAX_READ: u64 = 1 << 20;

/// The most bytes `check-write` permits at once.
pub const MAX_WRITE: u64 = 1 << 20;

/// The most bytes one `get-random-bytes` call may ask for.
pub const MAX_RANDOM: u64 = 1 << 26;

/// How the WASI functions reach the [`WasiCtx`] in the store's data.
pub(crate) trait GetCtx<T>:
    Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static
{
}
impl<T, F: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static> GetCtx<T> for F {}

/// Defines the WASI 0.2 interfaces a command uses (`wasi:cli`,
/// `wasi:io`, `wasi:clocks`, `wasi:random`, `wasi:filesystem`,
/// `wasi:sockets`) on `linker`; `get` finds the [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> Result<()> {
    io::add(linker, get)?;
    cli::add(linker, get)?;
    clocks::add(linker, get)?;
    filesystem::add(linker, get)?;
    sockets::add(linker, get)?;
    Ok(())
}

/// Linker instance `interface` (`wasi:io/streams`) at [`VERSION`].
fn interface<'a, T: 'static>(
    linker: &'a mut Linker<T>,
    interface: &str,
) -> Result<LinkerInstance<'a, T>> {
    linker.instance(&format!("{interface}@{VERSION}"))
}

/// Defines host resource type `name` backed by `R` values in the
/// context's table; the destructor removes the value (and whatever
/// `on_drop` does with it).
fn resource<T: 'static, R: Send + 'static>(
    inst: &mut LinkerInstance<'_, T>,
    name: &str,
    get: impl GetCtx<T>,
    on_drop: fn(&mut WasiCtx, R),
) -> Result<()> {
    inst.resource(name, ResourceType::host::<R>(), move |mut store, rep| {
        let ctx = get(store.data_mut());
        let value = ctx.p2.delete(Resource::<R>::new_own(rep))?;
        on_drop(ctx, value);
        Ok(())
    })
}

/// Runs a `wasi:cli/command` component's `wasi:cli/run` export (of any
/// 0.2 version). A component that returns `err` ends with
/// [`I32Exit`](crate::I32Exit)`(1)`, as it would from `exit(err)`.
pub fn run<T: 'static>(
    mut store: impl hayate::AsContextMut<Data = T>,
    instance: &hayate_component::Instance,
) -> Result<()> {
    let name = instance
        .export_names()
        .find(|n| n.starts_with("wasi:cli/run@0.2."))
        .map(str::to_string)
        .context("the component exports no `wasi:cli/run@0.2` (is it a command?)")?;
    let run = instance
        .get_instance_func(&mut store, &name, "run")
        .with_context(|| format!("`{name}` has no `run` function"))?;
    let mut result = [Val::Bool(false)];
    run.call(&mut store, &[], &mut result)?;
    match &result[0] {
        Val::Result(Ok(_)) => Ok(()),
        _ => Err(anyhow::Error::new(crate::I32Exit(1))),
    }
}

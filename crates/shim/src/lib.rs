//! A containerd shim that runs WebAssembly containers with Hayate, built on
//! runwasi's `containerd-shim-wasm`: containerd starts the binary
//! `containerd-shim-hayate-v1` for the runtime `io.containerd.hayate.v1`,
//! the library sets up the container (namespaces, cgroups, rootfs, stdio)
//! with youki's libcontainer, and inside it calls [`HayateSandbox`] to run
//! the image's module.
//!
//! - **What runs**: the module named by the container's first argument
//!   (`/app.wasm`, or `/app.wasm#func` for an export other than
//!   `_start`), or the single `application/wasm` layer of an OCI Wasm
//!   image, as a WASI preview1 command: its arguments are the container's
//!   (the first is the module's path), its environment the container's,
//!   its stdio the container's, and the container's root directory is
//!   preopened as `/` (so volumes mounted into the container are visible
//!   at their paths).
//! - **Exit status**: the guest's `proc_exit` status; 134 after a trap,
//!   whose message goes to the container's stderr (as `hayate run` does).
//! - **Kill**: SIGTERM or SIGINT interrupts the guest through an epoch
//!   deadline and the container exits with 128 + the signal's number; a
//!   guest blocked in a host call is abandoned after a grace period.
//!   SIGKILL ends the process.
//! - **Memory**: the guest's linear memory cannot grow past the
//!   container's cgroup memory limit (`memory.grow` fails, as in any
//!   program that runs out of memory) when the container sees its cgroup
//!   at `/sys/fs/cgroup`, as Kubernetes mounts it (`ctr run` does not
//!   unless given `--mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup`);
//!   the cgroup bounds the whole process in any case.
//! - **Precompiled modules**: [`HayateCompiler`] compiles an image's
//!   module the first time it runs; the library keeps the artifact in
//!   containerd's content store (labelled
//!   `runwasi.io/precompiled/hayate/<key>`, the key being Hayate's
//!   compatibility hash) and hands it back on later starts. Only those
//!   artifacts are loaded: a precompiled module shipped inside an image is
//!   refused, since its machine code would be trusted blindly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod compiler;
mod limits;
mod sandbox;

use containerd_shim_wasm::shim::{Shim, Version, version};

pub use compiler::HayateCompiler;
pub use sandbox::HayateSandbox;

/// The shim: its name (`hayate`), version, sandbox and compiler.
pub struct HayateShim;

impl Shim for HayateShim {
    fn name() -> &'static str {
        "hayate"
    }

    fn version() -> Version {
        version!()
    }

    type Sandbox = HayateSandbox;

    #[allow(refining_impl_trait)]
    async fn compiler() -> Option<HayateCompiler> {
        match HayateCompiler::new() {
            Ok(compiler) => Some(compiler),
            Err(e) => {
                log::error!("no precompilation: {e:#}");
                None
            }
        }
    }

    fn supported_layers_types() -> &'static [&'static str] {
        // Both carry core modules, which Hayate runs; a component in
        // either is refused when it is loaded.
        &[
            "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
            "application/wasm",
        ]
    }
}

/// The engine configuration the sandbox and the compiler share, so that
/// what one compiles the other can load.
pub(crate) fn engine() -> anyhow::Result<hayate::Engine> {
    let mut config = hayate::Config::new();
    config.epoch_interruption(true);
    // Only artifacts from the content store reach `Module::new` as such;
    // the sandbox refuses artifacts found in an image (see the crate docs).
    config.allow_precompiled(true);
    hayate::Engine::new(&config)
}

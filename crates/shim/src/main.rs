//! `containerd-shim-hayate-v1`: the binary containerd starts for the
//! runtime `io.containerd.hayate.v1` (see `docs/kubernetes.md`).

#![forbid(unsafe_code)]

use containerd_shim_hayate::HayateShim;
use containerd_shim_wasm::shim::Cli;

fn main() {
    HayateShim::run(None);
}

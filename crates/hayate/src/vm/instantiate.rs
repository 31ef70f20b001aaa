//! Instantiation: allocating and initialising a runtime instance for a
//! store, with the engine's allocator and memory settings.

use std::sync::Arc;

use hayate_runtime::memory::MemoryConfig;
use hayate_runtime::{
    Imports, Instance as RtInstance, InstantiationError, ModuleRuntimeInfo, VMRuntimeLimits,
    VMStore, VMStoreContext,
};

use crate::engine::Engine;
use crate::error::{Error, Result};

/// Allocates and initialises an instance; it is pushed onto `instances`
/// even when initialisation fails, because (Wasm 2.0) other instances may
/// already reference it through shared tables.
#[allow(clippy::vec_box)]
pub(crate) fn instantiate(
    module: &Arc<ModuleRuntimeInfo>,
    imports: Imports,
    store: *mut dyn VMStore,
    limits: *const VMRuntimeLimits,
    engine: &Engine,
    instances: &mut Vec<Box<RtInstance>>,
) -> Result<usize> {
    let ctx = VMStoreContext {
        store,
        limits,
        epoch: &engine.inner.epoch,
    };
    let memory_config = memory_config(engine);
    let id = instances.len();
    // SAFETY: the imports were type-checked by the caller and point into
    // objects owned by the same store as `store`, which outlives instances;
    // the store also holds the engine, and so its allocator, until its
    // instances are dropped (`StoreOpaque::engine` is its last field).
    let instance = unsafe {
        RtInstance::new(
            module,
            imports,
            ctx,
            &memory_config,
            &engine.inner.allocator,
            id,
        )
        .map_err(instantiation_error)?
    };
    instances.push(instance);
    instances[id]
        .initialize(module)
        .map_err(instantiation_error)?;
    Ok(id)
}

pub(super) fn memory_config(engine: &Engine) -> MemoryConfig {
    MemoryConfig {
        bounds_checks: engine.config().tunables.bounds_checks,
    }
}

fn instantiation_error(e: InstantiationError) -> Error {
    match e {
        InstantiationError::Trap(t) => Error::new(t),
        other => Error::msg(other.to_string()),
    }
}

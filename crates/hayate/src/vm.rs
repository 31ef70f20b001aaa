//! The bridge to `hayate-runtime`: the one module of this crate allowed to
//! use `unsafe`. Each function here turns a raw runtime operation into a
//! safe one by relying on the store's ownership rule: everything a handle
//! points to is owned by the handle's store and lives as long as it, and
//! every public API checks the handle's store id before getting here.
//!
//! By concern: loading code and the public `Module::deserialize*`
//! ([`code`]), the pointer wrappers behind handles ([`pointers`]), calls
//! and errors across the boundary ([`calls`]), instantiation
//! ([`instantiate`]), and, below, the engine's host-function trampolines.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod calls;
mod code;
mod exns;
mod gc;
mod instantiate;
mod pointers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hayate_environ::{ModuleInfo, TypeIndex, VMSharedTypeIndex};
use hayate_runtime::code_memory::CodeMemory;

use crate::engine::Engine;
use crate::error::{Error, Result};

pub(crate) use calls::{call_raw, host_body};
pub(crate) use code::{
    load_code, load_code_from_file, map_file_head, module_images, register_with_profiler,
};
#[cfg(feature = "compiler")]
pub(crate) use code::{load_code_without_functions, register_late_with_profiler};
pub(crate) use exns::{exn_from_raw, exn_handle, exn_parts, to_host_error};
pub(crate) use gc::{object_header, read_object, write_object};
pub(crate) use instantiate::instantiate;
pub(crate) use pointers::{
    FuncRefPtr, GlobalPtr, HostMemory, HostTable, MemoryPtr, TablePtr, TagPtr,
};

/// Installs the trap handlers (idempotent).
pub(crate) fn init() {
    hayate_runtime::traphandlers::init_traps();
}

/// Engine-wide wasm-to-array trampolines for host functions that enter a
/// table or a global without being imported by a module.
#[derive(Default)]
pub(crate) struct HostTrampolines {
    by_type: Mutex<HashMap<VMSharedTypeIndex, (Arc<CodeMemory>, usize)>>,
}

impl HostTrampolines {
    pub(crate) fn get(&self, engine: &Engine, type_id: VMSharedTypeIndex) -> Result<*const u8> {
        let mut map = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, ptr)) = map.get(&type_id) {
            return Ok(*ptr as *const u8);
        }
        let compiler = engine.compiler()?;
        let ty = engine.lookup_type(type_id);
        let compiled = compiler
            .compile_trampolines(std::slice::from_ref(&**ty))
            .map_err(Error::new)?;
        let code = load_code(&compiled, Arc::new(ModuleInfo::default()))?;
        let ptr = code.wasm_to_array_trampoline(TypeIndex::from_u32(0));
        map.insert(type_id, (code, ptr as usize));
        Ok(ptr)
    }
}

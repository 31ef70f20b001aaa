//! The WebAssembly component model for Hayate: components decoded and
//! validated with `wasmparser`, instantiated by running their definitions
//! over the core engine's public API (core modules compile and run
//! exactly like modules), and the canonical ABI between component values
//! and core values. The embedding API follows `wasmtime::component`:
//! [`Component`], [`Linker`], [`Instance`], [`Func`] and [`Val`].
//!
//! The core runtime knows nothing of WIT: a lifted function is a core
//! export called with core values, a lowered one a host function given
//! to a core instance as an import.

#![forbid(unsafe_code)]

// `#[derive(ComponentType)]` names this crate by its path, also inside it.
extern crate self as hayate_component;

mod abi;
mod component;
mod func;
mod handles;
mod instance;
mod linker;
mod precompiled;
mod resource_table;
mod resources;
mod typed;
mod types;
mod values;
pub mod wave;

pub use component::Component;
pub use func::Func;
pub use handles::MAX_HANDLES;
pub use instance::Instance;
pub use linker::{InstancePre, Linker, LinkerInstance};
pub use resource_table::{ResourceTable, ResourceTableError};
pub use resources::{Resource, ResourceAny, ResourceType};
pub use typed::{AbiContext, ComponentList, ComponentParams, ComponentType, Lower, TypedFunc};
pub use types::{FuncType, ResourceIndex, Type, VariantCases};
pub use values::Val;

/// `#[derive(ComponentType)]` for Rust structs as WIT records and Rust
/// enums as WIT variants and enums (see [`ComponentType`]).
pub use hayate_component_macro::ComponentType;

#[doc(hidden)]
pub use typed::derive as __derive;

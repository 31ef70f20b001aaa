//! The `#[repr(C)]` structures compiled code reads and writes, laid out as
//! `hayate_environ::VMOffsets` and its companion modules say (checked by the
//! tests at the end of this file).

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::AtomicU64;

use hayate_environ::VMSharedTypeIndex;

/// The opaque start of an instance's VMContext. Only ever used behind a pointer.
#[repr(C, align(16))]
pub struct VMContext {
    _opaque: [u8; 0],
}

/// An imported function as compiled code calls it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    /// Entry with the Wasm calling convention.
    pub wasm_call: *const u8,
    /// The vmctx to pass as the callee's first argument.
    pub vmctx: *mut VMContext,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMMemoryDefinition {
    /// Start of the memory.
    pub base: *mut u8,
    /// Current size in bytes.
    pub current_length: usize,
}

// SAFETY: a definition is plain data describing a memory owned by one
// store (the `LinearMemory` it was read from); only that store's compiled
// code and runtime dereference `base`, and only while the store is
// borrowed, so moving the definition with its store to another thread
// moves nothing another thread could still be using.
unsafe impl Send for VMMemoryDefinition {}

/// A table as compiled code sees it. Each element is one pointer: a
/// `*const VMFuncRef` for `funcref` tables, an `externref` handle otherwise;
/// null is the null reference.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMTableDefinition {
    /// Start of the element array.
    pub base: *mut *mut c_void,
    /// Current number of elements.
    pub current_elements: u64,
}

// SAFETY: as for `VMMemoryDefinition`: a description of a table owned by
// one store, dereferenced only through that store.
unsafe impl Send for VMTableDefinition {}

/// Storage of one global: 16 bytes, enough for a `v128`.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobalDefinition {
    /// The raw bytes of the value, little-endian, starting at offset 0.
    pub bytes: [u8; 16],
}

/// A tag's definition (exception handling): its address is the tag's
/// identity, which exceptions carry and handlers compare; it records the
/// engine-wide id of the tag's type (its payload's types as parameters).
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMTagDefinition {
    /// Engine-wide id of the tag's function type.
    pub type_id: u32,
}

/// A function reference: everything needed to call a function from compiled
/// code or from the host, and its signature's engine-wide type id.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry with the Wasm calling convention.
    pub wasm_call: *const u8,
    /// Entry with the array calling convention.
    pub array_call: *const u8,
    /// The callee's vmctx, or its `VMHostFuncContext` for host functions.
    pub vmctx: *mut VMContext,
    /// Engine-wide id of the signature.
    pub type_id: u32,
    /// The function's defined-function index in the module of the
    /// instance at `vmctx`; 0 for host functions (see
    /// `vm_func_ref::DEFINED_INDEX`).
    pub defined_index: u32,
}

impl VMFuncRef {
    /// The engine-wide id of the function's signature (stored as a `u32`,
    /// the layout compiled code reads).
    pub fn shared_type(&self) -> VMSharedTypeIndex {
        VMSharedTypeIndex::from_u32(self.type_id)
    }
}

/// The array-call entry point: `(callee_vmctx, caller_vmctx, values, len) -> ok`.
pub type ArrayCallFn =
    unsafe extern "C" fn(*mut VMContext, *mut VMContext, *mut ValRaw, usize) -> u8;

/// Per-store state compiled code reads on every call: the stack limit, fuel
/// and epoch deadline, and the last Wasm frame seen when calling the host.
#[repr(C)]
#[derive(Debug)]
pub struct VMRuntimeLimits {
    /// Lowest address the stack may reach in Wasm code.
    pub stack_limit: UnsafeCell<usize>,
    /// Fuel consumed, counting up to zero from minus the fuel available.
    pub fuel_consumed: UnsafeCell<i64>,
    /// Epoch at which Wasm code must call the `EpochDeadline` builtin.
    pub epoch_deadline: UnsafeCell<u64>,
    /// Frame pointer recorded by the last wasm-to-host trampoline.
    pub last_wasm_exit_fp: UnsafeCell<usize>,
    /// Return address into Wasm recorded by the last wasm-to-host trampoline.
    pub last_wasm_exit_pc: UnsafeCell<usize>,
    /// Frame pointer of the host frame that last entered Wasm.
    pub last_wasm_entry_fp: UnsafeCell<usize>,
}

impl Default for VMRuntimeLimits {
    fn default() -> Self {
        VMRuntimeLimits {
            stack_limit: UnsafeCell::new(usize::MAX),
            fuel_consumed: UnsafeCell::new(0),
            epoch_deadline: UnsafeCell::new(u64::MAX),
            last_wasm_exit_fp: UnsafeCell::new(0),
            last_wasm_exit_pc: UnsafeCell::new(0),
            last_wasm_entry_fp: UnsafeCell::new(0),
        }
    }
}

// The accessors below are safe because `VMRuntimeLimits` is `!Sync` (only
// the owning thread can reach it) and compiled code only touches it while a
// call made through the owning store is running; it saves its cached fuel
// before calling out to the host and reloads it afterwards.
impl VMRuntimeLimits {
    /// Fuel consumed so far, counting up towards zero from minus the fuel left.
    pub fn fuel_consumed(&self) -> i64 {
        // SAFETY: see the comment above this impl.
        unsafe { *self.fuel_consumed.get() }
    }

    /// Sets the fuel counter.
    pub fn set_fuel_consumed(&self, value: i64) {
        // SAFETY: see the comment above this impl.
        unsafe { *self.fuel_consumed.get() = value }
    }

    /// The epoch at which compiled code calls the deadline builtin.
    pub fn epoch_deadline(&self) -> u64 {
        // SAFETY: see the comment above this impl.
        unsafe { *self.epoch_deadline.get() }
    }

    /// Sets the epoch deadline.
    #[inline]
    pub fn set_epoch_deadline(&self, value: u64) {
        // SAFETY: see the comment above this impl.
        unsafe { *self.epoch_deadline.get() = value }
    }
}

/// The context of a host function: what its `VMFuncRef::vmctx` points to.
/// The wasm-to-array trampoline loads `array_call` from it.
#[repr(C)]
pub struct VMHostFuncContext {
    /// [`VMHostFuncContext::MAGIC`].
    pub magic: u32,
    /// The host entry point.
    pub array_call: ArrayCallFn,
    /// This function as a function reference (its `vmctx` points back here).
    pub func_ref: VMFuncRef,
    /// Data for the host entry point (the embedding layer's closure).
    pub host_state: *mut c_void,
}

impl VMHostFuncContext {
    /// Magic value distinguishing a host function context from a VMContext.
    pub const MAGIC: u32 = u32::from_le_bytes(*b"HYHF");
}

/// One value in the array calling convention: 16 bytes, little-endian, the
/// value's bits at offset 0 (references are pointers).
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw {
    /// The raw bytes.
    pub bytes: [u8; 16],
}

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:#034x})", u128::from_le_bytes(self.bytes))
    }
}

macro_rules! val_raw_accessors {
    ($($ty:ident $from:ident $get:ident),*) => {
        impl ValRaw {
            $(
                /// Builds a raw value from this type.
                #[inline]
                pub fn $from(v: $ty) -> ValRaw {
                    let mut bytes = [0u8; 16];
                    let b = v.to_le_bytes();
                    bytes[..b.len()].copy_from_slice(&b);
                    ValRaw { bytes }
                }
                /// Reads the value as this type.
                #[inline]
                pub fn $get(&self) -> $ty {
                    const N: usize = std::mem::size_of::<$ty>();
                    $ty::from_le_bytes(self.bytes[..N].try_into().unwrap())
                }
            )*
        }
    };
}

val_raw_accessors!(i32 i32 get_i32, i64 i64 get_i64, u32 u32 get_u32, u64 u64 get_u64, u128 v128 get_v128);

impl ValRaw {
    /// A pointer-sized reference.
    #[inline]
    pub fn ptr(p: *mut c_void) -> ValRaw {
        ValRaw::u64(p as usize as u64)
    }
    /// Reads a pointer-sized reference.
    #[inline]
    pub fn get_ptr(&self) -> *mut c_void {
        self.get_u64() as usize as *mut c_void
    }
}

/// The engine-wide epoch counter type referenced from each VMContext.
pub type EpochCounter = AtomicU64;

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::{VMOffsets, VMRuntimeLimitsOffsets as L, host_func_ctx, vm_func_ref};
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_environ() {
        assert_eq!(
            offset_of!(VMFuncRef, wasm_call) as u32,
            vm_func_ref::WASM_CALL
        );
        assert_eq!(
            offset_of!(VMFuncRef, array_call) as u32,
            vm_func_ref::ARRAY_CALL
        );
        assert_eq!(offset_of!(VMFuncRef, vmctx) as u32, vm_func_ref::VMCTX);
        assert_eq!(offset_of!(VMFuncRef, type_id) as u32, vm_func_ref::TYPE_ID);
        assert_eq!(
            offset_of!(VMFuncRef, defined_index) as u32,
            vm_func_ref::DEFINED_INDEX
        );
        assert_eq!(size_of::<VMFuncRef>() as u32, vm_func_ref::SIZE);
        assert_eq!(
            offset_of!(VMHostFuncContext, magic) as u32,
            host_func_ctx::MAGIC
        );
        assert_eq!(
            offset_of!(VMHostFuncContext, array_call) as u32,
            host_func_ctx::ARRAY_CALL
        );
        assert_eq!(size_of::<VMFunctionImport>(), 16);
        assert_eq!(
            offset_of!(VMMemoryDefinition, base) as u32,
            VMOffsets::DEFINITION_BASE
        );
        assert_eq!(
            offset_of!(VMMemoryDefinition, current_length) as u32,
            VMOffsets::DEFINITION_LENGTH
        );
        assert_eq!(
            offset_of!(VMTableDefinition, base) as u32,
            VMOffsets::DEFINITION_BASE
        );
        assert_eq!(
            offset_of!(VMTableDefinition, current_elements) as u32,
            VMOffsets::DEFINITION_LENGTH
        );
        assert_eq!(size_of::<VMGlobalDefinition>(), 16);
        assert_eq!(size_of::<ValRaw>() as u32, hayate_environ::VAL_RAW_SIZE);
        assert_eq!(
            offset_of!(VMRuntimeLimits, stack_limit) as u32,
            L::STACK_LIMIT
        );
        assert_eq!(
            offset_of!(VMRuntimeLimits, fuel_consumed) as u32,
            L::FUEL_CONSUMED
        );
        assert_eq!(
            offset_of!(VMRuntimeLimits, epoch_deadline) as u32,
            L::EPOCH_DEADLINE
        );
        assert_eq!(
            offset_of!(VMRuntimeLimits, last_wasm_exit_fp) as u32,
            L::LAST_WASM_EXIT_FP
        );
        assert_eq!(
            offset_of!(VMRuntimeLimits, last_wasm_exit_pc) as u32,
            L::LAST_WASM_EXIT_PC
        );
        assert_eq!(
            offset_of!(VMRuntimeLimits, last_wasm_entry_fp) as u32,
            L::LAST_WASM_ENTRY_FP
        );
        assert_eq!(size_of::<VMRuntimeLimits>() as u32, L::SIZE);
    }
}

//! Runtime builtins: functions of the runtime that compiled code
//! calls through the builtin table a VMContext points to
//! (`VMOffsets::builtins`). This is the one list both sides agree on.
//!
//! Every builtin uses the platform C calling convention (`extern "C"`) and
//! takes the calling instance's `*mut VMContext` as its first argument.
//! Builtins that can trap return an `i8`: 1 when the operation completed,
//! 0 when the compiled caller must trap with the code given by
//! [`Builtin::trap`].

use crate::trap::Trap;

/// Argument and result types of builtins, as seen by the code generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiType {
    /// A pointer-sized integer (the vmctx, a reference).
    Pointer,
    /// 8-bit integer (status flags).
    I8,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

/// Calls macro `$mac` with the list of builtins, one entry per builtin:
///
/// ```text
/// /// docs
/// Name snake_name (Param, ...) -> Result [, traps TrapCode];
/// ```
///
/// with `Pointer`, `I8`, `I32`, `I64` as parameter and result types
/// ([`AbiType`]) and `Void` for no result. This is the one list of
/// builtins: the [`Builtin`] enum below, the code generator's signatures
/// and the runtime's builtin table (whose function pointer types are
/// checked against it by the Rust compiler) are all expanded from it.
#[macro_export]
macro_rules! for_each_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow(memory: u32, delta_pages: u64) -> old_pages or -1 (as u64)`.
            MemoryGrow memory_grow (I32, I64) -> I64;
            /// `memory.fill(memory, dst: u64, byte: u32, len: u64) -> ok`.
            MemoryFill memory_fill (I32, I64, I32, I64) -> I8, traps MemoryOutOfBounds;
            /// `memory.copy(dst_memory, dst: u64, src_memory, src: u64, len: u64) -> ok`.
            MemoryCopy memory_copy (I32, I64, I32, I64, I64) -> I8, traps MemoryOutOfBounds;
            /// `memory.init(memory, data_index, dst: u64, src: u32, len: u32) -> ok`.
            MemoryInit memory_init (I32, I32, I64, I32, I32) -> I8, traps MemoryOutOfBounds;
            /// `data.drop(data_index)`.
            DataDrop data_drop (I32) -> Void;
            /// `table.grow(table, delta: u64, init: ref) -> old size or -1 (as u64)`.
            TableGrow table_grow (I32, I64, Pointer) -> I64;
            /// `table.fill(table, dst: u64, value: ref, len: u64) -> ok`.
            TableFill table_fill (I32, I64, Pointer, I64) -> I8, traps TableOutOfBounds;
            /// `table.copy(dst_table, src_table, dst: u64, src: u64, len: u64) -> ok`.
            TableCopy table_copy (I32, I32, I64, I64, I64) -> I8, traps TableOutOfBounds;
            /// `table.init(table, elem_index, dst: u64, src: u32, len: u32) -> ok`.
            TableInit table_init (I32, I32, I64, I32, I32) -> I8, traps TableOutOfBounds;
            /// `elem.drop(elem_index)`.
            ElemDrop elem_drop (I32) -> Void;
            /// Called when the fuel counter reached zero (it counts up from minus the
            /// fuel available) at a function entry or loop header: refill from the store
            /// or return 0 to trap with `OutOfFuel`.
            OutOfFuel out_of_fuel () -> I8, traps OutOfFuel;
            /// Called when the epoch deadline was reached: extend it or return 0 to
            /// trap with `Interrupt`.
            EpochDeadline epoch_deadline () -> I8, traps Interrupt;
            /// `table(table)[index]` of a funcref table whose stored element is 0
            /// (not initialised yet): initialises it and returns the (untagged)
            /// reference, null for null. The index is in bounds.
            TableGetLazyInitFuncRef table_get_lazy_init_funcref (I32, I32) -> Pointer;
            /// `ref.func` of a defined function whose `VMFuncRef` is not filled in
            /// yet (they are filled on first use, not at instantiation): fills it in
            /// and returns it.
            RefFunc ref_func (I32) -> Pointer;
            /// Lazy compilation: compiles defined function `func` of the calling
            /// instance's module if it is not yet and returns its Wasm-convention
            /// entry; null (with the error left for the host) if compiling failed.
            LazyCompile lazy_compile (I32) -> Pointer;
            /// Lazy compilation: compiles the function of `VMFuncRef` `func_ref`,
            /// whose `wasm_call` is null, fills in its entries and returns
            /// `wasm_call`; null (with the error left for the host) on failure.
            LazyCompileFuncRef lazy_compile_func_ref (Pointer) -> Pointer;
            /// `throw`: a new exception of tag `tag` (of the calling instance)
            /// whose payload is the values (16 bytes each) at `values`. Leaves
            /// Wasm with an error if the store holds too many exceptions.
            ExnNew exn_new (I32, Pointer) -> Pointer;
            /// Throws exception `exn` from the Wasm frame whose frame pointer is
            /// `fp` (which has no handler for it itself): resumes at the first
            /// handler of a calling frame, or leaves Wasm with the exception.
            /// Never returns.
            Throw throw (Pointer, Pointer) -> Void;
            /// A `catch` or `catch_all` took what it needs from exception `exn`:
            /// the store may reuse it unless it escaped as an `exnref`.
            ExnRelease exn_release (Pointer) -> Void;
            /// A new zeroed structure of module type `type` and `size` bytes
            /// (GC); traps with `AllocationTooLarge` if the heap cannot hold it.
            GcAllocStruct gc_alloc_struct (I32, I32) -> Pointer;
            /// A new zeroed array of module type `type` and `length` elements.
            GcAllocArray gc_alloc_array (I32, I32) -> Pointer;
            /// `array.new(type, length, value: *const ValRaw)`: a new array of
            /// `length` copies of the value.
            ArrayNew array_new (I32, I32, Pointer) -> Pointer;
            /// `array.new_data(type, data, offset, length)`.
            ArrayNewData array_new_data (I32, I32, I32, I32) -> Pointer;
            /// `array.new_elem(type, elem, offset, length)`.
            ArrayNewElem array_new_elem (I32, I32, I32, I32) -> Pointer;
            /// `array.fill(type, array, offset, value: *const ValRaw, length)`.
            ArrayFill array_fill (I32, Pointer, I32, Pointer, I32) -> Void;
            /// `array.copy(type, dst, dst_offset, src, src_offset, length)`.
            ArrayCopy array_copy (I32, Pointer, I32, Pointer, I32, I32) -> Void;
            /// `array.init_data(type, array, offset, data, data_offset, length)`.
            ArrayInitData array_init_data (I32, Pointer, I32, I32, I32, I32) -> Void;
            /// `array.init_elem(type, array, offset, elem, elem_offset, length)`.
            ArrayInitElem array_init_elem (I32, Pointer, I32, I32, I32, I32) -> Void;
            /// Whether engine type `actual` is a subtype of module type `expected`
            /// (1 or 0): the slow path of casts and of `call_indirect` to
            /// non-final types.
            GcIsSubtype gc_is_subtype (I32, I32) -> I32;
        }
    };
}

macro_rules! builtin_enum {
    ($(
        $(#[$doc:meta])*
        $name:ident $snake:ident ( $($param:ident),* ) -> $ret:ident $(, traps $trap:ident)?;
    )*) => {
        /// A runtime builtin. Its discriminant is its slot in the builtin table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$doc])* $name, )*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[ $( Builtin::$name, )* ];

            /// Parameter types, after the leading vmctx pointer.
            pub fn params(self) -> &'static [AbiType] {
                match self { $( Builtin::$name => &[ $( AbiType::$param ),* ], )* }
            }

            /// Result type, if any.
            pub fn result(self) -> Option<AbiType> {
                match self { $( Builtin::$name => builtin_enum!(@ret $ret), )* }
            }

            /// The trap raised when this builtin returns 0, for builtins that can trap.
            pub fn trap(self) -> Option<Trap> {
                match self { $( Builtin::$name => None $( .or(Some(Trap::$trap)) )?, )* }
            }

            /// The name of the runtime function (and of its slot in the table).
            pub fn name(self) -> &'static str {
                match self { $( Builtin::$name => stringify!($snake), )* }
            }
        }
    };
    (@ret Void) => { None };
    (@ret $t:ident) => { Some(AbiType::$t) };
}

for_each_builtin!(builtin_enum);

impl Builtin {
    /// Byte offset of this builtin's slot in the builtin table (one
    /// pointer per builtin, in [`Builtin::ALL`] order).
    pub const fn table_offset(self) -> u32 {
        self as u32 * crate::vmoffsets::POINTER_SIZE
    }
}

//! Runtime builtins ("libcalls"): functions of the runtime that compiled code
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

macro_rules! builtins {
    ($( $(#[$doc:meta])* $name:ident ( $($param:ident),* ) -> $ret:ident, $trap:expr; )*) => {
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
                match self { $( Builtin::$name => builtins!(@ret $ret), )* }
            }

            /// The trap raised when this builtin returns 0, for builtins that can trap.
            pub fn trap(self) -> Option<Trap> {
                match self { $( Builtin::$name => $trap, )* }
            }
        }
    };
    (@ret Void) => { None };
    (@ret $t:ident) => { Some(AbiType::$t) };
}

builtins! {
    /// `memory.grow(memory: u32, delta_pages: u64) -> old_pages or -1 (as u64)`.
    MemoryGrow(I32, I64) -> I64, None;
    /// `memory.fill(memory, dst: u64, byte: u32, len: u64) -> ok`.
    MemoryFill(I32, I64, I32, I64) -> I8, Some(Trap::MemoryOutOfBounds);
    /// `memory.copy(dst_memory, dst: u64, src_memory, src: u64, len: u64) -> ok`.
    MemoryCopy(I32, I64, I32, I64, I64) -> I8, Some(Trap::MemoryOutOfBounds);
    /// `memory.init(memory, data_index, dst: u64, src: u32, len: u32) -> ok`.
    MemoryInit(I32, I32, I64, I32, I32) -> I8, Some(Trap::MemoryOutOfBounds);
    /// `data.drop(data_index)`.
    DataDrop(I32) -> Void, None;
    /// `table.grow(table, delta: u32, init: ref) -> old size or -1 (as u32)`.
    TableGrow(I32, I32, Pointer) -> I32, None;
    /// `table.fill(table, dst: u32, value: ref, len: u32) -> ok`.
    TableFill(I32, I32, Pointer, I32) -> I8, Some(Trap::TableOutOfBounds);
    /// `table.copy(dst_table, src_table, dst: u32, src: u32, len: u32) -> ok`.
    TableCopy(I32, I32, I32, I32, I32) -> I8, Some(Trap::TableOutOfBounds);
    /// `table.init(table, elem_index, dst: u32, src: u32, len: u32) -> ok`.
    TableInit(I32, I32, I32, I32, I32) -> I8, Some(Trap::TableOutOfBounds);
    /// `elem.drop(elem_index)`.
    ElemDrop(I32) -> Void, None;
    /// Called when the fuel counter reached zero (it counts up from minus the
    /// fuel available) at a function entry or loop header: refill from the store
    /// or return 0 to trap with `OutOfFuel`.
    OutOfFuel() -> I8, Some(Trap::OutOfFuel);
    /// Called when the epoch deadline was reached: extend it or return 0 to
    /// trap with `Interrupt`.
    EpochDeadline() -> I8, Some(Trap::Interrupt);
    /// `table(table)[index]` of a funcref table whose stored element is 0
    /// (not initialised yet): initialises it and returns the (untagged)
    /// reference, null for null. The index is in bounds.
    TableGetLazyInitFuncRef(I32, I32) -> Pointer, None;
}

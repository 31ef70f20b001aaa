//! Trap codes: the one list of reasons compiled code can stop, shared by the
//! compiler (which records them per instruction) and the runtime (which turns
//! a fault at that instruction back into this code).

use std::fmt;

/// Why WebAssembly execution stopped abnormally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Trap {
    /// The guest's stack went past its limit.
    StackOverflow = 1,
    /// A load or store outside linear memory.
    MemoryOutOfBounds = 2,
    /// A table access outside the table's bounds.
    TableOutOfBounds = 3,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull = 4,
    /// `call_indirect` through an entry of the wrong signature.
    BadSignature = 5,
    /// Signed integer overflow (`i32.div_s` of MIN by -1, or a float too large to convert).
    IntegerOverflow = 6,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 7,
    /// Conversion of NaN to an integer.
    BadConversionToInteger = 8,
    /// `unreachable` was executed.
    UnreachableCodeReached = 9,
    /// The store's epoch deadline passed.
    Interrupt = 10,
    /// The store ran out of fuel.
    OutOfFuel = 11,
    /// A null reference was dereferenced.
    NullReference = 12,
    /// A host function returned an error; the error itself travels separately.
    HostError = 13,
    /// A misaligned atomic access.
    HeapMisaligned = 14,
    /// An array access outside the array's bounds (GC).
    ArrayOutOfBounds = 15,
    /// A `ref.cast` of a reference not of the target type (GC).
    CastFailure = 16,
    /// An array too large to allocate (GC), or the GC heap is full.
    AllocationTooLarge = 17,
}

impl Trap {
    /// Every trap code.
    pub const ALL: &'static [Trap] = &[
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::TableOutOfBounds,
        Trap::IndirectCallToNull,
        Trap::BadSignature,
        Trap::IntegerOverflow,
        Trap::IntegerDivisionByZero,
        Trap::BadConversionToInteger,
        Trap::UnreachableCodeReached,
        Trap::Interrupt,
        Trap::OutOfFuel,
        Trap::NullReference,
        Trap::HostError,
        Trap::HeapMisaligned,
        Trap::ArrayOutOfBounds,
        Trap::CastFailure,
        Trap::AllocationTooLarge,
    ];

    /// Decodes a trap code byte.
    pub fn from_u8(byte: u8) -> Option<Trap> {
        Trap::ALL.iter().copied().find(|t| *t as u8 == byte)
    }

    /// The message the WebAssembly spec tests use for this trap.
    pub fn message(self) -> &'static str {
        match self {
            Trap::StackOverflow => "call stack exhausted",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::TableOutOfBounds => "undefined element: out of bounds table access",
            Trap::IndirectCallToNull => "uninitialized element",
            Trap::BadSignature => "indirect call type mismatch",
            Trap::IntegerOverflow => "integer overflow",
            Trap::IntegerDivisionByZero => "integer divide by zero",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::UnreachableCodeReached => "unreachable",
            Trap::Interrupt => "interrupt",
            Trap::OutOfFuel => "all fuel consumed by WebAssembly",
            Trap::NullReference => "null reference",
            Trap::HostError => "host function error",
            Trap::HeapMisaligned => "unaligned atomic",
            Trap::ArrayOutOfBounds => "out of bounds array access",
            Trap::CastFailure => "cast failure",
            Trap::AllocationTooLarge => "allocation too large",
        }
    }
}

/// `wasm trap: ` and the message, as Wasmtime displays a trap.
impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message())
    }
}

impl std::error::Error for Trap {}

//! The one mapping between Hayate's [`Trap`] codes and Cranelift's
//! [`TrapCode`]s.
//!
//! Cranelift's own trapping instructions (division, float-to-int
//! conversion, the prologue stack check, heap accesses) use its reserved
//! codes; every other trap is a user code equal to the `Trap` discriminant.

use cranelift_codegen::ir::TrapCode;
use hayate_environ::Trap;

/// The Cranelift trap code compiled code uses for `trap`.
pub(crate) fn trap_to_code(trap: Trap) -> TrapCode {
    match trap {
        Trap::StackOverflow => TrapCode::STACK_OVERFLOW,
        Trap::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
        Trap::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => TrapCode::unwrap_user(other as u8),
    }
}

/// The Hayate trap a Cranelift trap code stands for, if any.
pub(crate) fn trap_from_code(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::STACK_OVERFLOW => Trap::StackOverflow,
        TrapCode::HEAP_OUT_OF_BOUNDS => Trap::MemoryOutOfBounds,
        TrapCode::INTEGER_OVERFLOW => Trap::IntegerOverflow,
        TrapCode::INTEGER_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero,
        TrapCode::BAD_CONVERSION_TO_INTEGER => Trap::BadConversionToInteger,
        other => return Trap::from_u8(other.as_raw().get()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trap_round_trips() {
        for &trap in Trap::ALL {
            assert_eq!(trap_from_code(trap_to_code(trap)), Some(trap), "{trap:?}");
        }
    }
}

//! Fuel metering's vocabulary: what each operator costs and where compiled
//! code settles its count, shared by every compiler so that a call runs
//! out of fuel at the same instruction whichever compiler made its code.
//!
//! Code keeps the store's counter in a local, adds the cost of the
//! operators since the last settling point ([`operator_cost`]), and at
//! the points [`settle_before`] names adds the pending cost to the local
//! and, before leaving the function (calls, returns, traps), writes the
//! local back to the store.

use wasmparser::Operator;

/// The fuel `op` costs: structure that executes no code is free, every
/// other operator costs one unit.
pub fn operator_cost(op: &Operator<'_>) -> u64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::End
        | Operator::Else => 0,
        _ => 1,
    }
}

/// What compiled code does with its fuel count before an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuelSettle {
    /// Nothing: the cost stays pending.
    None,
    /// Add the pending cost to the local (control flow joins or leaves
    /// here).
    Flush,
    /// Add it, then write the local back to the store (the function is
    /// left, or the store is looked at, from here).
    FlushAndSave,
}

/// How fuel is settled before `op` (after its cost is added).
pub fn settle_before(op: &Operator<'_>) -> FuelSettle {
    match op {
        Operator::Unreachable
        | Operator::Return
        | Operator::Call { .. }
        | Operator::CallIndirect { .. }
        | Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. } => FuelSettle::FlushAndSave,
        Operator::Loop { .. }
        | Operator::If { .. }
        | Operator::Else
        | Operator::End
        | Operator::Br { .. }
        | Operator::BrIf { .. }
        | Operator::BrTable { .. } => FuelSettle::Flush,
        _ => FuelSettle::None,
    }
}

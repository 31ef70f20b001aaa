//! Operator dispatch: `wasmparser`'s `VisitOperator` and `VisitSimdOperator`
//! implemented for [`FuncTranslator`], so that every operator `wasmparser`
//! knows is routed at compile time.
//!
//! Operators of the proposals Hayate implements (MVP, sign extension,
//! saturating float-to-int, bulk memory, reference types, SIMD, tail
//! calls, relaxed SIMD, typed function references, exceptions, GC) go to the
//! `visit_*` method of the same name that their family module (control,
//! memory, numeric, SIMD, table, call, variables) defines; if a family
//! module lacks one, this file does not compile. Operators of every other
//! proposal (threads, exceptions, GC, ...) return
//! [`CompileError::Unsupported`], naming the operator and its proposal; an
//! operator of a proposal `wasmparser` adds later lands there too.
//!
//! The family methods are reached through the `family` module, where the
//! visitor traits are not in scope: a missing family method is a "no
//! function found" error there, never a silent call of the trait method
//! back into itself.

use hayate_environ::CompileError;
use hayate_environ::wasmparser;

use super::{FuncTranslator, Result};

/// The error for an operator of a proposal Hayate does not implement.
fn unsupported(operator: &str, proposal: &str) -> CompileError {
    CompileError::Unsupported(format!("operator {operator} ({proposal} proposal)"))
}

/// Expands, for each operator `wasmparser` lists, to `$emit!(supported ...)`
/// or `$emit!(unsupported ...)` according to its proposal.
macro_rules! by_proposal {
    (
        $emit:ident;
        $( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*
    ) => {
        $( by_proposal!(@one $emit $proposal $op $({ $($arg: $argty),* })? => $visit); )*
    };
    (@one $emit:ident mvp $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident sign_extension $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident saturating_float_to_int $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident bulk_memory $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident reference_types $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident simd $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident tail_call $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident relaxed_simd $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident function_references $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident exceptions $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident gc $($rest:tt)*) => { $emit!(supported $($rest)*); };
    (@one $emit:ident $proposal:ident $($rest:tt)*) => { $emit!(unsupported $proposal $($rest)*); };
}

/// One visitor method: a call of the family method, or the error.
macro_rules! visitor_method {
    (supported $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident) => {
        fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
            family::$visit(self $($(, $arg)*)?)
        }
    };
    (unsupported $proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident) => {
        #[allow(unused_variables)]
        fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
            Err(unsupported(stringify!($op), stringify!($proposal)))
        }
    };
}

/// One forwarding function to the family method (none for unsupported
/// proposals).
macro_rules! family_function {
    (supported $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident) => {
        pub(super) fn $visit<'a>(
            t: &mut FuncTranslator<'_, '_> $($(, $arg: $argty)*)?
        ) -> Result<()> {
            t.$visit($($($arg),*)?)
        }
    };
    (unsupported $($rest:tt)*) => {};
}

macro_rules! visitor_methods {
    ($($t:tt)*) => { by_proposal!(visitor_method; $($t)*); };
}

macro_rules! family_functions {
    ($($t:tt)*) => { by_proposal!(family_function; $($t)*); };
}

/// The family methods, called where the visitor traits are not in scope.
// The lifetime `'a` is the one of operators that borrow the body (such as
// `br_table`); the others do not use it.
#[allow(clippy::extra_unused_lifetimes)]
mod family {
    use super::super::{FuncTranslator, Result};
    use hayate_environ::wasmparser;

    wasmparser::for_each_visit_operator!(family_functions);
    wasmparser::for_each_visit_simd_operator!(family_functions);
}

impl<'a> wasmparser::VisitOperator<'a> for FuncTranslator<'_, '_> {
    type Output = Result<()>;

    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visitor_methods);
}

impl<'a> wasmparser::VisitSimdOperator<'a> for FuncTranslator<'_, '_> {
    wasmparser::for_each_visit_simd_operator!(visitor_methods);
}

//! The one unsafe call of this crate: building a `getelementptr`.
//!
//! inkwell marks `build_gep` unsafe because a GEP whose indices do not fit
//! its element type can crash LLVM while it builds the instruction. Every
//! GEP this crate makes has element type `i8` and a single `i64` index (a
//! byte offset), which is well formed for any base pointer, so building
//! it cannot fail that way. The generated code's accesses are checked
//! against the memory's bounds before they happen (see `memory.rs`);
//! pointer arithmetic in integers instead (`inttoptr`) would hide every
//! access from LLVM's alias analysis and loop vectoriser.

#![allow(unsafe_code)]

use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::values::{IntValue, PointerValue};

/// `base + offset` (bytes), as a pointer derived from `base`.
pub(crate) fn byte_offset<'ctx>(
    cx: &'ctx Context,
    b: &Builder<'ctx>,
    base: PointerValue<'ctx>,
    offset: IntValue<'ctx>,
) -> Result<PointerValue<'ctx>, BuilderError> {
    // SAFETY: an `i8` element type with one integer index is a well-formed
    // GEP for every base pointer (see the module docs); building it has no
    // other precondition.
    unsafe { b.build_gep(cx.i8_type(), base, &[offset], "") }
}

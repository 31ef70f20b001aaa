//! Debug locations: which Wasm instruction each LLVM instruction came
//! from, so that backtraces through this tier's code give Wasm offsets,
//! and name the functions LLVM inlined.
//!
//! Each function (and its checked function) is a DWARF subprogram named
//! by its symbol (`wasm_fN`); each instruction carries a location whose
//! line is the byte offset in the module of the Wasm operator it
//! translates (the body's start for the entry checks). LLVM keeps the
//! locations through its passes, and its inliner records for each
//! inlined instruction the call it came through (`inlinedAt`). The
//! object's line table and inlined-subroutine entries are read back by
//! `dwarf.rs`. Locations do not change the code LLVM generates.
//!
//! Trap calls are `nomerge`: two trap sites with different locations
//! stay two, so a trap's backtrace gives its own operator's offset.

use inkwell::context::Context;
use inkwell::debug_info::{
    AsDIScope, DICompileUnit, DIFlags, DIFlagsConstants, DILocation, DIScope, DISubroutineType,
    DWARFEmissionKind, DWARFSourceLanguage, DebugInfoBuilder,
};
use inkwell::module::{FlagBehavior, Module};
use inkwell::values::FunctionValue;

/// The DWARF version emitted: version 4 keeps addresses as relocated
/// fields of the sections, which `dwarf.rs` resolves.
const DWARF_VERSION: u64 = 4;

/// A module's debug information while its IR is built.
pub(crate) struct Locations<'ctx> {
    builder: DebugInfoBuilder<'ctx>,
    unit: DICompileUnit<'ctx>,
    signature: DISubroutineType<'ctx>,
}

impl<'ctx> Locations<'ctx> {
    /// Debug information for `module`: one compile unit, with line tables
    /// and inlining records only.
    pub fn new(cx: &'ctx Context, module: &Module<'ctx>) -> Locations<'ctx> {
        let i32t = cx.i32_type();
        module.add_basic_value_flag(
            "Debug Info Version",
            FlagBehavior::Warning,
            i32t.const_int(
                u64::from(inkwell::debug_info::debug_metadata_version()),
                false,
            ),
        );
        module.add_basic_value_flag(
            "Dwarf Version",
            FlagBehavior::Warning,
            i32t.const_int(DWARF_VERSION, false),
        );
        let (builder, unit) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            "wasm",
            "",
            "hayate",
            true,
            "",
            0,
            "",
            DWARFEmissionKind::LineTablesOnly,
            0,
            true,
            false,
            "",
            "",
        );
        let signature = builder.create_subroutine_type(unit.get_file(), None, &[], DIFlags::ZERO);
        Locations {
            builder,
            unit,
            signature,
        }
    }

    /// Makes `func` a subprogram named `name` (the symbol of the Wasm
    /// function it compiles), starting at module offset `start`; its
    /// scope, for [`Locations::at`].
    pub fn subprogram(&self, func: FunctionValue<'ctx>, name: &str, start: u32) -> DIScope<'ctx> {
        let subprogram = self.builder.create_function(
            self.unit.as_debug_info_scope(),
            name,
            None,
            self.unit.get_file(),
            start,
            self.signature,
            true,
            true,
            start,
            DIFlags::ZERO,
            true,
        );
        func.set_subprogram(subprogram);
        subprogram.as_debug_info_scope()
    }

    /// The location of the Wasm operator at module offset `offset`, in
    /// function `scope`.
    pub fn at(&self, cx: &'ctx Context, scope: DIScope<'ctx>, offset: u32) -> DILocation<'ctx> {
        self.builder
            .create_debug_location(cx, offset, 0, scope, None)
    }

    /// Resolves what was built; before the module is verified.
    pub fn finish(&self) {
        self.builder.finalize();
    }
}

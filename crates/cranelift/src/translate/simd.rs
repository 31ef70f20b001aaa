//! SIMD (`v128`) operators.

use hayate_environ::wasmparser::Operator;

use super::{FuncTranslator, Result};

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_simd(&mut self, _op: &Operator<'_>) -> Result<bool> {
        Ok(false)
    }
}

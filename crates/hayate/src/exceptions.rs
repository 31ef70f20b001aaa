//! Exceptions as the host sees them: [`ExnRef`], a handle on an exception
//! object of a store, and [`ThrownException`], the error a Wasm exception
//! nothing caught leaves a call with (and that a host function returns to
//! throw one into its Wasm caller).

use std::fmt;

use crate::error::{Error, Result};
use crate::externals::Tag;
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::values::Val;

/// A reference to an exception object: its tag and payload. Handles are
/// only made for objects the host may keep, which the store never reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
}

impl ExnRef {
    /// A new exception of tag `tag` whose payload is `fields`, which must
    /// have the tag's parameter types.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, fields: &[Val]) -> Result<ExnRef> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(tag.ptr.owner())?;
        let ty = store.engine.lookup_type(tag.ptr.type_id(store)).clone();
        if ty.params.len() != fields.len() {
            return Err(Error::msg(format!(
                "tag takes {} values, {} given",
                ty.params.len(),
                fields.len()
            )));
        }
        let mut raw = Vec::with_capacity(fields.len());
        for (i, (v, t)) in fields.iter().zip(ty.params.iter()).enumerate() {
            if !v.matches(store, *t) {
                return Err(Error::msg(format!(
                    "exception field {i} has the wrong type"
                )));
            }
            raw.push(v.to_raw(store)?);
        }
        let exn = store
            .exceptions
            .alloc(tag.ptr.raw().as_ptr(), &raw)
            .map_err(Error::new)?;
        Ok(crate::vm::exn_handle(store, exn))
    }

    /// The tag the exception was thrown with.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag> {
        let store = &store.as_context().0.opaque;
        let (tag, _) = crate::vm::exn_parts(store, *self)?;
        Ok(tag)
    }

    /// The exception's payload.
    pub fn fields(&self, store: impl AsContext) -> Result<Vec<Val>> {
        let store = &store.as_context().0.opaque;
        let (_, fields) = crate::vm::exn_parts(store, *self)?;
        Ok(fields)
    }

    /// The raw `exnref` of this handle in `store`.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<*mut std::ffi::c_void> {
        store.check(self.store)?;
        store
            .exceptions
            .get(self.index)
            .map(|p| p.as_ptr().cast())
            .ok_or_else(|| Error::msg("dangling exception reference"))
    }
}

/// The error of a call that a Wasm exception left uncaught: find it with
/// `error.downcast_ref::<ThrownException>()`. A host function called from
/// Wasm that returns this error (`Err(ThrownException::new(exn).into())`)
/// throws `exn` into its caller, where a `try_table` may catch it.
#[derive(Debug, Clone, Copy)]
pub struct ThrownException {
    exn: ExnRef,
}

impl ThrownException {
    /// The error that throws `exn`.
    pub fn new(exn: ExnRef) -> ThrownException {
        ThrownException { exn }
    }

    /// The exception.
    pub fn exn(&self) -> ExnRef {
        self.exn
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uncaught WebAssembly exception")
    }
}

impl std::error::Error for ThrownException {}

//! Exception objects across the boundary: handles on them, what they
//! hold, and exceptions turned into and out of the runtime's host errors.

use std::ptr::NonNull;

use hayate_runtime::exceptions::{UncaughtException, VMException};

use super::TagPtr;
use crate::error::{Error, Result};
use crate::exceptions::{ExnRef, ThrownException};
use crate::externals::Tag;
use crate::store::{StoreId, StoreOpaque};
use crate::values::Val;

/// The handle on `exn`, an object of `store`'s heap, which from now on the
/// store never reuses.
pub(crate) fn exn_handle(store: &mut StoreOpaque, exn: NonNull<VMException>) -> ExnRef {
    // SAFETY: an object of this store's heap, borrowed exclusively.
    unsafe { store.exceptions.mark_escaped(exn) };
    exn_from_raw(store.id, exn)
}

/// The handle on `exn`, an exception object of store `store` that compiled
/// code or the runtime produced, marking it escaped.
pub(crate) fn exn_from_raw(store: StoreId, exn: NonNull<VMException>) -> ExnRef {
    // SAFETY: raw exception references only come from the runtime, which
    // hands out live objects of the running store; the store is lent to
    // the call that produced this one, so nothing else touches the object.
    let index = unsafe {
        (*exn.as_ptr()).escaped = 1;
        exn.as_ref().index
    };
    ExnRef { store, index }
}

/// The tag and payload of `exn`.
pub(crate) fn exn_parts(store: &StoreOpaque, exn: ExnRef) -> Result<(Tag, Vec<Val>)> {
    let ptr = exn.to_raw(store)?.cast::<VMException>();
    // SAFETY: a live object of this store (`to_raw` checked the store and
    // the slot), borrowed shared with the store.
    let (tag, payload) = unsafe {
        let object = &*ptr;
        let payload = std::slice::from_raw_parts(object.payload, object.len as usize);
        (object.tag, payload)
    };
    let tag = TagPtr::new(
        store.id,
        NonNull::new(tag.cast_mut()).ok_or_else(|| Error::msg("an exception without a tag"))?,
    );
    let ty = store.engine.lookup_type(tag.type_id(store));
    let fields = ty
        .params
        .iter()
        .zip(payload)
        .map(|(t, raw)| {
            store.pin_if_gc(*t, *raw);
            Val::from_raw(*raw, *t, store.id)
        })
        .collect();
    Ok((Tag { ptr: tag }, fields))
}

/// A host function's error as the runtime carries it: a thrown exception
/// of this store goes on as the runtime's uncaught exception (which the
/// host-call shim throws into the calling Wasm), anything else opaquely.
pub(crate) fn to_host_error(store: &StoreOpaque, error: Error) -> hayate_runtime::HostError {
    if let Some(thrown) = error.downcast_ref::<ThrownException>()
        && let Ok(raw) = thrown.exn().to_raw(store)
        && let Some(exn) = NonNull::new(raw.cast::<VMException>())
    {
        return Box::new(UncaughtException(exn));
    }
    Box::new(error)
}

/// The runtime's uncaught exception, back as this crate's error.
pub(crate) fn thrown(store: StoreId, exn: &UncaughtException) -> Error {
    Error::new(ThrownException::new(exn_from_raw(store, exn.0)))
}

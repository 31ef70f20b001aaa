//! GC objects as the host sees them: what an internal reference's object
//! is (its header), read through its store.

use hayate_environ::gc_header;
use hayate_runtime::gc::is_object;

use crate::store::StoreOpaque;

/// The engine type id and kind (0 structure, 1 array) of the object `raw`
/// names, if it names one.
///
/// The store is borrowed so that the object (which its heap owns, and
/// which compiled code or the runtime produced for this store) is live.
pub(crate) fn object_header(_store: &StoreOpaque, raw: usize) -> Option<(u32, u32)> {
    if !is_object(raw) {
        return None;
    }
    let base = raw as *const u8;
    // SAFETY: an object reference of this store (its handle's store id was
    // checked by the caller) points to a live object of the store's heap,
    // which is never freed while the store lives; its header is aligned.
    unsafe {
        Some((
            *base.add(gc_header::TYPE_ID as usize).cast::<u32>(),
            *base.add(gc_header::KIND as usize).cast::<u32>(),
        ))
    }
}

/// Reads `size` bytes (at most 16) at byte `offset` of the object `raw`
/// names, zero-extended into a `ValRaw`.
///
/// The caller checked that `raw` is an object of `store` and that
/// `offset + size` lies inside it (by its type's layout or length).
pub(crate) fn read_object(
    _store: &StoreOpaque,
    raw: usize,
    offset: usize,
    size: usize,
) -> hayate_runtime::ValRaw {
    let mut value = hayate_runtime::ValRaw::default();
    // SAFETY: per the contract, the bytes lie inside a live object of the
    // store, which is borrowed; `size <= 16`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (raw as *const u8).add(offset),
            value.bytes.as_mut_ptr(),
            size.min(16),
        );
    }
    value
}

/// Writes the low `size` bytes of `value` at byte `offset` of the object
/// `raw` names, under the same contract as [`read_object`], with the store
/// borrowed exclusively.
pub(crate) fn write_object(
    _store: &mut StoreOpaque,
    raw: usize,
    offset: usize,
    size: usize,
    value: hayate_runtime::ValRaw,
) {
    // SAFETY: as for `read_object`; the exclusive borrow of the store
    // excludes any other access to the object.
    unsafe {
        std::ptr::copy_nonoverlapping(
            value.bytes.as_ptr(),
            (raw as *mut u8).add(offset),
            size.min(16),
        );
    }
}

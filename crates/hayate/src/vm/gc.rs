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

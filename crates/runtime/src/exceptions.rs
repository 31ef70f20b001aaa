//! Exception objects (exception handling): what `throw` makes and
//! `catch_ref` hands to Wasm as an `exnref`, and the per-store heap that
//! owns them.
//!
//! An `exnref` is the address of a [`VMException`], which compiled code
//! reads directly (its tag and payload, at the offsets below). Objects
//! live in their store's [`ExceptionHeap`] at stable addresses. An object
//! that never became visible as a value (thrown by `throw` and caught by
//! `catch` or `catch_all`, which only copy the payload out) is given back
//! to the heap at the catch and reused by the next throw, so a program
//! that throws in a loop runs in constant memory. One that escaped (an
//! `exnref` Wasm or the host received) lives as long as the store: the
//! GC, when Hayate has one, will collect those. The number of live
//! objects is bounded ([`ExceptionHeap::DEFAULT_LIMIT`]); a throw past the
//! bound fails with an error instead of growing the heap without end.

use std::ptr::NonNull;

use crate::vmcontext::{VMTagDefinition, ValRaw};

/// An exception object. `#[repr(C)]`: compiled code reads its fields at
/// the offsets of `hayate_environ::vm_exception`.
#[repr(C)]
#[derive(Debug)]
pub struct VMException {
    /// The tag it was thrown with (the tag's identity).
    pub tag: *const VMTagDefinition,
    /// Its payload, `len` values.
    pub payload: *const ValRaw,
    /// Number of payload values.
    pub len: u32,
    /// Nonzero once the object was visible as an `exnref`; such an object
    /// is never reused.
    pub escaped: u32,
    /// Its slot in the store's heap.
    pub index: u32,
    storage: Vec<ValRaw>,
}

// The layout compiled code reads (`hayate_environ::vm_exception`).
const _: () = {
    use hayate_environ::vm_exception as o;
    assert!(std::mem::offset_of!(VMException, tag) == o::TAG as usize);
    assert!(std::mem::offset_of!(VMException, payload) == o::PAYLOAD as usize);
    assert!(std::mem::offset_of!(VMException, escaped) == o::ESCAPED as usize);
};

/// Why a throw could not make its exception.
#[derive(Debug, thiserror::Error)]
#[error("too many live exception objects (the limit is {0})")]
pub struct TooManyExceptions(pub usize);

/// The exception objects of one store.
#[derive(Debug)]
pub struct ExceptionHeap {
    /// Boxed: compiled code holds their addresses, which must not move
    /// when the vector grows.
    #[allow(clippy::vec_box)]
    objects: Vec<Box<VMException>>,
    /// Slots whose objects were given back, to reuse.
    free: Vec<u32>,
    limit: usize,
}

impl Default for ExceptionHeap {
    fn default() -> Self {
        ExceptionHeap::new(ExceptionHeap::DEFAULT_LIMIT)
    }
}

// SAFETY: the raw pointers in the objects point to tag definitions and
// payloads the store owns; the heap is only used through its store.
unsafe impl Send for ExceptionHeap {}
// SAFETY: as above.
unsafe impl Sync for ExceptionHeap {}

impl ExceptionHeap {
    /// The default bound on live (escaped or in-flight) exception objects.
    pub const DEFAULT_LIMIT: usize = 1 << 20;

    /// An empty heap holding at most `limit` objects.
    pub fn new(limit: usize) -> ExceptionHeap {
        ExceptionHeap {
            objects: Vec::new(),
            free: Vec::new(),
            limit,
        }
    }

    /// A new exception of `tag` carrying `payload`.
    pub fn alloc(
        &mut self,
        tag: *const VMTagDefinition,
        payload: &[ValRaw],
    ) -> Result<NonNull<VMException>, TooManyExceptions> {
        let object = match self.free.pop() {
            Some(index) => &mut self.objects[index as usize],
            None => {
                if self.objects.len() >= self.limit {
                    return Err(TooManyExceptions(self.limit));
                }
                let index = self.objects.len() as u32;
                self.objects.push(Box::new(VMException {
                    tag,
                    payload: std::ptr::null(),
                    len: 0,
                    escaped: 0,
                    index,
                    storage: Vec::new(),
                }));
                self.objects.last_mut().expect("just pushed")
            }
        };
        object.storage.clear();
        object.storage.extend_from_slice(payload);
        object.tag = tag;
        object.payload = object.storage.as_ptr();
        object.len = payload.len() as u32;
        object.escaped = 0;
        Ok(NonNull::from(&mut **object))
    }

    /// Gives `exn` back for reuse, unless it escaped.
    ///
    /// # Safety
    /// `exn` must be an object of this heap that nothing will use again
    /// unless it escaped.
    pub unsafe fn release(&mut self, exn: NonNull<VMException>) {
        // SAFETY: an object of this heap (the caller's promise), alive as
        // long as the heap.
        let (escaped, index) = unsafe { (exn.as_ref().escaped, exn.as_ref().index) };
        if escaped == 0 && !self.free.contains(&index) {
            self.free.push(index);
        }
    }

    /// The object in slot `index`, if there is one and it escaped (the
    /// only objects a handle may name).
    pub fn get(&self, index: u32) -> Option<NonNull<VMException>> {
        let object = self.objects.get(index as usize)?;
        (object.escaped != 0).then(|| NonNull::from(&**object))
    }

    /// Marks `exn`, an object of this heap, as visible as a value.
    ///
    /// # Safety
    /// `exn` must be an object of this heap.
    pub unsafe fn mark_escaped(&mut self, exn: NonNull<VMException>) {
        // SAFETY: the caller's promise; the heap is borrowed exclusively.
        unsafe { (*exn.as_ptr()).escaped = 1 };
    }

    /// Calls `f` with every word of every exception's payload (GC roots).
    pub fn visit_payload_words(&self, f: &mut dyn FnMut(usize)) {
        for object in &self.objects {
            for value in &object.storage {
                f(value.get_ptr() as usize);
            }
        }
    }

    /// Number of objects the heap holds (live or reusable).
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the heap holds none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// The error an uncaught exception leaves Wasm with: the host gets it from
/// the call, and a host function may return it to throw the exception on
/// into its Wasm caller.
#[derive(Debug)]
pub struct UncaughtException(pub NonNull<VMException>);

// SAFETY: it only carries the address, which is dereferenced through the
// owning store.
unsafe impl Send for UncaughtException {}
// SAFETY: as above.
unsafe impl Sync for UncaughtException {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_reused_unless_they_escaped_and_bounded() {
        let mut heap = ExceptionHeap::new(2);
        let tag = std::ptr::null();
        let a = heap.alloc(tag, &[ValRaw::i32(1)]).unwrap();
        // SAFETY: objects of this heap.
        unsafe { heap.release(a) };
        let b = heap.alloc(tag, &[ValRaw::i32(2), ValRaw::i32(3)]).unwrap();
        assert_eq!(a, b, "a released object is reused");
        // SAFETY: as above.
        unsafe {
            assert_eq!(b.as_ref().len, 2);
            assert_eq!((*b.as_ref().payload.add(1)).get_i32(), 3);
            heap.mark_escaped(b);
            heap.release(b);
        }
        let c = heap.alloc(tag, &[]).unwrap();
        assert_ne!(b, c, "an escaped object is not");
        assert!(heap.alloc(tag, &[]).is_err(), "the limit holds");
        assert_eq!(heap.get(0), Some(b));
        assert_eq!(heap.get(1), None, "not escaped");
    }
}

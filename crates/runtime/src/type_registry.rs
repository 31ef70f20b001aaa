//! The engine-wide type registry: interns function types into
//! [`VMSharedTypeIndex`]es shared by every module and host function of an
//! engine, and answers the one signature question the runtime and the
//! embedding layer ask, [`TypeRegistry::is_subtype`].
//!
//! # Why engine-wide ids
//!
//! A module's [`TypeIndex`](hayate_environ::TypeIndex) means nothing
//! outside the module. Everything that crosses modules — a `VMFuncRef` in
//! a table, an imported function, a host function — carries the engine-wide
//! id of its signature instead, and every instance's VMContext points to
//! its module's map from module type index to engine-wide id
//! (`ModuleRuntimeInfo::type_ids`). Two signatures get the same id exactly
//! when they are equal, so compiled `call_indirect`/`call_ref` check a
//! callee by comparing two `u32`s.
//!
//! # The one place subtyping goes
//!
//! Today a function type matches only itself: [`TypeRegistry::is_subtype`]
//! is id equality. It is nevertheless the single function every check
//! outside compiled code goes through (import matching, and whatever
//! checks a function reference against an expected type), so that the
//! GC proposal's declared subtypes and canonicalised recursion groups
//! extend this file only: the registry will intern whole rec groups
//! (canonicalised so that structurally identical groups share ids), record
//! each type's declared supertype, and `is_subtype` will walk that chain.
//! Compiled code will then keep its equality test as the fast path and
//! call a builtin on mismatch that asks `is_subtype`.
//!
//! Types are never removed: an engine's set of signatures is bounded by
//! the modules it compiles, and ids must stay valid in loaded code.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use hayate_environ::{EntityRef, FuncType, VMSharedTypeIndex};

/// Engine-wide canonical ids of function types. Shared by every thread
/// that uses the engine.
///
/// Looking a type up by id takes no lock and writes nothing shared, so
/// threads asking for signatures (every untyped call, `Func::ty`, import
/// checks) do not contend: the types live in `SEGMENTS` append-only
/// segments, segment `k` holding `2^k` of them, each allocated once and
/// published through a `OnceLock`. Registering takes the interning map's
/// lock, as it must find or make the one id of a type.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    ids: RwLock<HashMap<Arc<FuncType>, VMSharedTypeIndex>>,
    segments: [OnceLock<Segment>; SEGMENTS],
}

/// Segments of the type list: ids up to `2^SEGMENTS - 2`, as many as a
/// `u32` id can name.
const SEGMENTS: usize = 32;

type Segment = Box<[OnceLock<Arc<FuncType>>]>;

/// The segment and slot of id `index`: segment `k` holds ids
/// `2^k - 1 .. 2^(k+1) - 1`.
#[inline]
fn slot_of(index: usize) -> (usize, usize) {
    let n = index + 1;
    let k = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (k, n - (1 << k))
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> TypeRegistry {
        TypeRegistry::default()
    }

    /// The id of `ty`, registering it if it is new. Equal types always get
    /// the same id.
    pub fn register(&self, ty: &FuncType) -> VMSharedTypeIndex {
        if let Some(id) = self
            .ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ty)
        {
            return *id;
        }
        let mut ids = self.ids.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have registered it between the two locks.
        if let Some(id) = ids.get(ty) {
            return *id;
        }
        // Ids are given out in order under this lock, so the next one is
        // the map's length, and its slot is empty.
        let id = VMSharedTypeIndex::new(ids.len());
        let ty = Arc::new(ty.clone());
        let (k, i) = slot_of(id.index());
        let segment =
            self.segments[k].get_or_init(|| (0..1usize << k).map(|_| OnceLock::new()).collect());
        let stored = segment[i].set(ty.clone());
        debug_assert!(stored.is_ok(), "type slot {} filled twice", id.index());
        ids.insert(ty, id);
        id
    }

    /// The type with id `id`, shared. Panics if this registry never gave
    /// out `id`.
    #[inline]
    pub fn lookup(&self, id: VMSharedTypeIndex) -> &Arc<FuncType> {
        let (k, i) = slot_of(id.index());
        self.segments[k]
            .get()
            .and_then(|segment| segment[i].get())
            .unwrap_or_else(|| panic!("type id {} is not of this registry", id.index()))
    }

    /// How many types are registered.
    pub fn len(&self) -> usize {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no type is registered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a function of type `actual` may be used where one of type
    /// `expected` is required (an import, a typed function reference).
    /// Today: exactly when the types are equal, i.e. the ids are. This is
    /// the one place GC subtyping will extend (see the module docs), so
    /// callers must not compare ids themselves.
    pub fn is_subtype(&self, actual: VMSharedTypeIndex, expected: VMSharedTypeIndex) -> bool {
        actual == expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayate_environ::WasmValType as ValType;

    fn func(params: &[ValType], results: &[ValType]) -> FuncType {
        FuncType::new(params.to_vec(), results.to_vec())
    }

    #[test]
    fn equal_types_share_an_id_and_different_ones_do_not() {
        let registry = TypeRegistry::new();
        let a = registry.register(&func(&[ValType::I32], &[ValType::I64]));
        let b = registry.register(&func(&[ValType::I64], &[ValType::I32]));
        let a_again = registry.register(&func(&[ValType::I32], &[ValType::I64]));
        assert_eq!(a, a_again);
        assert_ne!(a, b);
        assert_eq!(registry.len(), 2);
        assert_eq!(**registry.lookup(b), func(&[ValType::I64], &[ValType::I32]));
    }

    #[test]
    fn a_type_is_a_subtype_only_of_itself_for_now() {
        let registry = TypeRegistry::new();
        let a = registry.register(&func(&[], &[]));
        let b = registry.register(&func(&[ValType::F32], &[]));
        assert!(registry.is_subtype(a, a));
        assert!(!registry.is_subtype(a, b));
        assert!(!registry.is_subtype(b, a));
    }

    #[test]
    fn concurrent_registration_agrees_on_ids() {
        let registry = TypeRegistry::new();
        let types: Vec<FuncType> = (0..16).map(|n| func(&vec![ValType::I32; n], &[])).collect();
        let ids: Vec<Vec<VMSharedTypeIndex>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| types.iter().map(|t| registry.register(t)).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(registry.len(), types.len());
        for (ty, id) in types.iter().zip(&ids[0]) {
            assert_eq!(**registry.lookup(*id), *ty);
        }
    }

    #[test]
    fn ids_map_to_segments_without_gaps() {
        let mut expected = (0, 0);
        for index in 0..10_000 {
            assert_eq!(slot_of(index), expected, "{index}");
            expected.1 += 1;
            if expected.1 == 1 << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
        assert_eq!(slot_of(u32::MAX as usize - 1), (31, (1 << 31) - 1));
    }
}

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
use std::sync::{PoisonError, RwLock};

use hayate_environ::{EntityRef, FuncType, PrimaryMap, VMSharedTypeIndex};

/// Engine-wide canonical ids of function types. Shared by every thread
/// that uses the engine.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: RwLock<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    ids: HashMap<FuncType, VMSharedTypeIndex>,
    types: PrimaryMap<VMSharedTypeIndex, FuncType>,
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> TypeRegistry {
        TypeRegistry::default()
    }

    /// The id of `ty`, registering it if it is new. Equal types always get
    /// the same id.
    pub fn register(&self, ty: &FuncType) -> VMSharedTypeIndex {
        if let Some(id) = self.read().ids.get(ty) {
            return *id;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have registered it between the two locks.
        if let Some(id) = inner.ids.get(ty) {
            return *id;
        }
        let id = inner.types.push(ty.clone());
        inner.ids.insert(ty.clone(), id);
        id
    }

    /// The type with id `id`. Panics if this registry never gave out `id`.
    pub fn lookup(&self, id: VMSharedTypeIndex) -> FuncType {
        self.read().types[id].clone()
    }

    /// How many types are registered.
    pub fn len(&self) -> usize {
        self.read().types.len()
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
        debug_assert!(
            actual.index() < self.len() && expected.index() < self.len(),
            "type ids of another registry"
        );
        actual == expected
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Interned> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
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
        assert_eq!(registry.lookup(b), func(&[ValType::I64], &[ValType::I32]));
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
    }
}

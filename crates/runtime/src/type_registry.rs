//! The engine-wide type registry: interns the types of every module and
//! host function of an engine into [`VMSharedTypeIndex`]es, and answers
//! the subtyping questions the runtime and the embedding layer ask
//! ([`TypeRegistry::is_subtype`], [`TypeRegistry::is_val_subtype`]).
//!
//! # Why engine-wide ids
//!
//! A module's [`TypeIndex`](hayate_environ::TypeIndex) means nothing
//! outside the module. Everything that crosses modules — a `VMFuncRef` in
//! a table, an imported function, a host function — carries the engine-wide
//! id of its type instead, and every instance's VMContext points to its
//! module's map from module type index to engine-wide id
//! (`ModuleRuntimeInfo::type_ids`). Two types get the same id exactly when
//! they are equivalent, so compiled `call_indirect`/`call_ref` check a
//! callee by comparing two `u32`s.
//!
//! # Canonicalisation
//!
//! Types are equivalent iso-recursively: two types are the same when they
//! sit at the same position of structurally identical recursion groups.
//! [`TypeRegistry::register_module`] therefore interns whole groups. Each
//! group is rewritten into its canonical form first: a reference to a type
//! of the same group becomes [`TypeRef::RecGroup`] (its position in the
//! group), a reference to an earlier group becomes [`TypeRef::Engine`]
//! (that group, registered before, has ids already). Structurally identical
//! groups of two modules then compare equal as plain data, and get the
//! same consecutive run of ids. A host function's signature is a group of
//! one final type, the same key a module's equal singleton type makes.
//!
//! The registry stores every type in engine form (every reference an
//! [`TypeRef::Engine`] id), which is the only form the runtime and the
//! public API ever see.
//!
//! # Subtyping
//!
//! A type is a subtype of itself and of every type on its chain of
//! declared supertypes; [`TypeRegistry::is_subtype`] walks that chain (the
//! validator bounds its depth). Every check outside compiled code goes
//! through it (import matching, a function reference checked against an
//! expected type); compiled code compares ids and, where the expected
//! type is not final, asks a builtin on mismatch.
//!
//! Types are never removed: an engine's set of types is bounded by the
//! modules it compiles, and ids must stay valid in loaded code.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use hayate_environ::{
    EntityRef, FuncType, PrimaryMap, SubType, TypeIndex, TypeRef, VMSharedTypeIndex, WasmValType,
};

/// Engine-wide canonical ids of types. Shared by every thread that uses
/// the engine.
///
/// Looking a type up by id takes no lock and writes nothing shared, so
/// threads asking for signatures (every untyped call, `Func::ty`, import
/// checks) do not contend: the types live in `SEGMENTS` append-only
/// segments, segment `k` holding `2^k` of them, each allocated once and
/// published through a `OnceLock`. Registering takes the interning map's
/// lock, as it must find or make the one run of ids of a group.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    interned: RwLock<Interned>,
    segments: [OnceLock<Segment>; SEGMENTS],
}

/// The interning map (canonical group → its first id) and the number of
/// ids given out, both under one lock.
#[derive(Debug, Default)]
struct Interned {
    groups: HashMap<Box<[SubType]>, VMSharedTypeIndex>,
    len: usize,
}

/// One registered type, in engine form.
#[derive(Debug)]
struct Registered {
    ty: SubType,
    /// The signature, shared, if the type is a function type.
    signature: Option<Arc<FuncType>>,
}

/// Segments of the type list: ids up to `2^SEGMENTS - 2`, as many as a
/// `u32` id can name.
const SEGMENTS: usize = 32;

type Segment = Box<[OnceLock<Registered>]>;

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

    /// The id of the function type `ty`, a final type of a group of its
    /// own, registering it if it is new. `ty` is in engine form (its
    /// concrete references are engine ids), as the public API builds it.
    pub fn register(&self, ty: &FuncType) -> VMSharedTypeIndex {
        self.intern(Box::new([SubType::func(ty.clone())]))
    }

    /// The engine-wide id of each type of a module's type section
    /// (`types`, grouped by `rec_groups` as in `ModuleInfo`), registering
    /// the groups that are new.
    pub fn register_module(
        &self,
        types: &PrimaryMap<TypeIndex, SubType>,
        rec_groups: &[TypeIndex],
    ) -> Vec<VMSharedTypeIndex> {
        let mut ids: Vec<VMSharedTypeIndex> = Vec::with_capacity(types.len());
        for (g, start) in rec_groups.iter().enumerate() {
            let start = start.index();
            let end = rec_groups.get(g + 1).map_or(types.len(), |t| t.index());
            let canonical: Box<[SubType]> = (start..end)
                .map(|i| {
                    types[TypeIndex::new(i)].map_concrete(|r| match r {
                        TypeRef::Module(t) if t.index() >= start => {
                            TypeRef::RecGroup((t.index() - start) as u32)
                        }
                        TypeRef::Module(t) => TypeRef::Engine(ids[t.index()]),
                        other => other,
                    })
                })
                .collect();
            let first = self.intern(canonical);
            ids.extend((0..end - start).map(|i| VMSharedTypeIndex::new(first.index() + i)));
        }
        ids
    }

    /// The first id of the canonical group `group`, registering it if new.
    fn intern(&self, group: Box<[SubType]>) -> VMSharedTypeIndex {
        if let Some(id) = self
            .interned
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .groups
            .get(&group)
        {
            return *id;
        }
        let mut interned = self
            .interned
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Another thread may have registered it between the two locks.
        if let Some(id) = interned.groups.get(&group) {
            return *id;
        }
        // Ids are given out in order under this lock, so the group's run
        // starts at the count, and its slots are empty.
        let first = interned.len;
        for (i, ty) in group.iter().enumerate() {
            let ty = ty.map_concrete(|r| match r {
                TypeRef::RecGroup(j) => TypeRef::Engine(VMSharedTypeIndex::new(first + j as usize)),
                other => other,
            });
            let signature = ty.as_func().map(|f| Arc::new(f.clone()));
            let (k, slot) = slot_of(first + i);
            let segment = self.segments[k]
                .get_or_init(|| (0..1usize << k).map(|_| OnceLock::new()).collect());
            let stored = segment[slot].set(Registered { ty, signature });
            debug_assert!(stored.is_ok(), "type slot {} filled twice", first + i);
        }
        interned.len += group.len();
        let first = VMSharedTypeIndex::new(first);
        interned.groups.insert(group, first);
        first
    }

    fn registered(&self, id: VMSharedTypeIndex) -> &Registered {
        let (k, i) = slot_of(id.index());
        self.segments[k]
            .get()
            .and_then(|segment| segment[i].get())
            .unwrap_or_else(|| panic!("type id {} is not of this registry", id.index()))
    }

    /// The function type with id `id`, shared. Panics if this registry
    /// never gave out `id` or `id` is not a function type.
    #[inline]
    pub fn lookup(&self, id: VMSharedTypeIndex) -> &Arc<FuncType> {
        self.registered(id)
            .signature
            .as_ref()
            .unwrap_or_else(|| panic!("type id {} is not a function type", id.index()))
    }

    /// The type with id `id`, in engine form.
    pub fn sub_type(&self, id: VMSharedTypeIndex) -> &SubType {
        &self.registered(id).ty
    }

    /// How many types are registered.
    pub fn len(&self) -> usize {
        self.interned
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len
    }

    /// Whether no type is registered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a value of type `actual` may be used where one of type
    /// `expected` is required (an import, a typed function reference):
    /// `expected` is `actual` or on its chain of declared supertypes.
    pub fn is_subtype(&self, actual: VMSharedTypeIndex, expected: VMSharedTypeIndex) -> bool {
        let mut ty = actual;
        loop {
            if ty == expected {
                return true;
            }
            match self.sub_type(ty).supertype {
                Some(TypeRef::Engine(s)) => ty = s,
                _ => return false,
            }
        }
    }

    /// Whether `actual <: expected` for two value types in engine form.
    pub fn is_val_subtype(&self, actual: WasmValType, expected: WasmValType) -> bool {
        actual.is_subtype_with(expected, |a, b| match (a, b) {
            (TypeRef::Engine(a), TypeRef::Engine(b)) => self.is_subtype(a, b),
            _ => false,
        })
    }

    /// `ty` in engine form: every module type index mapped through
    /// `module_ids` (a module's `type_ids`).
    pub fn canonical_val(ty: WasmValType, module_ids: &[u32]) -> WasmValType {
        ty.map_concrete(|r| match r {
            TypeRef::Module(t) => {
                TypeRef::Engine(VMSharedTypeIndex::from_u32(module_ids[t.index()]))
            }
            other => other,
        })
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

    fn module(
        types: Vec<SubType>,
        groups: &[usize],
    ) -> (PrimaryMap<TypeIndex, SubType>, Vec<TypeIndex>) {
        (
            types.into_iter().collect(),
            groups.iter().map(|g| TypeIndex::new(*g)).collect(),
        )
    }

    fn func_ref(t: usize) -> ValType {
        ValType::Ref(hayate_environ::RefType::new(
            false,
            hayate_environ::HeapType::ConcreteFunc(TypeRef::Module(TypeIndex::new(t))),
        ))
    }

    #[test]
    fn equal_groups_of_two_modules_share_ids_and_keep_references_inside() {
        let registry = TypeRegistry::new();
        // type 0 = (func), group {1, 2}: 1 takes a (ref 2), 2 returns a (ref 1).
        let types = || {
            module(
                vec![
                    SubType::func(func(&[], &[])),
                    SubType::func(func(&[func_ref(2)], &[])),
                    SubType::func(func(&[], &[func_ref(1)])),
                ],
                &[0, 1],
            )
        };
        let (a, ga) = types();
        let ids_a = registry.register_module(&a, &ga);
        let (b, gb) = types();
        let ids_b = registry.register_module(&b, &gb);
        assert_eq!(ids_a, ids_b);
        assert_eq!(registry.len(), 3);
        assert_eq!(ids_a[0], registry.register(&func(&[], &[])));
        // Stored in engine form: type 1's parameter names type 2's id.
        let p = registry.lookup(ids_a[1]).params[0];
        assert_eq!(p, func_ref(0).map_concrete(|_| TypeRef::Engine(ids_a[2])));
        // The same two types written as separate groups are other types.
        let (c, _) = types();
        let ids_c = registry.register_module(&c, &[TypeIndex::new(0)]);
        assert_ne!(
            ids_c[0], ids_a[0],
            "one group of three is not {{0}} {{1, 2}}"
        );
    }

    #[test]
    fn declared_supertypes_make_subtypes() {
        let registry = TypeRegistry::new();
        let open = SubType {
            is_final: false,
            ..SubType::func(func(&[], &[]))
        };
        let child = SubType {
            is_final: true,
            supertype: Some(TypeRef::Module(TypeIndex::new(0))),
            ..SubType::func(func(&[], &[]))
        };
        let (types, groups) = module(vec![open, child], &[0, 1]);
        let ids = registry.register_module(&types, &groups);
        assert!(registry.is_subtype(ids[1], ids[0]));
        assert!(!registry.is_subtype(ids[0], ids[1]));
        let plain = registry.register(&func(&[], &[]));
        assert_ne!(plain, ids[0], "a final type is not an open one");
        assert!(!registry.is_subtype(ids[1], plain));
        let nullable = |id| {
            ValType::Ref(hayate_environ::RefType::new(
                true,
                hayate_environ::HeapType::ConcreteFunc(TypeRef::Engine(id)),
            ))
        };
        assert!(registry.is_val_subtype(nullable(ids[1]), nullable(ids[0])));
        assert!(registry.is_val_subtype(nullable(ids[1]), ValType::FUNCREF));
        assert!(!registry.is_val_subtype(ValType::FUNCREF, nullable(ids[1])));
        assert!(!registry.is_val_subtype(nullable(ids[1]), ValType::EXTERNREF));
    }

    #[test]
    fn a_type_is_a_subtype_only_of_itself_without_declared_supertypes() {
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

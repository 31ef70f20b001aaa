//! `Instance`: instantiation with type-checked imports, the start function,
//! and access to exports.

use hayate_environ::{EntityIndex, VMSharedTypeIndex, WasmValType};
use hayate_runtime::{Imports, VMExport, VMStore};

use crate::Engine;
use crate::error::{Error, Result};
use crate::externals::{Extern, Global, Memory, Table, Tag};
use crate::func::Func;
use crate::module::Module;
use crate::store::{AsContextMut, StoreContextMut, StoreId, StoreInner, StoreOpaque};
use crate::typed::{TypedFunc, WasmParams, WasmResults};
use crate::types::{EngineEntityType, ExternType};
use crate::vm::{self, FuncRefPtr, GlobalPtr, MemoryPtr, TablePtr, TagPtr};

/// An instantiated module, owned by a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    store: StoreId,
    index: usize,
}

impl Instance {
    pub(crate) fn from_index(store: StoreId, index: usize) -> Instance {
        Instance { store, index }
    }

    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        Instance::new_in(store.as_context_mut().0, module, imports)
    }

    pub(crate) fn new_in<T: 'static>(
        store: &mut StoreInner<T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        if !crate::Engine::same(&store.opaque.engine, module.engine()) {
            return Err(Error::msg("module and store belong to different engines"));
        }
        let info = module.info();
        if imports.len() != info.imports.len() {
            return Err(Error::msg(format!(
                "module expects {} imports but {} were given",
                info.imports.len(),
                imports.len()
            )));
        }
        for (import, ext) in info.imports.iter().zip(imports) {
            store.opaque.check(ext.store_id())?;
            let actual = match ext {
                // Functions compare by engine-wide type id: no lookup.
                Extern::Func(f) => {
                    check_func_import(
                        module,
                        import,
                        f.ptr.type_id(f.store, &store.opaque),
                        || f.ty(&*store),
                    )?;
                    continue;
                }
                other => other.ty(&*store),
            };
            check_import(module, import, &actual)?;
        }
        Instance::new_checked(store, module, imports)
    }

    /// Instantiates `module` with `imports`, whose types were checked
    /// already (by `new_in` or when an `InstancePre` was made); checks
    /// that they belong to `store`.
    pub(crate) fn new_checked<T: 'static>(
        store: &mut StoreInner<T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        if !crate::Engine::same(&store.opaque.engine, module.engine()) {
            return Err(Error::msg("module and store belong to different engines"));
        }
        let info = module.info();
        debug_assert_eq!(imports.len(), info.imports.len());
        let mut raw = Imports::default();
        for ext in imports {
            store.opaque.check(ext.store_id())?;
            match ext {
                Extern::Func(f) => raw.functions.push(f.ptr.as_raw().cast()),
                Extern::Global(g) => raw.globals.push(g.ptr.raw().as_ptr()),
                Extern::Tag(t) => raw.tags.push(t.ptr.raw().as_ptr()),
                Extern::Table(t) => raw.tables.push(t.ptr.raw()),
                Extern::Memory(m) => raw.memories.push(m.ptr.raw()),
            }
        }
        store.admit_instance()?;
        for ty in info
            .memories
            .values()
            .skip(info.num_imported_memories as usize)
        {
            store.admit_memory(ty)?;
        }
        for ty in info.tables.values().skip(info.num_imported_tables as usize) {
            store.admit_table(ty.minimum, ty.maximum)?;
        }
        let limits: *const _ = &*store.opaque.limits;
        let vmstore: *mut dyn VMStore = store as *mut StoreInner<T>;
        let opaque = &mut store.opaque;
        let index = vm::instantiate(
            &module.inner.runtime,
            raw,
            vmstore,
            limits,
            &opaque.engine,
            &mut opaque.instances,
        )?;
        let instance = Instance {
            store: store.opaque.id,
            index,
        };
        if let Some(start) = info.start {
            let ptr =
                FuncRefPtr::new(store.opaque.instances[index].func_ref(start)).expect("non-null");
            Func {
                store: instance.store,
                ptr,
            }
            .call_raw(store, &mut [])?;
        }
        Ok(instance)
    }

    /// The export named `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = store.as_context_mut().0;
        if store.opaque.id != self.store {
            return None;
        }
        let index = store.opaque.instances[self.index]
            .module()
            .info
            .export(name)?;
        self.entity(&mut store.opaque, index)
    }

    /// Entity `index` of this instance as a handle.
    fn entity(&self, store: &mut StoreOpaque, index: EntityIndex) -> Option<Extern> {
        let instance = &mut store.instances[self.index];
        let info = &instance.module().info;
        let global_ty = match index {
            EntityIndex::Global(g) => Some(hayate_environ::GlobalType {
                content: instance.module().engine_val_type(info.globals[g].content),
                ..info.globals[g]
            }),
            _ => None,
        };
        let memory_ty = match index {
            EntityIndex::Memory(m) => Some(info.memories[m]),
            _ => None,
        };
        Some(match instance.entity(index) {
            VMExport::Function(f) => Extern::Func(Func {
                store: self.store,
                ptr: FuncRefPtr::new(f)?,
            }),
            VMExport::Table(t) => Extern::Table(Table {
                ptr: TablePtr::new(self.store, t),
            }),
            VMExport::Memory(m) => Extern::Memory(Memory {
                ptr: MemoryPtr::new(self.store, m),
                ty: memory_ty?,
            }),
            VMExport::Global(g) => Extern::Global(Global {
                ptr: GlobalPtr::new(self.store, std::ptr::NonNull::new(g)?),
                ty: global_ty?,
            }),
            VMExport::Tag(t) => Extern::Tag(Tag {
                ptr: TagPtr::new(self.store, std::ptr::NonNull::new(t.cast_mut())?),
            }),
        })
    }

    /// Every export of this instance, in the module's order, as
    /// [`Export`]s: a name and the exported item.
    ///
    /// The names are borrowed from the store (as in Wasmtime), so collect
    /// what you need before using the store again. An instance used with a
    /// store other than its own has no exports here (Wasmtime panics).
    pub fn exports<'a, T: 'static>(
        &'a self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> impl ExactSizeIterator<Item = Export<'a>> + 'a {
        let store: &'a mut StoreInner<T> = store.into().0;
        let own = store.opaque.id == self.store;
        let mut items = Vec::new();
        if own {
            let indices: Vec<EntityIndex> = store.opaque.instances[self.index]
                .module()
                .info
                .exports
                .iter()
                .map(|e| e.index)
                .collect();
            items.reserve_exact(indices.len());
            for index in indices {
                let item = self
                    .entity(&mut store.opaque, index)
                    .expect("an export of a live instance is never null");
                items.push(item);
            }
        }
        let store: &'a StoreInner<T> = store;
        let names: &'a [hayate_environ::Export] = match own {
            true => &store.opaque.instances[self.index].module().info.exports,
            false => &[],
        };
        names.iter().zip(items).map(|(export, definition)| Export {
            name: &export.name,
            definition,
        })
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` with a static signature.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| Error::msg(format!("failed to find function export `{name}`")))?;
        f.typed(&store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }
}

/// Checks that a function of engine-wide type `type_id` may be `import`
/// of `module`; `actual` describes it for the error.
pub(crate) fn check_func_import(
    module: &Module,
    import: &hayate_environ::Import,
    type_id: VMSharedTypeIndex,
    actual: impl FnOnce() -> crate::types::FuncType,
) -> Result<()> {
    if let EngineEntityType::Function(expected) = module.engine_entity_type(import.index)
        && module.engine().is_subtype(type_id, expected)
    {
        return Ok(());
    }
    check_import(module, import, &ExternType::Func(actual()))
}

/// Checks that an item of type `actual` may be `import` of `module`.
pub(crate) fn check_import(
    module: &Module,
    import: &hayate_environ::Import,
    actual: &ExternType,
) -> Result<()> {
    let engine = module.engine();
    let expected = module.engine_entity_type(import.index);
    if matches(engine, &expected, &actual.to_engine(engine)?) {
        return Ok(());
    }
    Err(Error::msg(format!(
        "incompatible import type for `{}::{}`: expected {}, found {}",
        import.module,
        import.name,
        describe(&ExternType::from_env(engine, expected)),
        describe(actual)
    )))
}

/// Import matching (both types in engine form): subtyping for functions
/// and immutable globals, equivalence for mutable globals' and tables'
/// element types, limits subtyping for tables and memories (the actual
/// minimum is the current size).
fn matches(engine: &Engine, expected: &EngineEntityType, actual: &EngineEntityType) -> bool {
    fn limits(emin: u64, emax: Option<u64>, amin: u64, amax: Option<u64>) -> bool {
        amin >= emin
            && match (emax, amax) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(e), Some(a)) => a <= e,
            }
    }
    let sub = |a, e| engine.is_val_subtype(a, e);
    let same = |a, e| sub(a, e) && sub(e, a);
    match (expected, actual) {
        (EngineEntityType::Function(e), EngineEntityType::Function(a)) => engine.is_subtype(*a, *e),
        (EngineEntityType::Global(e), EngineEntityType::Global(a)) => {
            e.mutable == a.mutable
                && if e.mutable {
                    same(a.content, e.content)
                } else {
                    sub(a.content, e.content)
                }
        }
        (EngineEntityType::Table(e), EngineEntityType::Table(a)) => {
            same(WasmValType::Ref(a.element), WasmValType::Ref(e.element))
                && e.table64 == a.table64
                && limits(e.minimum, e.maximum, a.minimum, a.maximum)
        }
        // A tag's type is invariant: the payload is read and written.
        (EngineEntityType::Tag(e), EngineEntityType::Tag(a)) => e == a,
        (EngineEntityType::Memory(e), EngineEntityType::Memory(a)) => {
            e.memory64 == a.memory64
                && e.shared == a.shared
                && limits(e.minimum, e.maximum, a.minimum, a.maximum)
        }
        _ => false,
    }
}

fn describe(ty: &ExternType) -> String {
    fn limits(min: u64, max: Option<u64>) -> String {
        match max {
            Some(max) => format!("{min}..{max}"),
            None => format!("{min}.."),
        }
    }
    match ty {
        ExternType::Func(f) => format!("function {f}"),
        ExternType::Global(g) => format!("global {:?} {}", g.mutability(), g.content()),
        ExternType::Table(t) => {
            format!(
                "table of {:?} {}",
                t.element(),
                limits(t.minimum(), t.maximum())
            )
        }
        ExternType::Memory(m) => format!("memory of {} pages", limits(m.minimum(), m.maximum())),
        ExternType::Tag(t) => format!("tag {}", t.ty()),
    }
}

/// An exported item of an [`Instance`]: its name and the item, as
/// [`Instance::exports`] lists them.
#[derive(Debug, Clone)]
pub struct Export<'instance> {
    name: &'instance str,
    definition: Extern,
}

impl<'instance> Export<'instance> {
    /// The name the item is exported under.
    pub fn name(&self) -> &'instance str {
        self.name
    }

    /// The exported item.
    pub fn into_extern(self) -> Extern {
        self.definition
    }

    /// The exported function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        self.definition.into_func()
    }

    /// The exported table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        self.definition.into_table()
    }

    /// The exported memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        self.definition.into_memory()
    }

    /// The exported global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        self.definition.into_global()
    }
}

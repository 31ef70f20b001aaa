//! `Instance`: instantiation with type-checked imports, the start function,
//! and access to exports.

use hayate_environ::{EntityIndex, EntityType};
use hayate_runtime::{Export, Imports, VMStore};

use crate::error::{Error, Result};
use crate::externals::{Extern, Global, Memory, Table};
use crate::func::Func;
use crate::module::Module;
use crate::store::{AsContextMut, StoreId, StoreInner};
use crate::typed::{TypedFunc, WasmParams, WasmResults};
use crate::types::{ExternType, GlobalType};
use crate::vm::{self, FuncRefPtr, GlobalPtr, MemoryPtr, TablePtr};

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
        let mut raw = Imports::default();
        for (import, ext) in info.imports.iter().zip(imports) {
            store.opaque.check(ext.store_id())?;
            let expected = info.entity_type(import.index);
            let actual = ext.ty(&*store);
            if !matches(&expected, &actual) {
                return Err(Error::msg(format!(
                    "incompatible import type for `{}::{}`: expected {}, found {}",
                    import.module,
                    import.name,
                    describe(&ExternType::from_env(expected.clone())),
                    describe(&actual)
                )));
            }
            match ext {
                Extern::Func(f) => raw.functions.push(f.ptr.as_raw().cast()),
                Extern::Global(g) => raw.globals.push(g.ptr.0.as_ptr()),
                Extern::Table(t) => raw.tables.push(t.ptr.0),
                Extern::Memory(m) => raw.memories.push(m.ptr.0),
            }
        }
        store.admit_instance()?;
        for ty in &info.memories[info.num_imported_memories as usize..] {
            store.admit_memory(ty)?;
        }
        for ty in &info.tables[info.num_imported_tables as usize..] {
            store.admit_table(ty.minimum, ty.maximum)?;
        }
        let limits: *const _ = &*store.opaque.limits;
        let vmstore: *mut dyn VMStore = store as *mut StoreInner<T>;
        let engine = store.opaque.engine.clone();
        let index = vm::instantiate(
            &module.inner.runtime,
            raw,
            vmstore,
            limits,
            &engine,
            &mut store.opaque.instances,
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
        let store = &mut store.as_context_mut().0.opaque;
        if store.id != self.store {
            return None;
        }
        let instance = &mut store.instances[self.index];
        let index = instance.module().info.export(name)?;
        let global_ty = match index {
            EntityIndex::Global(g) => Some(instance.module().info.globals[g as usize]),
            _ => None,
        };
        let memory_ty = match index {
            EntityIndex::Memory(m) => Some(instance.module().info.memories[m as usize]),
            _ => None,
        };
        Some(match instance.entity(index) {
            Export::Function(f) => Extern::Func(Func {
                store: self.store,
                ptr: FuncRefPtr::new(f)?,
            }),
            Export::Table(t) => Extern::Table(Table {
                store: self.store,
                ptr: TablePtr(t),
            }),
            Export::Memory(m) => Extern::Memory(Memory {
                store: self.store,
                ptr: MemoryPtr(m),
                ty: memory_ty?,
            }),
            Export::Global(g) => Extern::Global(Global {
                store: self.store,
                ptr: GlobalPtr(std::ptr::NonNull::new(g)?),
                ty: GlobalType::from_env(global_ty?),
            }),
        })
    }

    /// Every export, in module order.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let names: Vec<String> = {
            let s = &store.as_context_mut().0.opaque;
            if s.id != self.store {
                return Vec::new();
            }
            s.instances[self.index]
                .module()
                .info
                .exports
                .iter()
                .map(|e| e.name.clone())
                .collect()
        };
        names
            .into_iter()
            .filter_map(|n| self.get_export(&mut store, &n).map(|e| (n, e)))
            .collect()
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

/// Import matching: exact for functions and globals; limits subtyping for
/// tables and memories (the actual minimum is the current size).
fn matches(expected: &EntityType, actual: &ExternType) -> bool {
    fn limits(emin: u64, emax: Option<u64>, amin: u64, amax: Option<u64>) -> bool {
        amin >= emin
            && match (emax, amax) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(e), Some(a)) => a <= e,
            }
    }
    match (expected, actual) {
        (EntityType::Function(e), ExternType::Func(a)) => *e == a.inner,
        (EntityType::Global(e), ExternType::Global(a)) => GlobalType::from_env(*e) == *a,
        (EntityType::Table(e), ExternType::Table(a)) => {
            e.element == a.inner.element
                && limits(e.minimum, e.maximum, a.inner.minimum, a.inner.maximum)
        }
        (EntityType::Memory(e), ExternType::Memory(a)) => {
            e.memory64 == a.inner.memory64
                && e.shared == a.inner.shared
                && limits(e.minimum, e.maximum, a.inner.minimum, a.inner.maximum)
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
    }
}

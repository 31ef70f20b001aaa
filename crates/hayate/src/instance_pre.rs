//! `InstancePre<T>`: a module whose imports a `Linker` resolved and
//! type-checked once, ready to be instantiated many times, in any store of
//! the engine, without looking a name up again.

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::externals::Extern;
use crate::instance::{Instance, check_func_import, check_import};
use crate::linker::Definition;
use crate::module::Module;
use crate::store::AsContextMut;
use crate::types::ExternType;

/// A module with its imports resolved and type-checked, made by
/// [`Linker::instantiate_pre`](crate::Linker::instantiate_pre).
///
/// [`InstancePre::instantiate`] only creates the instance: no name lookup,
/// no type check of imports. Cheap to clone, and `Send + Sync`, so one
/// value can serve every worker thread of a server (each with its own
/// stores).
pub struct InstancePre<T> {
    module: Module,
    /// The definition of each import, in the module's import order.
    items: Arc<[Definition<T>]>,
    /// The imports that are a store's memory or table: their size may have
    /// grown since they were defined, so they are matched again, against
    /// their current size, at each instantiation.
    sized: Arc<[usize]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            items: self.items.clone(),
            sized: self.sized.clone(),
        }
    }
}

impl<T> std::fmt::Debug for InstancePre<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePre")
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> InstancePre<T> {
    /// Type-checks `items` (the definition of each import of `module`).
    pub(crate) fn new(module: &Module, items: Vec<Definition<T>>) -> Result<InstancePre<T>> {
        let mut sized = Vec::new();
        for (i, (import, item)) in module.info().imports.iter().zip(&items).enumerate() {
            match item {
                Definition::HostFunc(ty, type_id, _) => {
                    check_func_import(module, import, *type_id, || ty.clone())?
                }
                Definition::Extern(_, ty) => match largest(ty) {
                    // Could it match once grown? The size is checked when
                    // instantiating.
                    Some(grown) => {
                        check_import(module, import, &grown)?;
                        sized.push(i);
                    }
                    None => check_import(module, import, ty)?,
                },
            }
        }
        Ok(InstancePre {
            module: module.clone(),
            items: items.into(),
            sized: sized.into(),
        })
    }

    /// The module this instantiates.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store`.
    ///
    /// `store` must belong to the module's engine; items the linker held
    /// as a store's handles (from `Linker::define` or `Linker::instance`)
    /// must belong to `store`. Otherwise this fails with an error (where
    /// Wasmtime panics). The start function runs, and its trap, like any
    /// instantiation error, is returned.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let store = store.as_context_mut().0;
        if !Engine::same(&store.opaque.engine, self.module.engine()) {
            return Err(Error::msg(
                "cannot instantiate an `InstancePre` in a store of another engine",
            ));
        }
        let imports: Vec<Extern> = self.items.iter().map(|d| d.to_extern(store)).collect();
        let info = self.module.info();
        for &i in self.sized.iter() {
            store.opaque.check(imports[i].store_id())?;
            let current = imports[i].ty(&*store);
            check_import(&self.module, &info.imports[i], &current)?;
        }
        Instance::new_checked(store, &self.module, &imports)
    }
}

/// For a memory or table type, the same type at its largest size (the
/// most it could match after growing); `None` for other types.
fn largest(ty: &ExternType) -> Option<ExternType> {
    match ty {
        ExternType::Memory(m) => {
            let mut m = *m;
            m.inner.minimum = m.inner.maximum.unwrap_or(u64::MAX);
            Some(ExternType::Memory(m))
        }
        ExternType::Table(t) => {
            let mut t = t.clone();
            t.minimum = t.maximum.unwrap_or(u64::MAX);
            Some(ExternType::Table(t))
        }
        _ => None,
    }
}

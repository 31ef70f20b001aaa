//! `Linker<T>`: names for host functions and instances, used to resolve a
//! module's imports by name when instantiating it; `UnknownImportError`,
//! the error an import nobody defined produces.
//!
//! Host functions defined here (`func_wrap`, `func_new`, unknown imports
//! defined as traps, a command module's exports) are engine-level, as in
//! Wasmtime: the linker keeps their signature and body, and each store they
//! are instantiated into gets its own `Func` around the shared body. Items
//! given with `define` or `instance` are handles of one store and only
//! instantiate into that store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hayate_environ::VMSharedTypeIndex;

use crate::engine::Engine;
use crate::error::{Context, Error, Result};
use crate::externals::Extern;
use crate::func::{Caller, Func, SharedHostFn};
use crate::instance::Instance;
use crate::instance_pre::InstancePre;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::typed::IntoFunc;
use crate::types::{ExternType, FuncType, ImportType};
use crate::values::Val;

/// Resolves imports by module and field name.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            items: self.items.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T> fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.items.len())
            .field("allow_shadowing", &self.allow_shadowing)
            .finish_non_exhaustive()
    }
}

/// What a name is defined as.
pub(crate) enum Definition<T> {
    /// A handle of one store, with its type when it was defined (what
    /// import matching needs of it never changes: a memory's or table's
    /// size only grows).
    Extern(Extern, ExternType),
    /// A host function usable in any store of the engine: its signature, its
    /// engine-wide type id, and its body.
    HostFunc(FuncType, VMSharedTypeIndex, Arc<SharedHostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e, ty) => Definition::Extern(*e, ty.clone()),
            Definition::HostFunc(ty, id, f) => Definition::HostFunc(ty.clone(), *id, f.clone()),
        }
    }
}

impl<T: 'static> Definition<T> {
    /// The item as a handle of `store` (a new `Func` for a host function).
    pub(crate) fn to_extern(&self, store: &mut StoreInner<T>) -> Extern {
        match self {
            Definition::Extern(e, _) => *e,
            Definition::HostFunc(_, type_id, body) => {
                Extern::Func(Func::new_raw_typed(store, *type_id, body.clone()))
            }
        }
    }
}

/// The error for an import that was not defined: returned by
/// [`Linker::instantiate`] and [`Linker::instantiate_pre`], and by the
/// functions [`Linker::define_unknown_imports_as_traps`] defines when they
/// are called. Find it with `err.downcast_ref::<UnknownImportError>()`.
#[derive(Debug, Clone)]
pub struct UnknownImportError {
    module: String,
    name: String,
    ty: ExternType,
}

impl UnknownImportError {
    fn new(import: &ImportType<'_>) -> UnknownImportError {
        UnknownImportError {
            module: import.module().to_string(),
            name: import.name().to_string(),
            ty: import.ty(),
        }
    }

    /// The module name of the import.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The field name of the import.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type the module expects.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

impl fmt::Display for UnknownImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown import: `{}::{}` has not been defined",
            self.module, self.name
        )
    }
}

impl std::error::Error for UnknownImportError {}

#[cfg(test)]
thread_local! {
    /// Name lookups made by `resolve_imports` on this thread (tests count
    /// the work `InstancePre` saves).
    pub(crate) static LOOKUPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<T: 'static> Linker<T> {
    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            items: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.items.contains_key(&key) {
            return Err(Error::msg(format!(
                "import `{module}::{name}` is defined twice"
            )));
        }
        self.items.insert(key, def);
        Ok(self)
    }

    fn insert_host_func(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        body: Arc<SharedHostFn<T>>,
    ) -> Result<&mut Self> {
        let type_id = ty.type_id(&self.engine)?;
        self.insert(module, name, Definition::HostFunc(ty, type_id, body))
    }

    /// Defines `module::name` as `item`.
    pub fn define(
        &mut self,
        store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        store.as_context().0.opaque.check(item.store_id())?;
        let ty = item.ty(&store);
        self.insert(module, name, Definition::Extern(item, ty))
    }

    /// Defines `module::name` as a host function from a typed closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = f.into_func();
        self.insert_host_func(module, name, ty, SharedHostFn::new(body))
    }

    /// Defines `module::name` as a host function with dynamic types.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let body = crate::func::dynamic_host_fn(ty.clone(), f);
        self.insert_host_func(module, name, ty, SharedHostFn::new(body))
    }

    /// Defines every export of `instance` under `module_name`.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(store.as_context_mut())
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, item) in exports {
            let ty = item.ty(&store);
            self.insert(module_name, &name, Definition::Extern(item, ty))?;
        }
        Ok(self)
    }

    /// Defines the exports of `module` under `module_name`, following the
    /// WASI conventions for [commands and reactors], as Wasmtime does.
    ///
    /// * A **reactor or library** (no `_start` export) is instantiated once,
    ///   now, in `store`; its `_initialize` export, if any, is called; and
    ///   each of its exports is defined under `module_name` (as with
    ///   [`Linker::instance`]).
    /// * A **command** (a `_start` export) is not instantiated now: each of
    ///   its function exports is defined as a host function that, every
    ///   time it is called, instantiates `module` afresh (with this
    ///   linker's definitions as they are now) and calls that instance's
    ///   export. A command may also export its `memory`, function table and
    ///   a few linker-made globals, which are not defined; any other
    ///   non-function export is an error. Its imports are resolved now, so
    ///   a missing one is an error here rather than at the first call.
    ///
    /// A module that exports both `_start` and `_initialize` is refused.
    /// This is what `hayate run --preload NAME=PATH` uses.
    ///
    /// [commands and reactors]: https://github.com/WebAssembly/WASI/blob/main/legacy/application-abi.md
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        if !Engine::same(&self.engine, module.engine()) {
            return Err(Error::msg("module and linker belong to different engines"));
        }
        let is_func = |name: &str| {
            module
                .exports()
                .any(|e| e.name() == name && matches!(e.ty(), ExternType::Func(_)))
        };
        match (is_func("_start"), is_func("_initialize")) {
            (true, true) => Err(Error::msg(
                "module has both a `_start` and an `_initialize` function",
            )),
            (true, false) => self.command(module_name, module),
            (false, _) => {
                let instance = self.instantiate(&mut store, module)?;
                if let Some(init) = instance.get_func(&mut store, "_initialize") {
                    init.typed::<(), ()>(&store)
                        .and_then(|f| f.call(&mut store, ()))
                        .context("calling the Reactor initialization function")?;
                }
                self.instance(store, module_name, instance)
            }
        }
    }

    /// Defines a command's function exports as fresh-instance host functions.
    fn command(&mut self, module_name: &str, module: &Module) -> Result<&mut Self> {
        // Non-function exports a command may have (toolchains add them).
        let allowed = |name: &str, ty: &ExternType| match ty {
            ExternType::Memory(_) => name == "memory",
            ExternType::Table(_) => name == "__indirect_function_table" || name == "table",
            ExternType::Global(_) => name == "__data_end" || name == "__heap_base",
            ExternType::Func(_) => true,
            // C++ and setjmp/longjmp support export their tags
            // (`__cpp_exception`, `__c_longjmp`).
            ExternType::Tag(_) => true,
        };
        let pre = self.instantiate_pre(module)?;
        for export in module.exports() {
            let ty = export.ty();
            let ExternType::Func(func_ty) = ty else {
                if allowed(export.name(), &ty) {
                    continue;
                }
                return Err(Error::msg(format!(
                    "command export `{}` is not a function",
                    export.name()
                )));
            };
            let pre = pre.clone();
            let name = export.name().to_string();
            let body = move |mut caller: Caller<'_, T>, values: &mut [hayate_runtime::ValRaw]| {
                let instance = pre.instantiate(&mut caller)?;
                let func = instance
                    .get_func(&mut caller, &name)
                    .expect("the fresh instance has the export its module declares");
                // Same module, same export: the signature is the one this
                // host function was defined with, so the raw values fit.
                func.call_raw(caller.store, values)
            };
            self.insert_host_func(
                module_name,
                export.name(),
                func_ty,
                SharedHostFn::new(Box::new(body)),
            )?;
        }
        Ok(self)
    }

    /// Defines each function import of `module` that this linker does not
    /// define yet as a host function that traps when called, with an
    /// [`UnknownImportError`] naming the import (as Wasmtime). Useful to
    /// run a module whose unused imports nobody provides. Imports of other
    /// kinds that are not defined stay undefined: instantiation still fails
    /// on them.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()> {
        for import in module.imports() {
            if self.lookup(import.module(), import.name()).is_some() {
                continue;
            }
            let ExternType::Func(ty) = import.ty() else {
                continue;
            };
            let error = UnknownImportError::new(&import);
            let body = move |_: Caller<'_, T>, _: &mut [hayate_runtime::ValRaw]| -> Result<()> {
                Err(Error::new(error.clone()))
            };
            self.insert_host_func(
                import.module(),
                import.name(),
                ty,
                SharedHostFn::new(Box::new(body)),
            )?;
        }
        Ok(())
    }

    fn lookup(&self, module: &str, name: &str) -> Option<&Definition<T>> {
        #[cfg(test)]
        LOOKUPS.with(|n| n.set(n.get() + 1));
        self.items.get(&(module.to_string(), name.to_string()))
    }

    /// The item defined as `module::name`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self.lookup(module, name)?;
        Some(def.to_extern(store.as_context_mut().0))
    }

    /// The definition of each import of `module`, in import order.
    fn resolve_imports(&self, module: &Module) -> Result<Vec<Definition<T>>> {
        if !Engine::same(&self.engine, module.engine()) {
            return Err(Error::msg("module and linker belong to different engines"));
        }
        module
            .imports()
            .map(|import| {
                self.lookup(import.module(), import.name())
                    .cloned()
                    .ok_or_else(|| Error::new(UnknownImportError::new(&import)))
            })
            .collect()
    }

    /// Instantiates `module`, resolving each import by name: the same as
    /// `self.instantiate_pre(module)?.instantiate(store)`.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        self.instantiate_pre(module)?.instantiate(&mut store)
    }

    /// Resolves and type-checks the imports of `module` once, for
    /// instantiating it many times with [`InstancePre::instantiate`]: the
    /// serverless path, where every request gets a fresh instance.
    ///
    /// No store is needed: host functions defined in this linker are
    /// engine-level, so the result instantiates into any store of the
    /// engine. If the linker defines an import with a store's item
    /// (`define`, `instance`, a reactor's exports), the result only
    /// instantiates into that store. Fails, like [`Linker::instantiate`],
    /// when an import is not defined or has the wrong type; later changes
    /// to the linker do not affect the result.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        let items = self.resolve_imports(module)?;
        InstancePre::new(module, items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    /// The work `InstancePre` saves, counted: `Linker::instantiate` looks
    /// every import up by name each time; `InstancePre::instantiate` never.
    #[test]
    fn instance_pre_looks_no_name_up() -> Result<()> {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module (import "a" "f" (func)) (import "a" "g" (func (param i32)))
                 (import "b" "h" (func (result i64))))"#,
        )?;
        let mut linker = Linker::new(&engine);
        linker.func_wrap("a", "f", || {})?;
        linker.func_wrap("a", "g", |_: i32| {})?;
        linker.func_wrap("b", "h", || 0i64)?;
        let mut store = Store::new(&engine, ());
        let count = || LOOKUPS.with(|n| n.get());

        let before = count();
        for _ in 0..10 {
            linker.instantiate(&mut store, &module)?;
        }
        assert_eq!(
            count() - before,
            30,
            "one lookup per import per instantiation"
        );

        let before = count();
        let pre = linker.instantiate_pre(&module)?;
        assert_eq!(count() - before, 3, "resolved once");
        let before = count();
        for _ in 0..10 {
            pre.instantiate(&mut store)?;
        }
        assert_eq!(count() - before, 0, "no lookups when instantiating");
        Ok(())
    }
}

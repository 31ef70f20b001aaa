//! `Linker<T>`: names for host functions and instances, used to resolve a
//! module's imports by name when instantiating it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::externals::Extern;
use crate::func::{Caller, Func, RawHostFn};
use crate::instance::Instance;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::typed::IntoFunc;
use crate::types::FuncType;
use crate::values::Val;

/// Resolves imports by module and field name.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

enum Definition<T> {
    Extern(Extern),
    HostFunc(FuncType, Arc<RawHostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc(ty, f) => Definition::HostFunc(ty.clone(), f.clone()),
        }
    }
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

    /// Defines `module::name` as `item`.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines `module::name` as a host function from a typed closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = f.into_func();
        self.insert(module, name, Definition::HostFunc(ty, Arc::from(body)))
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
        self.insert(module, name, Definition::HostFunc(ty, Arc::from(body)))
    }

    /// Defines every export of `instance` under `module_name`.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(&mut store) {
            self.insert(module_name, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    fn resolve(&self, store: &mut StoreInner<T>, module: &str, name: &str) -> Option<Extern> {
        match self
            .items
            .get(&(module.to_string(), name.to_string()))?
            .clone()
        {
            Definition::Extern(e) => Some(e),
            Definition::HostFunc(ty, body) => Some(Extern::Func(Func::new_raw(store, ty, body))),
        }
    }

    /// The item defined as `module::name`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        self.resolve(store.as_context_mut().0, module, name)
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        let mut imports = Vec::new();
        for import in module.imports() {
            let item = self
                .resolve(store, import.module(), import.name())
                .ok_or_else(|| {
                    Error::msg(format!(
                        "unknown import: `{}::{}` has not been defined",
                        import.module(),
                        import.name()
                    ))
                })?;
            imports.push(item);
        }
        Instance::new_in(store, module, &imports)
    }
}

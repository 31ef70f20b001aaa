//! [`Linker`]: host definitions by WIT name (functions at the root, and
//! instances such as `wasi:cli/stdout@0.2.0` holding functions), and
//! instantiation of components whose imports they satisfy.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use anyhow::{Result, bail};
use hayate::{AsContextMut, Engine, StoreContextMut};

use crate::component::{Component, Kind};
use crate::func::Func;
use crate::instance::{self, Export, Exports, Instance};
use crate::resources::{HostDtor, ResourceType, RuntimeResource};
use crate::typed::ComponentList;
use crate::values::Val;

/// Host definitions for instantiating components in stores of `T`.
pub struct Linker<T> {
    engine: Engine,
    root: Definitions,
    _store: PhantomData<fn() -> T>,
}

#[derive(Default, Clone)]
struct Definitions {
    items: BTreeMap<String, Definition>,
    /// The items as an instance's exports, made once when first needed
    /// (every instantiation importing the instance uses them) and
    /// dropped when the definitions change.
    exported: std::sync::OnceLock<Arc<Exports>>,
}

#[derive(Clone)]
enum Definition {
    Func(Func),
    Instance(Definitions),
    Resource(Arc<RuntimeResource>),
}

/// The definitions of one instance (or the root) of a [`Linker`].
pub struct LinkerInstance<'a, T> {
    defs: &'a mut Definitions,
    _store: PhantomData<fn() -> T>,
}

impl<T: 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            root: Definitions::default(),
            _store: PhantomData,
        }
    }

    /// The root: definitions imported by plain name.
    pub fn root(&mut self) -> LinkerInstance<'_, T> {
        LinkerInstance {
            defs: &mut self.root,
            _store: PhantomData,
        }
    }

    /// Instance `name` (an interface name such as
    /// `wasi:cli/stdout@0.2.0`), created empty if new.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        self.root().into_instance(name)
    }

    /// Instantiates `component` in `store` with this linker's definitions.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance> {
        self.check_engine(component)?;
        let mut store: StoreContextMut<'_, T> = store.as_context_mut();
        let mut lookup = |name: &str, kind: Kind| self.resolve(name, kind);
        let exports = instance::instantiate(&mut store, &component.def, &None, &mut lookup)?;
        Ok(Instance {
            exports: Arc::new(exports),
        })
    }

    /// Resolves `component`'s imports against this linker's definitions
    /// once, for instantiating it many times (a fresh instance per
    /// request): a missing or mismatched import is an error now.
    pub fn instantiate_pre(&self, component: &Component) -> Result<InstancePre<T>> {
        self.check_engine(component)?;
        let imports = component
            .def
            .imports()
            .map(|(name, kind)| Ok((name.to_string(), self.resolve(name, kind)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(InstancePre {
            component: component.clone(),
            imports: Arc::new(imports),
            _store: PhantomData,
        })
    }

    fn check_engine(&self, component: &Component) -> Result<()> {
        if !Engine::same(&self.engine, component.engine()) {
            bail!("the component and the linker belong to different engines");
        }
        Ok(())
    }

    /// The definition of import `name` of kind `kind`.
    fn resolve(&self, name: &str, kind: Kind) -> Result<Export> {
        match (self.root.get(name), kind) {
            (Some(Definition::Func(f)), Kind::Func) => Ok(Export::Func(f.clone())),
            (Some(Definition::Instance(d)), Kind::Instance) => Ok(Export::Instance(d.exports())),
            (Some(Definition::Resource(r)), Kind::Type) => Ok(Export::Type(Some(r.clone()))),
            (None, Kind::Type) => Ok(Export::Type(None)),
            (Some(_), kind) => bail!("import `{name}` is not defined as a {kind:?}"),
            (None, _) => bail!("component imports `{name}`, which the linker does not define"),
        }
    }
}

/// A component whose imports a [`Linker`] has resolved, instantiated
/// without looking them up again (`wasmtime::component::InstancePre`).
pub struct InstancePre<T> {
    component: Component,
    imports: Arc<BTreeMap<String, Export>>,
    _store: PhantomData<fn() -> T>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            component: self.component.clone(),
            imports: self.imports.clone(),
            _store: PhantomData,
        }
    }
}

impl<T: 'static> InstancePre<T> {
    /// A new instance of the component in `store`.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let mut store: StoreContextMut<'_, T> = store.as_context_mut();
        let mut lookup = |name: &str, _: Kind| -> Result<Export> {
            match self.imports.get(name) {
                Some(item) => Ok(item.clone()),
                None => bail!("import `{name}` was not resolved"),
            }
        };
        let exports = instance::instantiate(&mut store, &self.component.def, &None, &mut lookup)?;
        Ok(Instance {
            exports: Arc::new(exports),
        })
    }

    /// The component.
    pub fn component(&self) -> &Component {
        &self.component
    }
}

/// The part of version `v` that semver-compatible versions share: the
/// major version, or for `0.y.z` the major and minor (`0.2.3` and
/// `0.2.12` are compatible, `0.2` and `0.3` are not).
fn compatible_part(v: &str) -> Option<&str> {
    let mut dots = v.match_indices('.').map(|(i, _)| i);
    let first = dots.next()?;
    if &v[..first] != "0" {
        return Some(&v[..first]);
    }
    let second = dots.next()?;
    Some(&v[..second])
}

impl Definitions {
    /// Definition `name`: exactly, or for a versioned interface name
    /// (`wasi:io/streams@0.2.3`) the newest semver-compatible version
    /// defined, as Wasmtime's linker resolves them.
    fn get(&self, name: &str) -> Option<&Definition> {
        if let Some(d) = self.items.get(name) {
            return Some(d);
        }
        let (base, version) = name.rsplit_once('@')?;
        let want = compatible_part(version)?;
        self.items
            .iter()
            .filter_map(|(key, d)| {
                let (b, v) = key.rsplit_once('@')?;
                (b == base && compatible_part(v) == Some(want)).then_some((v, d))
            })
            .max_by(|(a, _), (b, _)| compare_versions(a, b))
            .map(|(_, d)| d)
    }

    /// The definitions of nested instance `name`, created empty if new.
    fn instance(&mut self, name: &str) -> Result<&mut Definitions> {
        self.exported = std::sync::OnceLock::new();
        let entry = self
            .items
            .entry(name.to_string())
            .or_insert_with(|| Definition::Instance(Definitions::default()));
        match entry {
            Definition::Instance(defs) => Ok(defs),
            _ => bail!("`{name}` is already defined, and not as an instance"),
        }
    }

    fn exports(&self) -> Arc<Exports> {
        self.exported.get_or_init(|| self.make_exports()).clone()
    }

    /// Adds or replaces item `name`.
    fn insert(&mut self, name: &str, item: Definition) {
        self.exported = std::sync::OnceLock::new();
        self.items.insert(name.to_string(), item);
    }

    fn make_exports(&self) -> Arc<Exports> {
        let items = self
            .items
            .iter()
            .map(|(name, d)| {
                let e = match d {
                    Definition::Func(f) => Export::Func(f.clone()),
                    Definition::Instance(i) => Export::Instance(i.exports()),
                    Definition::Resource(r) => Export::Type(Some(r.clone())),
                };
                (name.clone(), e)
            })
            .collect();
        Arc::new(Exports { items })
    }
}

impl<'a, T: 'static> LinkerInstance<'a, T> {
    /// Defines function `name`, called with dynamic values: it gets the
    /// arguments, checked against the import's type, and writes its
    /// result (if the type has one) to the first result slot.
    pub fn func_new(
        &mut self,
        name: &str,
        f: impl Fn(StoreContextMut<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        if self.defs.items.contains_key(name) {
            bail!("`{name}` is already defined");
        }
        let f: Arc<crate::func::HostFn<T>> = Arc::new(f);
        self.defs.insert(name, Definition::Func(Func::host(f)));
        Ok(())
    }

    /// Defines function `name` with Rust parameter and result types (tuples
    /// of [`ComponentType`](crate::ComponentType)s), checked against the import's type when a
    /// component that imports it is instantiated.
    pub fn func_wrap<P, R, F>(&mut self, name: &str, f: F) -> Result<()>
    where
        P: ComponentList,
        R: ComponentList,
        F: Fn(StoreContextMut<'_, T>, P) -> Result<R> + Send + Sync + 'static,
    {
        if self.defs.items.contains_key(name) {
            bail!("`{name}` is already defined");
        }
        self.defs
            .insert(name, Definition::Func(Func::host_typed(f)));
        Ok(())
    }

    /// Defines resource type `name` as host type `ty` (usually
    /// [`ResourceType::host`]); `dtor` runs with the representation of
    /// each owned handle a guest drops.
    pub fn resource(
        &mut self,
        name: &str,
        ty: ResourceType,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        if self.defs.items.contains_key(name) {
            bail!("`{name}` is already defined");
        }
        let dtor: Arc<HostDtor<T>> = Arc::new(dtor);
        let resource = RuntimeResource::host(ty, dtor);
        self.defs
            .insert(name, Definition::Resource(Arc::new(resource)));
        Ok(())
    }

    /// Nested instance `name`, created empty if new.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        Ok(LinkerInstance {
            defs: self.defs.instance(name)?,
            _store: PhantomData,
        })
    }

    fn into_instance(self, name: &str) -> Result<LinkerInstance<'a, T>> {
        Ok(LinkerInstance {
            defs: self.defs.instance(name)?,
            _store: PhantomData,
        })
    }
}

/// Orders dotted versions numerically (`0.2.12` after `0.2.9`).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_names_match_semver_compatible_definitions() {
        assert_eq!(compatible_part("0.2.3"), Some("0.2"));
        assert_eq!(compatible_part("1.2.3"), Some("1"));
        assert_eq!(compatible_part("0"), None);
        let mut defs = Definitions::default();
        for name in ["wasi:io/streams@0.2.9", "wasi:io/streams@0.2.12", "x@0.3.0"] {
            defs.items
                .insert(name.into(), Definition::Instance(Definitions::default()));
        }
        let found = |name: &str| {
            defs.get(name).map(|d| {
                let ptr = d as *const Definition;
                defs.items
                    .iter()
                    .find(|(_, v)| std::ptr::eq(*v, ptr))
                    .unwrap()
                    .0
                    .clone()
            })
        };
        assert_eq!(
            found("wasi:io/streams@0.2.0").as_deref(),
            Some("wasi:io/streams@0.2.12")
        );
        assert_eq!(
            found("wasi:io/streams@0.2.9").as_deref(),
            Some("wasi:io/streams@0.2.9")
        );
        assert_eq!(found("wasi:io/streams@0.3.0"), None);
        assert_eq!(found("x@0.2.0"), None);
        assert_eq!(found("wasi:io/streams"), None);
    }
}

//! Instantiation: running a component's definitions in order over index
//! spaces of run-time items (core instances, functions, memories, ...;
//! component functions and instances), and [`Instance`], what a
//! component exports.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use hayate::{AsContextMut, Extern, StoreContextMut, ValType};

use crate::component::{
    Bind, ComponentDef, CoreItem, CoreKind, Def, Item, Kind, NOT_A_RESOURCE, Options,
};
use crate::func::{self, Abi, Func, Lifted};
use crate::handles::{self, InstanceState};
use crate::resources::{ResourceType, RuntimeResource};

/// An instantiated component.
#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) exports: Arc<Exports>,
}

/// Items by name: a component instance's exports.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    pub items: BTreeMap<String, Export>,
}

/// A run-time component item.
#[derive(Debug, Clone)]
pub(crate) enum Export {
    Func(Func),
    Instance(Arc<Exports>),
    Module(hayate::Module),
    Component(RtComponent),
    /// A type: types have no run-time index space, but a resource type
    /// is a run-time identity (with its destructor) instances bind.
    Type(Option<Arc<RuntimeResource>>),
}

/// A component as a run-time value: its definitions, and the
/// environment it was defined in (the enclosing instances' modules and
/// components at that point), which its outer aliases read.
#[derive(Debug, Clone)]
pub(crate) struct RtComponent {
    pub def: Arc<ComponentDef>,
    pub env: Option<Arc<Env>>,
}

/// The module and component spaces of an enclosing instance, as a nested
/// component defined there sees them, and that instance's own
/// environment.
#[derive(Debug)]
pub(crate) struct Env {
    modules: Vec<hayate::Module>,
    components: Vec<RtComponent>,
    parent: Option<Arc<Env>>,
}

/// The environment `count` levels out (`count` ≥ 1) from one whose
/// nearest enclosing environment is `env`.
fn outer(env: &Option<Arc<Env>>, count: u32) -> Result<&Env> {
    let mut at = env.as_deref().context("an outer alias beyond the root")?;
    for _ in 1..count {
        at = at
            .parent
            .as_deref()
            .context("an outer alias beyond the root")?;
    }
    Ok(at)
}

impl std::fmt::Debug for ComponentDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentDef")
            .field("definitions", &self.defs.len())
            .finish()
    }
}

impl Instance {
    /// The function the component exports as `name`.
    pub fn get_func(&self, _store: impl AsContextMut, name: &str) -> Option<Func> {
        match self.exports.items.get(name)? {
            Export::Func(f) => Some(f.clone()),
            _ => None,
        }
    }

    /// Function `name` of the instance the component exports as
    /// `instance` (an interface such as `wasi:cli/run@0.2.0`).
    pub fn get_instance_func(
        &self,
        _store: impl AsContextMut,
        instance: &str,
        name: &str,
    ) -> Option<Func> {
        match self.exports.items.get(instance)? {
            Export::Instance(i) => match i.items.get(name)? {
                Export::Func(f) => Some(f.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The names of the component's exports.
    pub fn export_names(&self) -> impl Iterator<Item = &str> {
        self.exports.items.keys().map(String::as_str)
    }
}

/// A core instance: instantiated, or made of other core items.
enum CoreInstance {
    Instance(hayate::Instance),
    /// Exports made of other items: their sorted names (shared with the
    /// definition) and values in the same order.
    Exports(Arc<[String]>, Vec<Extern>),
}

/// The index spaces of one component being instantiated.
struct Spaces {
    core_instances: Vec<CoreInstance>,
    core_funcs: Vec<hayate::Func>,
    core_memories: Vec<hayate::Memory>,
    core_tables: Vec<hayate::Table>,
    core_globals: Vec<hayate::Global>,
    core_tags: Vec<hayate::Tag>,
    modules: Vec<hayate::Module>,
    components: Vec<RtComponent>,
    funcs: Vec<Func>,
    instances: Vec<Arc<Exports>>,
    /// The instance's run-time state (handles, bound resource types).
    state: Arc<InstanceState>,
    /// The last `realloc` typed for canonical options, by core index.
    last_realloc: Option<(u32, func::Realloc)>,
}

fn get<X: Clone>(space: &[X], index: u32, what: &str) -> Result<X> {
    space
        .get(index as usize)
        .cloned()
        .with_context(|| format!("{what} {index} out of range"))
}

impl Spaces {
    fn push_core(&mut self, ext: Extern) -> Result<()> {
        match ext {
            Extern::Func(f) => self.core_funcs.push(f),
            Extern::Memory(m) => self.core_memories.push(m),
            Extern::Table(t) => self.core_tables.push(t),
            Extern::Global(g) => self.core_globals.push(g),
            Extern::Tag(t) => self.core_tags.push(t),
        }
        Ok(())
    }

    fn core(&self, item: CoreItem) -> Result<Extern> {
        Ok(match item.kind {
            CoreKind::Func => Extern::Func(get(&self.core_funcs, item.index, "core function")?),
            CoreKind::Memory => Extern::Memory(get(&self.core_memories, item.index, "memory")?),
            CoreKind::Table => Extern::Table(get(&self.core_tables, item.index, "table")?),
            CoreKind::Global => Extern::Global(get(&self.core_globals, item.index, "global")?),
            CoreKind::Tag => Extern::Tag(get(&self.core_tags, item.index, "tag")?),
        })
    }

    fn core_export<T: 'static>(
        &self,
        store: &mut StoreContextMut<'_, T>,
        instance: u32,
        name: &str,
    ) -> Result<Extern> {
        let found = match self.core_instances.get(instance as usize) {
            Some(CoreInstance::Instance(i)) => i.get_export(&mut *store, name),
            Some(CoreInstance::Exports(names, values)) => names
                .binary_search_by(|n| n.as_str().cmp(name))
                .ok()
                .and_then(|i| values.get(i).cloned()),
            None => bail!("core instance {instance} out of range"),
        };
        found.with_context(|| format!("core instance {instance} has no export `{name}`"))
    }

    fn item(&self, item: Item) -> Result<Export> {
        Ok(match item.kind {
            Kind::Func => Export::Func(get(&self.funcs, item.index, "function")?),
            Kind::Instance => Export::Instance(get(&self.instances, item.index, "instance")?),
            Kind::Module => Export::Module(get(&self.modules, item.index, "module")?),
            Kind::Component => Export::Component(get(&self.components, item.index, "component")?),
            Kind::Type if item.index == NOT_A_RESOURCE => Export::Type(None),
            Kind::Type => Export::Type(Some(self.state.resource(item.index)?.clone())),
        })
    }

    fn push(&mut self, item: Export) {
        match item {
            Export::Func(f) => self.funcs.push(f),
            Export::Instance(i) => self.instances.push(i),
            Export::Module(m) => self.modules.push(m),
            Export::Component(c) => self.components.push(c),
            Export::Type(_) => {}
        }
    }

    fn abi(&mut self, store: impl hayate::AsContext, options: &Options) -> Result<Abi> {
        let realloc = match options.realloc {
            None => None,
            // The functions of an instance all name the same `realloc`:
            // its type is checked once.
            Some(f) => match self.last_realloc {
                Some((index, typed)) if index == f => Some(typed),
                _ => {
                    let typed = get(&self.core_funcs, f, "core function")?.typed(&store)?;
                    self.last_realloc = Some((f, typed));
                    Some(typed)
                }
            },
        };
        Ok(Abi {
            memory: options
                .memory
                .map(|m| get(&self.core_memories, m, "memory"))
                .transpose()?,
            realloc,
            post_return: options
                .post_return
                .map(|f| get(&self.core_funcs, f, "core function"))
                .transpose()?,
            encoding: options.encoding,
        })
    }
}

/// A resource built-in with core signature `(i32) -> results`, made by
/// `make` with the signature the engine registered for `cache`'s component.
fn builtin<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    cache: &std::sync::OnceLock<hayate::FuncType>,
    results: &[ValType],
    make: impl FnOnce(StoreContextMut<'_, T>, hayate::FuncType) -> hayate::Func,
) -> hayate::Func {
    let unregistered = || hayate::FuncType::new([ValType::I32], results.iter().cloned());
    func::with_registered_type(store.as_context_mut(), cache, unregistered, make)
}

fn kind_of(e: &Export) -> Kind {
    match e {
        Export::Func(_) => Kind::Func,
        Export::Instance(_) => Kind::Instance,
        Export::Module(_) => Kind::Module,
        Export::Component(_) => Kind::Component,
        Export::Type(_) => Kind::Type,
    }
}

/// Binds the resource types `binds` name, reached from `item`.
fn bind(state: &InstanceState, item: Option<&Export>, binds: &[Bind]) -> Result<()> {
    for b in binds {
        let mut at = item.context("resource bindings without an item")?;
        for name in &b.path {
            at = match at {
                Export::Instance(i) => i
                    .items
                    .get(name)
                    .with_context(|| format!("instance has no export `{name}`"))?,
                _ => bail!("`{name}` is looked up in something that is not an instance"),
            };
        }
        let Export::Type(Some(resource)) = at else {
            bail!(
                "`{}` must be a resource type, and none is defined by that name",
                b.path.join("/")
            );
        };
        let slot = &state.resources[b.resource as usize];
        if slot.set(resource.clone()).is_err() {
            bail!("resource type {} bound twice", b.resource);
        }
    }
    Ok(())
}

/// Instantiates `def`, defined in environment `env` (`None` at the root),
/// whose imports `import` supplies by name, and returns its exports.
pub(crate) fn instantiate<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    def: &ComponentDef,
    env: &Option<Arc<Env>>,
    import: &mut dyn FnMut(&str, Kind) -> Result<Export>,
) -> Result<Exports> {
    let mut s = Spaces {
        core_instances: Vec::new(),
        core_funcs: Vec::new(),
        core_memories: Vec::new(),
        core_tables: Vec::new(),
        core_globals: Vec::new(),
        core_tags: Vec::new(),
        modules: Vec::new(),
        components: Vec::new(),
        funcs: Vec::new(),
        instances: Vec::new(),
        state: InstanceState::new(def.resources),
        last_realloc: None,
    };
    let mut exports = Exports::default();
    // The component item the last definition added, for `Def::Bind`.
    let mut last: Option<Export> = None;
    for d in &def.defs {
        match d {
            Def::Module(m) => s.modules.push(m.clone()),
            Def::Component(c) => {
                // The nested component sees this instance's modules and
                // components so far, for its outer aliases.
                let here = Env {
                    modules: s.modules.clone(),
                    components: s.components.clone(),
                    parent: env.clone(),
                };
                s.components.push(RtComponent {
                    def: c.clone(),
                    env: Some(Arc::new(here)),
                });
            }
            Def::OuterModule { count, index } => {
                let m = match count {
                    0 => get(&s.modules, *index, "module")?,
                    n => get(&outer(env, *n)?.modules, *index, "outer module")?,
                };
                s.modules.push(m);
            }
            Def::OuterComponent { count, index } => {
                let c = match count {
                    0 => get(&s.components, *index, "component")?,
                    n => get(&outer(env, *n)?.components, *index, "outer component")?,
                };
                s.components.push(c);
            }
            Def::CoreInstantiate { module, args } => {
                let module = get(&s.modules, *module, "module")?;
                let mut externs = Vec::new();
                for imp in module.imports() {
                    let (_, instance) = args
                        .iter()
                        .find(|(name, _)| name == imp.module())
                        .with_context(|| {
                            format!("no instance for import module `{}`", imp.module())
                        })?;
                    externs.push(s.core_export(store, *instance, imp.name())?);
                }
                let instance = hayate::Instance::new(&mut *store, &module, &externs)
                    .context("instantiating a core module of the component")?;
                s.core_instances.push(CoreInstance::Instance(instance));
            }
            Def::CoreFromExports { names, items } => {
                let values = items
                    .iter()
                    .map(|item| s.core(*item))
                    .collect::<Result<_>>()?;
                s.core_instances
                    .push(CoreInstance::Exports(names.clone(), values));
            }
            Def::CoreAlias {
                kind,
                instance,
                name,
            } => {
                let ext = s.core_export(store, *instance, name)?;
                let matches = matches!(
                    (kind, &ext),
                    (CoreKind::Func, Extern::Func(_))
                        | (CoreKind::Memory, Extern::Memory(_))
                        | (CoreKind::Table, Extern::Table(_))
                        | (CoreKind::Global, Extern::Global(_))
                        | (CoreKind::Tag, Extern::Tag(_))
                );
                if !matches {
                    bail!("core export `{name}` is not a {kind:?}");
                }
                s.push_core(ext)?;
            }
            Def::Instantiate { component, args } => {
                let component = get(&s.components, *component, "component")?;
                let args: BTreeMap<&str, Export> = args
                    .iter()
                    .map(|(name, item)| Ok((name.as_str(), s.item(*item)?)))
                    .collect::<Result<_>>()?;
                let mut lookup = |name: &str, kind: Kind| -> Result<Export> {
                    let arg = args
                        .get(name)
                        .with_context(|| format!("no argument `{name}`"))?;
                    if kind_of(arg) != kind {
                        bail!("argument `{name}` is not a {kind:?}");
                    }
                    Ok(arg.clone())
                };
                let inner = Arc::new(instantiate(
                    store,
                    &component.def,
                    &component.env,
                    &mut lookup,
                )?);
                last = Some(Export::Instance(inner.clone()));
                s.instances.push(inner);
            }
            Def::FromExports(items) => {
                let items = items
                    .iter()
                    .map(|(name, item)| Ok((name.clone(), s.item(*item)?)))
                    .collect::<Result<_>>()?;
                let inner = Arc::new(Exports { items });
                last = Some(Export::Instance(inner.clone()));
                s.instances.push(inner);
            }
            Def::Alias {
                kind,
                instance,
                name,
            } => {
                let instance = get(&s.instances, *instance, "instance")?;
                let item = match instance.items.get(name) {
                    Some(item) => item.clone(),
                    // A type an instance's type names (`(eq ...)` of a
                    // type defined elsewhere) need not exist at run time;
                    // a resource bound from it is checked by `Def::Bind`.
                    None if *kind == Kind::Type => Export::Type(None),
                    None => bail!("instance has no export `{name}`"),
                };
                if kind_of(&item) != *kind {
                    bail!("export `{name}` is not a {kind:?}");
                }
                last = Some(item.clone());
                s.push(item);
            }
            Def::Import { name, kind } => {
                let item = import(name, *kind)?;
                if kind_of(&item) != *kind {
                    bail!(
                        "import `{name}` is defined as a {:?}, not a {kind:?}",
                        kind_of(&item)
                    );
                }
                last = Some(item.clone());
                s.push(item);
            }
            Def::Export { name, item } => {
                let item = s.item(*item)?;
                exports.items.insert(name.clone(), item.clone());
                last = Some(item.clone());
                s.push(item);
            }
            Def::Lift {
                core_func,
                sig,
                options,
            } => {
                let lifted = Lifted {
                    core: get(&s.core_funcs, *core_func, "core function")?,
                    sig: sig.clone(),
                    abi: s.abi(&*store, options)?,
                    instance: s.state.clone(),
                };
                s.funcs.push(Func::lifted(lifted));
            }
            Def::Lower { func, sig, options } => {
                let callee = get(&s.funcs, *func, "function")?;
                callee
                    .check_type(&sig.ty)
                    .context("a host function's types do not match the import")?;
                let abi = s.abi(&*store, options)?;
                let core = func::lower(store.as_context_mut(), callee, sig.clone(), abi, &s.state);
                s.core_funcs.push(core);
            }
            Def::Resource { index, dtor } => {
                let resource = RuntimeResource {
                    ty: ResourceType::fresh_guest(),
                    implementer: Some(Arc::downgrade(&s.state)),
                    guest_dtor: dtor
                        .map(|f| get(&s.core_funcs, f, "core function"))
                        .transpose()?,
                    host_dtor: None,
                };
                if s.state.resources[*index as usize]
                    .set(Arc::new(resource))
                    .is_err()
                {
                    bail!("resource type {index} defined twice");
                }
            }
            Def::Bind(binds) => bind(&s.state, last.as_ref(), binds)?,
            Def::ResourceNew(r) => {
                let state = s.state.clone();
                let f = builtin(
                    store,
                    &def.builtin_types[0],
                    &[ValType::I32],
                    |store, ty| handles::resource_new(store, ty, state, *r),
                );
                s.core_funcs.push(f);
            }
            Def::ResourceDrop(r) => {
                let state = s.state.clone();
                let f = builtin(store, &def.builtin_types[1], &[], |store, ty| {
                    handles::resource_drop(store, ty, state, *r)
                });
                s.core_funcs.push(f);
            }
            Def::ResourceRep(r) => {
                let state = s.state.clone();
                let f = builtin(
                    store,
                    &def.builtin_types[0],
                    &[ValType::I32],
                    |store, ty| handles::resource_rep(store, ty, state, *r),
                );
                s.core_funcs.push(f);
            }
        }
    }
    Ok(exports)
}

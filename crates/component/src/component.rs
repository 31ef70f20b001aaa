//! [`Component`]: a component binary validated with `wasmparser` and
//! turned into a list of definitions, in binary order, for instantiation
//! to run (`instance.rs`). Core modules inside compile with the engine
//! like any module (cached, lazily compiled, precompilable the same way);
//! nested components become definitions of their own; the types of
//! lifted and lowered functions are resolved here into [`FuncType`]s, so
//! instantiation never looks at the validator's type tables.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use hayate::{Engine, Module};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentEntityType, ComponentInstanceTypeId, ResourceId,
};
use wasmparser::types::TypesRef;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Parser, Payload, Validator,
    WasmFeatures,
};

use crate::abi::StringEncoding;
use crate::func::Signature;
use crate::types::{FuncType, ResourceIndex, ResourceResolver, Type};

/// A compiled component.
#[derive(Clone)]
pub struct Component {
    pub(crate) engine: Engine,
    pub(crate) def: Arc<ComponentDef>,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component").finish_non_exhaustive()
    }
}

/// The definitions of one component (the root or a nested one).
#[derive(Default)]
pub(crate) struct ComponentDef {
    pub defs: Vec<Def>,
    /// How many resource types its instances bind (see [`Def::Bind`]).
    pub resources: u32,
    /// The core signatures of the resource built-ins, `(i32) -> i32` and
    /// `(i32) -> ()`, as the engine registered them at the first
    /// instantiation.
    pub builtin_types: Box<[std::sync::OnceLock<hayate::FuncType>; 2]>,
}

impl ComponentDef {
    /// The names and kinds of the component's imports.
    pub fn imports(&self) -> impl Iterator<Item = (&str, Kind)> {
        self.defs.iter().filter_map(|d| match d {
            Def::Import { name, kind } => Some((name.as_str(), *kind)),
            _ => None,
        })
    }
}

/// A resource type reached from a component item: `path` names exports
/// of nested instances (empty for the item itself).
#[derive(Debug, Clone)]
pub(crate) struct Bind {
    pub path: Vec<String>,
    pub resource: u32,
}

/// The resource index of type items that are not resources.
pub(crate) const NOT_A_RESOURCE: u32 = u32::MAX;

/// One definition; each adds an item to one index space.
pub(crate) enum Def {
    /// A core module (core module space).
    Module(Module),
    /// A nested component (component space).
    Component(Arc<ComponentDef>),
    /// A core instance: a module instantiated with named core instances
    /// as its import modules (core instance space).
    CoreInstantiate {
        module: u32,
        args: Vec<(String, u32)>,
    },
    /// A core instance made of other core items (core instance space).
    /// (The names sorted, for lookups by binary search; `items` in their
    /// order. Each instantiation only fills in the values.)
    CoreFromExports {
        names: Arc<[String]>,
        items: Vec<CoreItem>,
    },
    /// An export of a core instance (the space of its kind).
    CoreAlias {
        kind: CoreKind,
        instance: u32,
        name: String,
    },
    /// A component instance: a component instantiated with named items
    /// (component instance space).
    Instantiate {
        component: u32,
        args: Vec<(String, Item)>,
    },
    /// A component instance made of other items (component instance space).
    FromExports(Vec<(String, Item)>),
    /// An export of a component instance (the space of its kind).
    Alias {
        kind: Kind,
        instance: u32,
        name: String,
    },
    /// An import (the space of its kind).
    Import { name: String, kind: Kind },
    /// An export: the item, again, under a new index of its kind.
    Export { name: String, item: Item },
    /// `canon lift` (component function space).
    Lift {
        core_func: u32,
        sig: Arc<Signature>,
        options: Options,
    },
    /// `canon lower` (core function space).
    Lower {
        func: u32,
        sig: Arc<Signature>,
        options: Options,
    },
    /// `(type (resource (rep i32) (dtor ...)?))`: a fresh resource type
    /// for each instance (type space; binds resource `index`).
    Resource { index: u32, dtor: Option<u32> },
    /// Binds resource types to those the item defined just before names
    /// (an imported type, or the types an instance exports).
    Bind(Vec<Bind>),
    /// `canon resource.new` (core function space).
    ResourceNew(u32),
    /// `canon resource.drop` (core function space).
    ResourceDrop(u32),
    /// `canon resource.rep` (core function space).
    ResourceRep(u32),
    /// An outer alias of a core module known only at run time (an
    /// enclosing component's import or alias), `count` levels out (core
    /// module space).
    OuterModule { count: u32, index: u32 },
    /// An outer alias of an enclosing component's component, `count`
    /// levels out, taken with the environment it was defined in
    /// (component space).
    OuterComponent { count: u32, index: u32 },
}

/// Kinds of core items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreKind {
    Func,
    Memory,
    Table,
    Global,
    Tag,
}

/// A core item by kind and index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoreItem {
    pub kind: CoreKind,
    pub index: u32,
}

/// Kinds of component items that exist at run time (types are resolved
/// statically and have no run-time index space here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Func,
    Instance,
    Module,
    Component,
    Type,
}

/// A component item by kind and index (for a type, its resource index or
/// [`NOT_A_RESOURCE`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub kind: Kind,
    pub index: u32,
}

/// The canonical options of a `lift` or `lower`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub encoding: StringEncoding,
    pub memory: Option<u32>,
    pub realloc: Option<u32>,
    pub post_return: Option<u32>,
}

impl Component {
    /// Compiles a component from its binary or text (`.wat`) form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component> {
        let bytes = bytes.as_ref();
        if Component::is_precompiled(bytes) {
            return Component::from_binary(engine, bytes);
        }
        let bytes = wat::parse_bytes(bytes).context("parsing the component's text")?;
        Component::from_binary(engine, &bytes)
    }

    /// Compiles the component in file `path` (binary or text).
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
        Component::new(engine, bytes)
    }

    /// Compiles a component from its binary form, or loads it from a
    /// precompiled artifact ([`Component::precompile`]) if the engine
    /// allows precompiled code (`Config::allow_precompiled`).
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Component> {
        let (bytes, artifacts) = match crate::precompiled::split(bytes)? {
            Some((component, modules)) => (component, Some(modules)),
            None => (bytes, None),
        };
        if !wasmparser::Parser::is_component(bytes) {
            bail!("not a WebAssembly component (a core module? run it as a module)");
        }
        let mut modules = Vec::new();
        let def = parse(engine, bytes, artifacts.as_deref(), &mut modules)?;
        if let Some(artifacts) = &artifacts
            && artifacts.len() != modules.len()
        {
            bail!("the precompiled component has artifacts for more core modules than it has");
        }
        Ok(Component {
            engine: engine.clone(),
            def: Arc::new(def),
        })
    }

    /// Compiles `bytes` (a component's binary or text) and returns a
    /// precompiled artifact: the component with each core module's
    /// precompiled artifact (`Module::serialize`), which
    /// [`Component::from_binary`] loads without compiling into an engine
    /// with the same settings that allows precompiled code.
    pub fn precompile(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>> {
        let bytes = wat::parse_bytes(bytes).context("parsing the component's text")?;
        if !wasmparser::Parser::is_component(&bytes) {
            bail!("not a WebAssembly component");
        }
        let mut modules = Vec::new();
        parse(engine, &bytes, None, &mut modules)?;
        let artifacts = modules
            .iter()
            .map(Module::serialize)
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::precompiled::join(&bytes, &artifacts))
    }

    /// Whether `bytes` start like a precompiled component.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        bytes.starts_with(crate::precompiled::MAGIC)
    }

    /// Whether `bytes` is a component's binary (not a core module's).
    pub fn is_component(bytes: &[u8]) -> bool {
        wasmparser::Parser::is_component(bytes)
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The names of the component's imports (`wasi:cli/stdout@0.2.0`,
    /// `greet`, ...), in order.
    pub fn import_names(&self) -> impl Iterator<Item = &str> {
        self.def.imports().map(|(name, _)| name)
    }
}

/// What is being parsed at one level of nesting.
enum Level {
    /// A component's definitions.
    Component(Builder),
    /// A core module: its payloads are the module's (already compiled).
    Module,
}

#[derive(Default)]
struct Builder {
    def: ComponentDef,
    /// Core modules and components of this level, for outer aliases.
    /// The core module and component index spaces of this level, for
    /// outer aliases: `None` for what is only known at run time
    /// (imports, aliases of instance exports).
    modules: Vec<Option<Module>>,
    components: Vec<Option<Arc<ComponentDef>>>,
    /// The resource index of each resource identity the validator gave.
    resource_ids: HashMap<ResourceId, u32>,
    /// The sizes of the type and instance spaces so far.
    types: u32,
    instances: u32,
}

impl Builder {
    /// Adds `def`, keeping the module and component spaces in step.
    fn push(&mut self, def: Def) {
        let added = match &def {
            Def::Import { kind, .. } | Def::Alias { kind, .. } => Some(*kind),
            Def::Export { item, .. } => Some(item.kind),
            Def::Instantiate { .. } | Def::FromExports(_) => Some(Kind::Instance),
            Def::Resource { .. } => Some(Kind::Type),
            _ => None,
        };
        match added {
            Some(Kind::Type) => self.types += 1,
            Some(Kind::Instance) => self.instances += 1,
            _ => {}
        }
        match &def {
            Def::Module(m) => self.modules.push(Some(m.clone())),
            Def::Component(c) => self.components.push(Some(c.clone())),
            Def::OuterModule { .. } => self.modules.push(None),
            Def::OuterComponent { .. } => self.components.push(None),
            Def::Import { kind, .. } | Def::Alias { kind, .. } => match kind {
                Kind::Module => self.modules.push(None),
                Kind::Component => self.components.push(None),
                _ => {}
            },
            Def::Export { item, .. } => match item.kind {
                Kind::Module => {
                    let m = self.modules.get(item.index as usize).cloned().flatten();
                    self.modules.push(m);
                }
                Kind::Component => {
                    let c = self.components.get(item.index as usize).cloned().flatten();
                    self.components.push(c);
                }
                _ => {}
            },
            _ => {}
        }
        self.def.defs.push(def);
    }

    /// A new resource index for the validator's `ids` (one type).
    fn new_resource(&mut self, ids: &[ResourceId]) -> u32 {
        let index = self.def.resources;
        self.def.resources += 1;
        for id in ids {
            self.resource_ids.insert(*id, index);
        }
        index
    }

    /// The resource index of validator identity `id`.
    fn resource(&self, id: ResourceId) -> Result<u32> {
        self.resource_ids
            .get(&id)
            .copied()
            .context("a resource type of unknown origin")
    }

    /// The resource index of type `index`, or [`NOT_A_RESOURCE`].
    fn type_item(&self, types: TypesRef<'_>, index: u32) -> Result<u32> {
        match resource_at(types, index) {
            Some(id) => self.resource(id),
            None => Ok(NOT_A_RESOURCE),
        }
    }

    /// After an item of kind `kind` was added: binds the resource types
    /// it brings that this component has not seen (an imported or
    /// aliased resource type, the types an instance exports).
    fn bind_new(&mut self, types: TypesRef<'_>, kind: Kind) {
        let mut found = Vec::new();
        match kind {
            Kind::Type => {
                if let Some(id) = resource_at(types, self.types - 1) {
                    found.push((Vec::new(), vec![id]));
                }
            }
            Kind::Instance => {
                let id = types.component_instance_at(self.instances - 1);
                exported_resources(types, id, &mut Vec::new(), &mut found);
            }
            _ => return,
        }
        let mut binds = Vec::new();
        for (path, ids) in found {
            let known = ids.iter().find_map(|id| self.resource_ids.get(id).copied());
            match known {
                Some(index) => ids.iter().for_each(|id| {
                    self.resource_ids.insert(*id, index);
                }),
                None => binds.push(Bind {
                    path,
                    resource: self.new_resource(&ids),
                }),
            }
        }
        if !binds.is_empty() {
            self.def.defs.push(Def::Bind(binds));
        }
    }
}

/// The resource identity of type `index`, if it is a resource type.
fn resource_at(types: TypesRef<'_>, index: u32) -> Option<ResourceId> {
    match types.component_any_type_at(index) {
        ComponentAnyTypeId::Resource(r) => Some(r.resource()),
        _ => None,
    }
}

/// The resource types instance type `id` exports, with their paths.
fn exported_resources(
    types: TypesRef<'_>,
    id: ComponentInstanceTypeId,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Vec<ResourceId>)>,
) {
    for (name, item) in &types[id].exports {
        path.push(name.clone());
        match item.ty {
            ComponentEntityType::Type {
                referenced,
                created,
            } => {
                let ids: Vec<ResourceId> = [created, referenced]
                    .into_iter()
                    .filter_map(|t| match t {
                        ComponentAnyTypeId::Resource(r) => Some(r.resource()),
                        _ => None,
                    })
                    .collect();
                if !ids.is_empty() {
                    out.push((path.clone(), ids));
                }
            }
            ComponentEntityType::Instance(inner) => exported_resources(types, inner, path, out),
            _ => {}
        }
        path.pop();
    }
}

fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::COMPONENT_MODEL
}

/// Parses the component `bytes` into its definitions. Its core modules
/// are compiled, or with `artifacts` loaded from the precompiled artifact
/// of the same position; each is appended to `modules`.
fn parse(
    engine: &Engine,
    bytes: &[u8],
    artifacts: Option<&[&[u8]]>,
    modules: &mut Vec<Module>,
) -> Result<ComponentDef> {
    let mut validator = Validator::new_with_features(features());
    let mut levels: Vec<Level> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        validator.payload(&payload)?;
        if let Payload::End(_) = payload {
            match levels.pop() {
                Some(Level::Component(done)) => match levels.last_mut() {
                    Some(Level::Component(parent)) => {
                        parent.push(Def::Component(Arc::new(done.def)));
                    }
                    Some(Level::Module) => bail!("a component inside a core module"),
                    None => return Ok(done.def),
                },
                Some(Level::Module) => {}
                None => bail!("unbalanced component sections"),
            }
            continue;
        }
        if let Payload::Version { .. } = payload {
            // Nested headers follow their sections, which pushed a level.
            if levels.is_empty() {
                levels.push(Level::Component(Builder::default()));
            }
            continue;
        }
        if let Payload::ComponentAliasSection(reader) = &payload {
            if matches!(levels.last(), Some(Level::Component(_))) {
                let types = validator.types(0).context("component types")?;
                for alias in reader.clone() {
                    add_alias(&mut levels, alias?, types)?;
                }
            }
            continue;
        }
        let Some(Level::Component(b)) = levels.last_mut() else {
            continue;
        };
        let types = validator.types(0).context("component types")?;
        match payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let range =
                    usize::try_from(unchecked_range.start)?..usize::try_from(unchecked_range.end)?;
                let module_bytes = bytes.get(range).context("a module outside the component")?;
                let module = match artifacts {
                    Some(list) => {
                        let artifact = list
                            .get(modules.len())
                            .context("the precompiled component lacks a core module")?;
                        Module::new(engine, artifact)
                            .context("loading a precompiled core module of the component")?
                    }
                    None => Module::from_binary(engine, module_bytes)
                        .context("compiling a core module of the component")?,
                };
                modules.push(module.clone());
                b.push(Def::Module(module));
                levels.push(Level::Module);
            }
            Payload::ComponentSection { .. } => {
                levels.push(Level::Component(Builder::default()));
            }
            Payload::InstanceSection(reader) => {
                for instance in reader {
                    b.push(match instance? {
                        wasmparser::Instance::Instantiate { module_index, args } => {
                            Def::CoreInstantiate {
                                module: module_index,
                                args: args.iter().map(|a| (a.name.to_string(), a.index)).collect(),
                            }
                        }
                        wasmparser::Instance::FromExports(exports) => {
                            let mut sorted = exports
                                .iter()
                                .map(|e| {
                                    Ok((
                                        e.name.to_string(),
                                        CoreItem {
                                            kind: core_kind(e.kind)?,
                                            index: e.index,
                                        },
                                    ))
                                })
                                .collect::<Result<Vec<_>>>()?;
                            sorted.sort_by(|a, b| a.0.cmp(&b.0));
                            let (names, items): (Vec<String>, Vec<CoreItem>) =
                                sorted.into_iter().unzip();
                            Def::CoreFromExports {
                                names: names.into(),
                                items,
                            }
                        }
                    });
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader {
                    let def = match instance? {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => Def::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|a| Ok((a.name.to_string(), b.item(types, a.kind, a.index)?)))
                                .collect::<Result<_>>()?,
                        },
                        wasmparser::ComponentInstance::FromExports(exports) => Def::FromExports(
                            exports
                                .iter()
                                .map(|e| {
                                    Ok((e.name.name.to_string(), b.item(types, e.kind, e.index)?))
                                })
                                .collect::<Result<_>>()?,
                        ),
                    };
                    b.push(def);
                    b.bind_new(types, Kind::Instance);
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for canon in reader {
                    let resolve = |id| b.resource(id).map(ResourceIndex);
                    match canon? {
                        CanonicalFunction::Lift {
                            core_func_index,
                            type_index,
                            options,
                        } => {
                            let id = types.component_any_type_at(type_index).unwrap_func();
                            let ty = func_type(types, &resolve, &types[id])?;
                            b.push(Def::Lift {
                                core_func: core_func_index,
                                sig: Arc::new(Signature::new(ty)),
                                options: self::options(&options)?,
                            });
                        }
                        CanonicalFunction::Lower {
                            func_index,
                            options,
                        } => {
                            let id = types.component_function_at(func_index);
                            let ty = func_type(types, &resolve, &types[id])?;
                            b.push(Def::Lower {
                                func: func_index,
                                sig: Arc::new(Signature::new(ty)),
                                options: self::options(&options)?,
                            });
                        }
                        CanonicalFunction::ResourceNew { resource } => {
                            let r = b.resource_item(types, resource)?;
                            b.push(Def::ResourceNew(r));
                        }
                        CanonicalFunction::ResourceDrop { resource } => {
                            let r = b.resource_item(types, resource)?;
                            b.push(Def::ResourceDrop(r));
                        }
                        CanonicalFunction::ResourceRep { resource } => {
                            let r = b.resource_item(types, resource)?;
                            b.push(Def::ResourceRep(r));
                        }
                        other => bail!("canonical function {other:?} is not supported yet"),
                    }
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import?;
                    let kind = match import.ty {
                        ComponentTypeRef::Func(_) => Kind::Func,
                        ComponentTypeRef::Instance(_) => Kind::Instance,
                        ComponentTypeRef::Type(_) => Kind::Type,
                        ComponentTypeRef::Module(_) => Kind::Module,
                        ComponentTypeRef::Component(_) => Kind::Component,
                        ComponentTypeRef::Value(_) => bail!("value imports are not supported"),
                    };
                    b.push(Def::Import {
                        name: import.name.name.to_string(),
                        kind,
                    });
                    b.bind_new(types, kind);
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let item = b.item(types, export.kind, export.index)?;
                    b.push(Def::Export {
                        name: export.name.name.to_string(),
                        item,
                    });
                    b.bind_new(types, item.kind);
                }
            }
            Payload::ComponentTypeSection(reader) => {
                for ty in reader {
                    match ty? {
                        wasmparser::ComponentType::Resource { dtor, .. } => {
                            let id = resource_at(types, b.types).context("a resource type")?;
                            let index = b.new_resource(&[id]);
                            b.push(Def::Resource { index, dtor });
                        }
                        _ => b.types += 1,
                    }
                }
            }
            Payload::CoreTypeSection(_) => {}
            Payload::CustomSection(_) => {}
            Payload::ComponentStartSection { .. } => {
                bail!("component start functions are not supported")
            }
            other => bail!("unexpected section in a component: {other:?}"),
        }
    }
    bail!("the component ends early")
}

/// Adds `alias` to the innermost component's definitions.
fn add_alias(levels: &mut [Level], alias: ComponentAlias<'_>, types: TypesRef<'_>) -> Result<()> {
    let def = match alias {
        ComponentAlias::InstanceExport {
            kind,
            instance_index,
            name,
        } => Def::Alias {
            kind: self::kind(kind)?,
            instance: instance_index,
            name: name.to_string(),
        },
        ComponentAlias::CoreInstanceExport {
            kind,
            instance_index,
            name,
        } => Def::CoreAlias {
            kind: core_kind(kind)?,
            instance: instance_index,
            name: name.to_string(),
        },
        ComponentAlias::Outer { kind, count, index } => {
            return outer_alias(levels, kind, count, index);
        }
    };
    let Some(Level::Component(here)) = levels.last_mut() else {
        bail!("an alias outside a component");
    };
    let kind = match &def {
        Def::Alias { kind, .. } => Some(*kind),
        _ => None,
    };
    here.push(def);
    if let Some(kind) = kind {
        here.bind_new(types, kind);
    }
    Ok(())
}

/// An outer alias: a core module or component of an enclosing level,
/// given a new index here (types need nothing at run time).
fn outer_alias(
    levels: &mut [Level],
    kind: ComponentOuterAliasKind,
    count: u32,
    index: u32,
) -> Result<()> {
    let depth = levels.len();
    let outer = depth
        .checked_sub(1 + count as usize)
        .context("an outer alias beyond the root")?;
    let Level::Component(from) = &levels[outer] else {
        bail!("an outer alias into a core module");
    };
    let def = match kind {
        ComponentOuterAliasKind::CoreModule => {
            match from.modules.get(index as usize).context("outer module")? {
                Some(m) => Def::Module(m.clone()),
                // Known when the enclosing component is instantiated: the
                // nested component captures it.
                None => Def::OuterModule { count, index },
            }
        }
        ComponentOuterAliasKind::Component => {
            from.components
                .get(index as usize)
                .context("outer component")?;
            // Taken at run time, with the environment the component was
            // defined in (its outer aliases may capture imports).
            Def::OuterComponent { count, index }
        }
        ComponentOuterAliasKind::CoreType => return Ok(()),
        ComponentOuterAliasKind::Type => {
            // Types need nothing at run time; count the index.
            if let Some(Level::Component(here)) = levels.last_mut() {
                here.types += 1;
            }
            return Ok(());
        }
    };
    let Some(Level::Component(here)) = levels.last_mut() else {
        bail!("an alias outside a component");
    };
    here.push(def);
    Ok(())
}

fn func_type(
    types: TypesRef<'_>,
    resources: ResourceResolver<'_>,
    f: &wasmparser::component_types::ComponentFuncType,
) -> Result<FuncType> {
    if f.async_ {
        bail!("async functions are not supported yet");
    }
    Ok(FuncType {
        params: f
            .params
            .iter()
            .map(|(n, t)| Ok((n.to_string(), Type::from_wasmparser(types, resources, t)?)))
            .collect::<Result<_>>()?,
        result: f
            .result
            .as_ref()
            .map(|t| Type::from_wasmparser(types, resources, t))
            .transpose()?,
    })
}

fn options(options: &[CanonicalOption]) -> Result<Options> {
    let mut out = Options {
        encoding: StringEncoding::Utf8,
        memory: None,
        realloc: None,
        post_return: None,
    };
    for o in options {
        match *o {
            CanonicalOption::UTF8 => out.encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => out.encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => out.encoding = StringEncoding::CompactUtf16,
            CanonicalOption::Memory(m) => out.memory = Some(m),
            CanonicalOption::Realloc(f) => out.realloc = Some(f),
            CanonicalOption::PostReturn(f) => out.post_return = Some(f),
            ref other => bail!("canonical option {other:?} is not supported yet"),
        }
    }
    Ok(out)
}

fn core_kind(kind: ExternalKind) -> Result<CoreKind> {
    Ok(match kind {
        ExternalKind::Func | ExternalKind::FuncExact => CoreKind::Func,
        ExternalKind::Memory => CoreKind::Memory,
        ExternalKind::Table => CoreKind::Table,
        ExternalKind::Global => CoreKind::Global,
        ExternalKind::Tag => CoreKind::Tag,
    })
}

fn kind(kind: ComponentExternalKind) -> Result<Kind> {
    Ok(match kind {
        ComponentExternalKind::Func => Kind::Func,
        ComponentExternalKind::Instance => Kind::Instance,
        ComponentExternalKind::Module => Kind::Module,
        ComponentExternalKind::Component => Kind::Component,
        ComponentExternalKind::Type => Kind::Type,
        ComponentExternalKind::Value => bail!("component values are not supported"),
    })
}

impl Builder {
    /// The item of kind `k` at `index` (a type as its resource index).
    fn item(&self, types: TypesRef<'_>, k: ComponentExternalKind, index: u32) -> Result<Item> {
        let kind = kind(k)?;
        let index = match kind {
            Kind::Type => self.type_item(types, index)?,
            _ => index,
        };
        Ok(Item { kind, index })
    }

    /// The resource index of type `index`, which must be a resource.
    fn resource_item(&self, types: TypesRef<'_>, index: u32) -> Result<u32> {
        match self.type_item(types, index)? {
            NOT_A_RESOURCE => bail!("type {index} is not a resource type"),
            r => Ok(r),
        }
    }
}

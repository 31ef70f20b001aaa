//! [`Component`]: a component binary validated with `wasmparser` and
//! turned into a list of definitions, in binary order, for instantiation
//! to run (`instance.rs`). Core modules inside compile with the engine
//! like any module (cached, lazily compiled, precompilable the same way);
//! nested components become definitions of their own; the types of
//! lifted and lowered functions are resolved here into [`FuncType`]s, so
//! instantiation never looks at the validator's type tables.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use hayate::{Engine, Module};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Parser, Payload, Validator,
    WasmFeatures,
};

use crate::abi::StringEncoding;
use crate::func::Signature;
use crate::types::{FuncType, Type};

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
}

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
    CoreFromExports(Vec<(String, CoreItem)>),
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

/// A component item by kind and index.
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
        let bytes = wat::parse_bytes(bytes.as_ref()).context("parsing the component's text")?;
        Component::from_binary(engine, &bytes)
    }

    /// Compiles the component in file `path` (binary or text).
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
        Component::new(engine, bytes)
    }

    /// Compiles a component from its binary form.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Component> {
        if !wasmparser::Parser::is_component(bytes) {
            bail!("not a WebAssembly component (a core module? run it as a module)");
        }
        let def = parse(engine, bytes)?;
        Ok(Component {
            engine: engine.clone(),
            def: Arc::new(def),
        })
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
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
}

impl Builder {
    /// Adds `def`, keeping the module and component spaces in step.
    fn push(&mut self, def: Def) {
        match &def {
            Def::Module(m) => self.modules.push(Some(m.clone())),
            Def::Component(c) => self.components.push(Some(c.clone())),
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
}

fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::COMPONENT_MODEL
}

fn parse(engine: &Engine, bytes: &[u8]) -> Result<ComponentDef> {
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
                for alias in reader.clone() {
                    add_alias(&mut levels, alias?)?;
                }
            }
            continue;
        }
        let Some(Level::Component(b)) = levels.last_mut() else {
            continue;
        };
        match payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let range =
                    usize::try_from(unchecked_range.start)?..usize::try_from(unchecked_range.end)?;
                let module_bytes = bytes.get(range).context("a module outside the component")?;
                let module = Module::from_binary(engine, module_bytes)
                    .context("compiling a core module of the component")?;
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
                        wasmparser::Instance::FromExports(exports) => Def::CoreFromExports(
                            exports
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
                                .collect::<Result<_>>()?,
                        ),
                    });
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader {
                    b.push(match instance? {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => Def::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|a| Ok((a.name.to_string(), item(a.kind, a.index)?)))
                                .collect::<Result<_>>()?,
                        },
                        wasmparser::ComponentInstance::FromExports(exports) => Def::FromExports(
                            exports
                                .iter()
                                .map(|e| Ok((e.name.name.to_string(), item(e.kind, e.index)?)))
                                .collect::<Result<_>>()?,
                        ),
                    });
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                let types = validator.types(0).context("component types")?;
                for canon in reader {
                    match canon? {
                        CanonicalFunction::Lift {
                            core_func_index,
                            type_index,
                            options,
                        } => {
                            let id = types.component_any_type_at(type_index).unwrap_func();
                            let ty = func_type(types, &types[id])?;
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
                            let ty = func_type(types, &types[id])?;
                            b.push(Def::Lower {
                                func: func_index,
                                sig: Arc::new(Signature::new(ty)),
                                options: self::options(&options)?,
                            });
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
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let item = item(export.kind, export.index)?;
                    b.push(Def::Export {
                        name: export.name.name.to_string(),
                        item,
                    });
                }
            }
            Payload::ComponentTypeSection(_) | Payload::CoreTypeSection(_) => {}
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
fn add_alias(levels: &mut [Level], alias: ComponentAlias<'_>) -> Result<()> {
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
    here.push(def);
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
            let m = from.modules.get(index as usize).context("outer module")?;
            Def::Module(m.clone().context("an outer alias of an imported module")?)
        }
        ComponentOuterAliasKind::Component => {
            let c = from
                .components
                .get(index as usize)
                .context("outer component")?;
            Def::Component(
                c.clone()
                    .context("an outer alias of an imported component")?,
            )
        }
        ComponentOuterAliasKind::CoreType | ComponentOuterAliasKind::Type => return Ok(()),
    };
    let Some(Level::Component(here)) = levels.last_mut() else {
        bail!("an alias outside a component");
    };
    here.push(def);
    Ok(())
}

fn func_type(
    types: wasmparser::types::TypesRef<'_>,
    f: &wasmparser::component_types::ComponentFuncType,
) -> Result<FuncType> {
    if f.async_ {
        bail!("async functions are not supported yet");
    }
    Ok(FuncType {
        params: f
            .params
            .iter()
            .map(|(n, t)| Ok((n.to_string(), Type::from_wasmparser(types, t)?)))
            .collect::<Result<_>>()?,
        result: f
            .result
            .as_ref()
            .map(|t| Type::from_wasmparser(types, t))
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

fn item(k: ComponentExternalKind, index: u32) -> Result<Item> {
    Ok(Item {
        kind: kind(k)?,
        index,
    })
}

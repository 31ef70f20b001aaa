//! `ModuleInfo`: everything static about a module, decoded and validated in
//! one pass over its bytes with `wasmparser`.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use cranelift_entity::PrimaryMap;

use crate::bytes::SharedBytes;
use crate::entity::{
    DataIndex, DefinedFuncIndex, DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex,
    DefinedTagIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TagIndex,
    TypeIndex,
};
use crate::error::WasmError;
use crate::types::{
    ArrayType, CompositeType, ConstExpr, EntityType, FieldType, FuncType, GlobalType, HeapType,
    MemoryType, RefType, StorageType, StructType, SubType, TableType, TypeRef, WasmValType,
};

/// An index into one of a module's index spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    /// Function index (imports first).
    Function(FuncIndex),
    /// Table index (imports first).
    Table(TableIndex),
    /// Memory index (imports first).
    Memory(MemoryIndex),
    /// Global index (imports first).
    Global(GlobalIndex),
    /// Tag index (imports first).
    Tag(TagIndex),
}

/// One import of the module.
#[derive(Debug, Clone)]
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub name: String,
    /// What is imported; the index is in the matching index space.
    pub index: EntityIndex,
}

/// One export of the module.
#[derive(Debug, Clone)]
pub struct Export {
    /// The export name.
    pub name: String,
    /// What is exported.
    pub index: EntityIndex,
}

/// Where a data segment goes.
#[derive(Debug, Clone)]
pub enum DataSegmentKind {
    /// Copied into `memory` at `offset` during instantiation.
    Active {
        /// Memory index.
        memory: MemoryIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `memory.init` only.
    Passive,
}

/// A data segment.
#[derive(Debug, Clone)]
pub struct DataSegment {
    /// Active or passive.
    pub kind: DataSegmentKind,
    /// The bytes of the segment.
    pub data: SharedBytes,
}

/// Where an element segment goes.
#[derive(Debug, Clone)]
pub enum ElemSegmentKind {
    /// Written into `table` at `offset` during instantiation.
    Active {
        /// Table index.
        table: TableIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `table.init` only.
    Passive,
    /// Only declares functions as referenceable; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Debug, Clone)]
pub enum ElemItems {
    /// Function indices (a non-null `funcref` each).
    Functions(Vec<FuncIndex>),
    /// Constant expressions of the given reference type.
    Expressions(RefType, Vec<ConstExpr>),
}

impl ElemItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Functions(f) => f.len(),
            ElemItems::Expressions(_, e) => e.len(),
        }
    }

    /// Whether the segment has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Debug, Clone)]
pub struct ElemSegment {
    /// Active, passive or declared.
    pub kind: ElemSegmentKind,
    /// The items.
    pub items: ElemItems,
}

/// The static description of a validated module.
///
/// Every index space lists imports first, then the module's own definitions.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// The type section.
    pub types: PrimaryMap<TypeIndex, SubType>,
    /// The first type of each recursion group, in order (a type written
    /// outside `rec` is a group of its own). A group runs to the next
    /// group's start or the end of `types`.
    pub rec_groups: Vec<TypeIndex>,
    /// Type index of every function (imported and defined).
    pub functions: PrimaryMap<FuncIndex, TypeIndex>,
    /// Every table (imported and defined).
    pub tables: PrimaryMap<TableIndex, TableType>,
    /// Every memory (imported and defined).
    pub memories: PrimaryMap<MemoryIndex, MemoryType>,
    /// Every global (imported and defined).
    pub globals: PrimaryMap<GlobalIndex, GlobalType>,
    /// The function type (no results) of every tag (imported and defined):
    /// the types of an exception's payload.
    pub tags: PrimaryMap<TagIndex, TypeIndex>,
    /// Initialiser of every defined table's elements, if it has one other
    /// than null (typed function references), by defined-table index.
    pub table_inits: PrimaryMap<DefinedTableIndex, Option<ConstExpr>>,
    /// Initialiser of every defined global, indexed by defined-global index.
    pub global_inits: PrimaryMap<DefinedGlobalIndex, ConstExpr>,
    /// Imports in module order.
    pub imports: Vec<Import>,
    /// Exports in module order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Data segments.
    pub data: PrimaryMap<DataIndex, DataSegment>,
    /// Element segments.
    pub elements: PrimaryMap<ElemIndex, ElemSegment>,
    /// Byte range of each defined function's body (locals and code) in the
    /// module bytes, indexed by defined-function index.
    pub function_bodies: PrimaryMap<DefinedFuncIndex, Range<usize>>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
    /// The module's name from the name section.
    pub name: Option<String>,
    /// Functions that may be called from outside the module's direct calls:
    /// exported, placed in a table by an element segment, or named by
    /// `ref.func`. Each gets an array-call entry trampoline.
    pub escaping_funcs: PrimaryMap<FuncIndex, bool>,
}

impl ModuleInfo {
    /// Decodes and validates `bytes` under `features`.
    pub fn parse(bytes: &[u8], features: WasmFeatures) -> Result<ModuleInfo, WasmError> {
        let mut info = ModuleInfo::default();
        let mut validator = Validator::new_with_features(features);
        let unsupported = |what: String, offset: u64| WasmError {
            message: format!("unsupported: {what}"),
            offset,
        };
        let mut parser = Parser::new(0);
        // The decoder must know the features too: they change how some
        // encodings are read (e.g. memory limits are 32-bit without memory64).
        parser.set_features(features);
        for payload in parser.parse_all(bytes) {
            let payload = payload?;
            match validator.payload(&payload)? {
                wasmparser::ValidPayload::Func(func_validator, body) => {
                    let mut v = func_validator.into_validator(Default::default());
                    v.validate(&body)?;
                    let r = body.range();
                    info.function_bodies.push(r.start as usize..r.end as usize);
                    continue;
                }
                wasmparser::ValidPayload::End(_) => break,
                _ => {}
            }
            match payload {
                Payload::TypeSection(reader) => {
                    let offset = reader.range().start;
                    for group in reader {
                        let group = group?;
                        info.rec_groups.push(info.types.next_key());
                        for ty in group.into_types() {
                            let ty = sub_type(ty).map_err(|w| unsupported(w, offset))?;
                            info.types.push(ty);
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    let offset = reader.range().start;
                    for import in reader.into_imports() {
                        let import = import?;
                        let index = match import.ty {
                            wasmparser::TypeRef::Func(ty) => {
                                info.num_imported_funcs += 1;
                                EntityIndex::Function(info.functions.push(TypeIndex::from_u32(ty)))
                            }
                            wasmparser::TypeRef::Table(t) => {
                                let ty = table_type(t).map_err(|w| unsupported(w, offset))?;
                                info.num_imported_tables += 1;
                                EntityIndex::Table(info.tables.push(ty))
                            }
                            wasmparser::TypeRef::Memory(m) => {
                                info.num_imported_memories += 1;
                                EntityIndex::Memory(info.memories.push(memory_type(m)))
                            }
                            wasmparser::TypeRef::Global(g) => {
                                let ty = global_type(g).map_err(|w| unsupported(w, offset))?;
                                info.num_imported_globals += 1;
                                EntityIndex::Global(info.globals.push(ty))
                            }
                            wasmparser::TypeRef::Tag(t) => {
                                info.num_imported_tags += 1;
                                EntityIndex::Tag(
                                    info.tags.push(TypeIndex::from_u32(t.func_type_idx)),
                                )
                            }
                            other => {
                                return Err(unsupported(format!("import kind {other:?}"), offset));
                            }
                        };
                        info.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            index,
                        });
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        info.functions.push(TypeIndex::from_u32(ty?));
                    }
                }
                Payload::TableSection(reader) => {
                    let offset = reader.range().start;
                    for table in reader {
                        let table = table?;
                        let init = match table.init {
                            wasmparser::TableInit::RefNull => None,
                            wasmparser::TableInit::Expr(expr) => Some(
                                ConstExpr::from_wasmparser(&expr)
                                    .map_err(|w| unsupported(w, offset))?,
                            ),
                        };
                        info.tables
                            .push(table_type(table.ty).map_err(|w| unsupported(w, offset))?);
                        info.table_inits.push(init);
                    }
                }
                Payload::TagSection(reader) => {
                    for tag in reader {
                        info.tags.push(TypeIndex::from_u32(tag?.func_type_idx));
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        info.memories.push(memory_type(memory?));
                    }
                }
                Payload::GlobalSection(reader) => {
                    let offset = reader.range().start;
                    for global in reader {
                        let global = global?;
                        info.globals
                            .push(global_type(global.ty).map_err(|w| unsupported(w, offset))?);
                        let init = ConstExpr::from_wasmparser(&global.init_expr)
                            .map_err(|w| unsupported(w, offset))?;
                        info.global_inits.push(init);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        let index = match export.kind {
                            wasmparser::ExternalKind::Func => {
                                EntityIndex::Function(FuncIndex::from_u32(export.index))
                            }
                            wasmparser::ExternalKind::Table => {
                                EntityIndex::Table(TableIndex::from_u32(export.index))
                            }
                            wasmparser::ExternalKind::Memory => {
                                EntityIndex::Memory(MemoryIndex::from_u32(export.index))
                            }
                            wasmparser::ExternalKind::Global => {
                                EntityIndex::Global(GlobalIndex::from_u32(export.index))
                            }
                            wasmparser::ExternalKind::Tag => {
                                EntityIndex::Tag(TagIndex::from_u32(export.index))
                            }
                            other => {
                                return Err(unsupported(format!("export kind {other:?}"), 0));
                            }
                        };
                        info.exports.push(Export {
                            name: export.name.to_string(),
                            index,
                        });
                    }
                }
                Payload::StartSection { func, .. } => info.start = Some(FuncIndex::from_u32(func)),
                Payload::ElementSection(reader) => {
                    let offset = reader.range().start;
                    for elem in reader {
                        let elem = elem?;
                        info.elements
                            .push(elem_segment(elem).map_err(|w| unsupported(w, offset))?);
                    }
                }
                Payload::DataSection(reader) => {
                    let offset = reader.range().start;
                    for data in reader {
                        let data = data?;
                        let kind = match data.kind {
                            wasmparser::DataKind::Passive => DataSegmentKind::Passive,
                            wasmparser::DataKind::Active {
                                memory_index,
                                offset_expr,
                            } => DataSegmentKind::Active {
                                memory: MemoryIndex::from_u32(memory_index),
                                offset: ConstExpr::from_wasmparser(&offset_expr)
                                    .map_err(|w| unsupported(w, offset))?,
                            },
                        };
                        info.data.push(DataSegment {
                            kind,
                            data: SharedBytes::from(data.data),
                        });
                    }
                }
                Payload::CustomSection(section) => {
                    if let wasmparser::KnownCustom::Name(names) = section.as_known() {
                        // The name section is informative; a malformed one is ignored.
                        let _ = info.read_names(names);
                    }
                }
                _ => {}
            }
        }
        info.retag_concrete();
        info.compute_escaping();
        Ok(info)
    }

    fn read_names(&mut self, names: wasmparser::NameSectionReader<'_>) -> Result<(), WasmError> {
        for name in names {
            match name? {
                wasmparser::Name::Module { name, .. } => self.name = Some(name.to_string()),
                wasmparser::Name::Function(map) => {
                    for naming in map {
                        let naming = naming?;
                        self.func_names
                            .insert(FuncIndex::from_u32(naming.index), naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn compute_escaping(&mut self) {
        let mut escaping: PrimaryMap<FuncIndex, bool> =
            self.functions.keys().map(|_| false).collect();
        for export in &self.exports {
            if let EntityIndex::Function(f) = export.index {
                escaping[f] = true;
            }
        }
        let mark_expr = |expr: &ConstExpr, escaping: &mut PrimaryMap<FuncIndex, bool>| {
            for op in expr.ops() {
                if let crate::ConstOp::RefFunc(f) = op {
                    escaping[*f] = true;
                }
            }
        };
        for elem in self.elements.values() {
            match &elem.items {
                ElemItems::Functions(fs) => fs.iter().for_each(|f| escaping[*f] = true),
                ElemItems::Expressions(_, exprs) => {
                    exprs.iter().for_each(|e| mark_expr(e, &mut escaping))
                }
            }
        }
        for init in self.global_inits.values() {
            mark_expr(init, &mut escaping);
        }
        if let Some(start) = self.start {
            escaping[start] = true;
        }
        self.escaping_funcs = escaping;
    }

    /// Number of functions defined (not imported) by the module.
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }

    /// Number of tables defined by the module.
    pub fn num_defined_tables(&self) -> u32 {
        self.tables.len() as u32 - self.num_imported_tables
    }

    /// Number of memories defined by the module.
    pub fn num_defined_memories(&self) -> u32 {
        self.memories.len() as u32 - self.num_imported_memories
    }

    /// Number of tags defined by the module.
    pub fn num_defined_tags(&self) -> u32 {
        self.tags.len() as u32 - self.num_imported_tags
    }

    /// The defined-tag index of `tag`, if it is defined here.
    pub fn defined_tag(&self, tag: TagIndex) -> Option<DefinedTagIndex> {
        tag.as_u32()
            .checked_sub(self.num_imported_tags)
            .map(DefinedTagIndex::from_u32)
    }

    /// The tag-space index of defined tag `index`.
    pub fn tag_index(&self, index: DefinedTagIndex) -> TagIndex {
        TagIndex::from_u32(self.num_imported_tags + index.as_u32())
    }

    /// Number of globals defined by the module.
    pub fn num_defined_globals(&self) -> u32 {
        self.globals.len() as u32 - self.num_imported_globals
    }

    /// The heap type of references to module type `index`: a concrete
    /// function, structure or array type.
    pub fn concrete_heap_type(&self, index: TypeIndex) -> HeapType {
        self.types[index].heap_type(TypeRef::Module(index))
    }

    /// `h` with its concrete type's kind (function, structure, array) taken
    /// from the type section. Decoding names every concrete type as a
    /// function type first, as the kinds of later types are unknown then.
    pub fn retag(&self, h: HeapType) -> HeapType {
        match h.concrete() {
            Some(TypeRef::Module(i)) if self.types.is_valid(i) => self.concrete_heap_type(i),
            _ => h,
        }
    }

    /// [`ModuleInfo::retag`] for a value type.
    pub fn retag_val(&self, v: WasmValType) -> WasmValType {
        match v {
            WasmValType::Ref(r) => WasmValType::Ref(RefType::new(r.nullable, self.retag(r.heap))),
            other => other,
        }
    }

    /// Corrects the kind of every concrete type the module names (see
    /// [`ModuleInfo::retag`]).
    fn retag_concrete(&mut self) {
        let fix = |info: &ModuleInfo, v: &mut WasmValType| *v = info.retag_val(*v);
        let mut types = self.types.clone();
        for t in types.values_mut() {
            match &mut t.composite {
                CompositeType::Func(f) => {
                    let mut params = f.params.to_vec();
                    let mut results = f.results.to_vec();
                    params
                        .iter_mut()
                        .chain(results.iter_mut())
                        .for_each(|v| fix(self, v));
                    *f = FuncType::new(params, results);
                }
                CompositeType::Struct(s) => {
                    let mut fields = s.fields.to_vec();
                    for field in &mut fields {
                        if let StorageType::Val(v) = &mut field.storage {
                            fix(self, v);
                        }
                    }
                    s.fields = fields.into();
                }
                CompositeType::Array(a) => {
                    if let StorageType::Val(v) = &mut a.element.storage {
                        fix(self, v);
                    }
                }
            }
        }
        self.types = types;
        let mut globals = std::mem::take(&mut self.globals);
        globals.values_mut().for_each(|g| fix(self, &mut g.content));
        self.globals = globals;
        let mut tables = std::mem::take(&mut self.tables);
        for t in tables.values_mut() {
            t.element = RefType::new(t.element.nullable, self.retag(t.element.heap));
        }
        self.tables = tables;
        let mut elements = std::mem::take(&mut self.elements);
        for e in elements.values_mut() {
            if let ElemItems::Expressions(ty, _) = &mut e.items {
                *ty = RefType::new(ty.nullable, self.retag(ty.heap));
            }
        }
        self.elements = elements;
    }

    /// The signature of function `func`.
    pub fn func_type(&self, func: FuncIndex) -> &FuncType {
        self.signature(self.functions[func])
    }

    /// The function signature type `index` declares. The validator only
    /// lets a function type be named where a signature is expected.
    pub fn signature(&self, index: TypeIndex) -> &FuncType {
        self.types[index]
            .as_func()
            .expect("validated module: a signature index names a function type")
    }

    /// The recursion groups, as ranges of type indices.
    pub fn rec_group_ranges(&self) -> impl Iterator<Item = Range<u32>> + '_ {
        let end = self.types.len() as u32;
        self.rec_groups.iter().enumerate().map(move |(i, start)| {
            let next = self.rec_groups.get(i + 1).map_or(end, |n| n.as_u32());
            start.as_u32()..next
        })
    }

    /// Whether function `func` is imported.
    pub fn is_imported_func(&self, func: FuncIndex) -> bool {
        func.as_u32() < self.num_imported_funcs
    }

    /// The function-space index of defined function `index`.
    pub fn func_index(&self, index: DefinedFuncIndex) -> FuncIndex {
        FuncIndex::from_u32(self.num_imported_funcs + index.as_u32())
    }

    /// The defined-function index of `func`, if it is defined here.
    pub fn defined_func(&self, func: FuncIndex) -> Option<DefinedFuncIndex> {
        func.as_u32()
            .checked_sub(self.num_imported_funcs)
            .map(DefinedFuncIndex::from_u32)
    }

    /// The type-section index of the signature of defined function `index`.
    pub fn defined_func_type_index(&self, index: DefinedFuncIndex) -> TypeIndex {
        self.functions[self.func_index(index)]
    }

    /// Whether defined function `index` escapes (see
    /// [`ModuleInfo::escaping_funcs`]) and so needs an entry trampoline.
    pub fn is_escaping(&self, index: DefinedFuncIndex) -> bool {
        self.escaping_funcs.get(self.func_index(index)) == Some(&true)
    }

    /// The table-space index of defined table `index`.
    pub fn table_index(&self, index: DefinedTableIndex) -> TableIndex {
        TableIndex::from_u32(self.num_imported_tables + index.as_u32())
    }

    /// The defined-table index of `table`, if it is defined here.
    pub fn defined_table(&self, table: TableIndex) -> Option<DefinedTableIndex> {
        table
            .as_u32()
            .checked_sub(self.num_imported_tables)
            .map(DefinedTableIndex::from_u32)
    }

    /// The memory-space index of defined memory `index`.
    pub fn memory_index(&self, index: DefinedMemoryIndex) -> MemoryIndex {
        MemoryIndex::from_u32(self.num_imported_memories + index.as_u32())
    }

    /// The defined-memory index of `memory`, if it is defined here.
    pub fn defined_memory(&self, memory: MemoryIndex) -> Option<DefinedMemoryIndex> {
        memory
            .as_u32()
            .checked_sub(self.num_imported_memories)
            .map(DefinedMemoryIndex::from_u32)
    }

    /// The global-space index of defined global `index`.
    pub fn global_index(&self, index: DefinedGlobalIndex) -> GlobalIndex {
        GlobalIndex::from_u32(self.num_imported_globals + index.as_u32())
    }

    /// The defined-global index of `global`, if it is defined here.
    pub fn defined_global(&self, global: GlobalIndex) -> Option<DefinedGlobalIndex> {
        global
            .as_u32()
            .checked_sub(self.num_imported_globals)
            .map(DefinedGlobalIndex::from_u32)
    }

    /// The type of entity `index`.
    pub fn entity_type(&self, index: EntityIndex) -> EntityType {
        match index {
            EntityIndex::Function(f) => EntityType::Function(self.func_type(f).clone()),
            EntityIndex::Table(t) => EntityType::Table(self.tables[t]),
            EntityIndex::Memory(m) => EntityType::Memory(self.memories[m]),
            EntityIndex::Global(g) => EntityType::Global(self.globals[g]),
            EntityIndex::Tag(t) => EntityType::Tag(self.signature(self.tags[t]).clone()),
        }
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }

    /// A display name for function `func`: its name-section name, or
    /// `<wasm function N>`.
    pub fn func_display_name(&self, func: FuncIndex) -> String {
        match self.func_names.get(&func) {
            Some(name) => name.clone(),
            None => format!("<wasm function {}>", func.as_u32()),
        }
    }
}

fn field_type(f: wasmparser::FieldType) -> Result<FieldType, String> {
    Ok(FieldType {
        storage: match f.element_type {
            wasmparser::StorageType::I8 => StorageType::I8,
            wasmparser::StorageType::I16 => StorageType::I16,
            wasmparser::StorageType::Val(v) => StorageType::Val(WasmValType::from_wasmparser(v)?),
        },
        mutable: f.mutable,
    })
}

/// Converts one type-section entry. Concrete references come out as
/// function references (`ConcreteFunc`) and are corrected once every type
/// is known (`ModuleInfo::retag_concrete`).
fn sub_type(ty: wasmparser::SubType) -> Result<SubType, String> {
    if ty.composite_type.shared {
        return Err("shared types".into());
    }
    let composite = match ty.composite_type.inner {
        wasmparser::CompositeInnerType::Func(f) => {
            let conv = |tys: &[wasmparser::ValType]| {
                tys.iter()
                    .map(|t| WasmValType::from_wasmparser(*t))
                    .collect::<Result<Vec<_>, _>>()
            };
            CompositeType::Func(FuncType::new(conv(f.params())?, conv(f.results())?))
        }
        wasmparser::CompositeInnerType::Struct(s) => CompositeType::Struct(StructType {
            fields: s
                .fields
                .iter()
                .map(|f| field_type(*f))
                .collect::<Result<_, _>>()?,
        }),
        wasmparser::CompositeInnerType::Array(a) => CompositeType::Array(ArrayType {
            element: field_type(a.0)?,
        }),
        other => return Err(format!("composite type {other:?}")),
    };
    let supertype = match ty.supertype_idxs.first() {
        None => None,
        Some(idx) => Some(TypeRef::Module(TypeIndex::from_u32(
            idx.as_module_index()
                .ok_or_else(|| format!("supertype index {idx:?}"))?,
        ))),
    };
    Ok(SubType {
        is_final: ty.is_final,
        supertype,
        composite,
    })
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, String> {
    if t.shared {
        return Err("shared tables".into());
    }
    Ok(TableType {
        element: RefType::from_wasmparser(t.element_type)?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, String> {
    if g.shared {
        return Err("shared globals".into());
    }
    Ok(GlobalType {
        content: WasmValType::from_wasmparser(g.content_type)?,
        mutable: g.mutable,
    })
}

fn elem_segment(elem: wasmparser::Element<'_>) -> Result<ElemSegment, String> {
    let kind = match elem.kind {
        wasmparser::ElementKind::Passive => ElemSegmentKind::Passive,
        wasmparser::ElementKind::Declared => ElemSegmentKind::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElemSegmentKind::Active {
            table: TableIndex::from_u32(table_index.unwrap_or(0)),
            offset: ConstExpr::from_wasmparser(&offset_expr)?,
        },
    };
    let items = match elem.items {
        wasmparser::ElementItems::Functions(reader) => ElemItems::Functions(
            reader
                .into_iter()
                .map(|f| f.map(FuncIndex::from_u32))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
        ),
        wasmparser::ElementItems::Expressions(ty, reader) => {
            let ty = RefType::from_wasmparser(ty)?;
            let mut exprs = Vec::new();
            for expr in reader {
                exprs.push(ConstExpr::from_wasmparser(
                    &expr.map_err(|e| e.to_string())?,
                )?);
            }
            ElemItems::Expressions(ty, exprs)
        }
    };
    Ok(ElemSegment { kind, items })
}

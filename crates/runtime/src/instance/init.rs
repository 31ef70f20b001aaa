//! Instance initialisation: constant expressions, globals, and active
//! element and data segments. Segments are applied in order and an
//! out-of-bounds one traps with earlier writes left in place: the semantics
//! of Wasm 2.0, which the official 1.0 test suite also expects. Data
//! segments of memories with a copy-on-write image are already in place
//! and are not copied; when instantiation traps, the images are taken out
//! again so that only the segments before the trap show (`crate::cow`).

use hayate_environ::{
    ConstExpr, ConstOp, DataIndex, DataSegmentKind, DefinedMemoryIndex, DefinedTableIndex,
    ElemIndex, ElemItems, ElemSegmentKind, EntityRef, MemoryIndex, TableIndex, Trap,
};

use super::{Instance, ModuleRuntimeInfo};
use crate::table::TableElement;
use crate::vmcontext::{VMGlobalDefinition, ValRaw};

/// Instantiation failed.
#[derive(Debug, thiserror::Error)]
pub enum InstantiationError {
    /// Memory or table could not be allocated.
    #[error("insufficient resources: {0}")]
    Resource(String),
    /// Imports do not fit.
    #[error("{0}")]
    Link(String),
    /// A segment did not fit.
    #[error("{0}")]
    Trap(Trap),
    /// An imported function compiled lazily could not be compiled.
    #[error("lazy compilation of an imported function failed: {0}")]
    Compile(String),
}

impl Instance {
    /// Evaluates a constant expression in this instance; traps only if a
    /// GC allocation fails.
    pub fn eval_const(&self, expr: &ConstExpr) -> Result<ValRaw, Trap> {
        let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
        for op in expr.ops() {
            let value = match *op {
                ConstOp::I32Const(v) => ValRaw::i32(v),
                ConstOp::I64Const(v) => ValRaw::i64(v),
                ConstOp::F32Const(bits) => ValRaw::u32(bits),
                ConstOp::F64Const(bits) => ValRaw::u64(bits),
                ConstOp::V128Const(v) => ValRaw::v128(v),
                ConstOp::RefNull(_) => ValRaw::default(),
                ConstOp::RefFunc(f) => ValRaw::ptr(self.func_ref(f).cast()),
                ConstOp::GlobalGet(g) => {
                    // SAFETY: global storage is live for the instance's lifetime.
                    let bytes = unsafe { (*self.global(g)).bytes };
                    ValRaw { bytes }
                }
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let b = stack.pop().expect("validated").get_i32();
                    let a = stack.pop().expect("validated").get_i32();
                    ValRaw::i32(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::RefI31 => {
                    let x = stack.pop().expect("validated").get_i32() as u32;
                    ValRaw::ptr(((x << 1) | 1) as usize as *mut _)
                }
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => {
                    stack.pop().expect("validated")
                }
                ConstOp::StructNew(_)
                | ConstOp::StructNewDefault(_)
                | ConstOp::ArrayNew(_)
                | ConstOp::ArrayNewDefault(_)
                | ConstOp::ArrayNewFixed(..) => self.eval_gc_alloc(*op, &mut stack)?,
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let b = stack.pop().expect("validated").get_i64();
                    let a = stack.pop().expect("validated").get_i64();
                    ValRaw::i64(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(value);
        }
        Ok(stack
            .pop()
            .expect("validated constant expression leaves a value"))
    }

    /// A GC allocation of a constant expression, its operands popped from
    /// `stack`. It never collects: the operands of constant expressions
    /// live in a vector no collection would see.
    fn eval_gc_alloc(&self, op: ConstOp, stack: &mut Vec<ValRaw>) -> Result<ValRaw, Trap> {
        use crate::gc::{Collect, KIND_ARRAY, KIND_STRUCT, alloc_object, write_storage};
        let info = &self.module.info;
        let (t, values, length) = match op {
            ConstOp::StructNew(t) => {
                let n = info.types[t].as_struct().expect("validated").fields.len();
                (t, stack.split_off(stack.len() - n), 0)
            }
            ConstOp::StructNewDefault(t) => (t, Vec::new(), 0),
            ConstOp::ArrayNew(t) => {
                let len = stack.pop().expect("validated").get_i32() as u32;
                let value = stack.pop().expect("validated");
                (t, vec![value], len)
            }
            ConstOp::ArrayNewDefault(t) => (
                t,
                Vec::new(),
                stack.pop().expect("validated").get_i32() as u32,
            ),
            ConstOp::ArrayNewFixed(t, n) => (t, stack.split_off(stack.len() - n as usize), n),
            _ => unreachable!("not an allocation"),
        };
        let type_id = self.module.type_ids[t.index()];
        // SAFETY: instances are initialised while their store is lent to
        // the instantiation, which borrows nothing else of it.
        let store = unsafe { &mut *self.store_ptr() };
        let too_large = |_| Trap::AllocationTooLarge;
        let object = match &info.types[t].composite {
            hayate_environ::CompositeType::Struct(st) => {
                let (offsets, size) = st.layout();
                let obj = alloc_object(
                    store,
                    size as usize,
                    type_id,
                    KIND_STRUCT,
                    0,
                    Collect::Never,
                )
                .map_err(too_large)?;
                for ((field, offset), value) in st.fields.iter().zip(offsets).zip(&values) {
                    // SAFETY: the field lies inside the fresh object.
                    unsafe {
                        let size = field.storage.byte_size() as usize;
                        write_storage(obj.as_ptr().add(offset as usize), value, size);
                    }
                }
                obj
            }
            hayate_environ::CompositeType::Array(a) => {
                let size = a.element.storage.byte_size() as usize;
                let bytes = u64::from(length) * size as u64;
                if bytes >= crate::gc::GcHeap::DEFAULT_MAX as u64 {
                    return Err(Trap::AllocationTooLarge);
                }
                let total = hayate_environ::GC_HEADER_SIZE as usize + bytes as usize;
                let obj = alloc_object(store, total, type_id, KIND_ARRAY, length, Collect::Never)
                    .map_err(too_large)?;
                let data = hayate_environ::GC_HEADER_SIZE as usize;
                for i in 0..length as usize {
                    let value = match op {
                        ConstOp::ArrayNew(_) => &values[0],
                        ConstOp::ArrayNewFixed(..) => &values[i],
                        _ => break,
                    };
                    // SAFETY: element `i` lies inside the fresh object.
                    unsafe { write_storage(obj.as_ptr().add(data + i * size), value, size) };
                }
                obj
            }
            hayate_environ::CompositeType::Func(_) => unreachable!("validated: a GC type"),
        };
        Ok(ValRaw::ptr(object.as_ptr().cast()))
    }

    /// Elements `[src, src + len)` of segment `index` as table entries, or
    /// `None` if the range is out of bounds (a dropped segment is empty).
    /// Only the range is evaluated, so a short `table.init` from a long
    /// segment costs what it copies.
    pub(crate) fn element_items(
        &self,
        index: ElemIndex,
        src: u64,
        len: u64,
    ) -> Result<Option<Vec<TableElement>>, Trap> {
        let size = if self.element_dropped(index) {
            0
        } else {
            self.module.info.elements[index].items.len() as u64
        };
        match crate::table::range(src, len, size) {
            Some(r) => self.segment_items(index, r).map(Some),
            None => Ok(None),
        }
    }

    /// Elements `range` of segment `index`, dropped or not.
    fn segment_items(
        &self,
        index: ElemIndex,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<TableElement>, Trap> {
        Ok(match &self.module.info.elements[index].items {
            ElemItems::Functions(funcs) => funcs[range]
                .iter()
                .map(|f| TableElement(self.func_ref(*f).cast()))
                .collect(),
            ElemItems::Expressions(..) if self.allocated_elements.contains_key(&index) => {
                self.allocated_elements[&index][range].to_vec()
            }
            ElemItems::Expressions(_, exprs) => exprs[range]
                .iter()
                .map(|e| Ok(TableElement(self.eval_const(e)?.get_ptr())))
                .collect::<Result<_, Trap>>()?,
        })
    }

    /// Initialises globals, then applies active element and data segments.
    /// On error the instance may already be visible to other instances
    /// through shared tables (Wasm 2.0), so the caller keeps it alive.
    ///
    /// `module` is the instance's own module, passed apart from `self` so
    /// that it is read while the instance is written without touching its
    /// reference count, which every thread instantiating it shares.
    pub fn initialize(&mut self, module: &ModuleRuntimeInfo) -> Result<(), InstantiationError> {
        assert!(
            std::ptr::eq(module, &*self.module),
            "an instance is initialised from its own module"
        );
        self.initialize_values(module)?;
        self.apply_segments_in_order(module)
    }

    /// Globals, element segments that allocate, and table initialisers.
    fn initialize_values(&mut self, module: &ModuleRuntimeInfo) -> Result<(), InstantiationError> {
        let info = &*module.info;
        for (def, init) in info.global_inits.iter() {
            let value = self.eval_const(init).map_err(InstantiationError::Trap)?;
            let index = info.global_index(def);
            let mut global = VMGlobalDefinition::default();
            let width = info.globals[index].content.byte_width();
            global.bytes[..width].copy_from_slice(&value.bytes[..width]);
            // SAFETY: defined global storage lies inside the VMContext.
            unsafe { *self.global(index) = global };
        }
        // Segments whose expressions allocate are evaluated once, now.
        for (index, elem) in info.elements.iter() {
            let ElemItems::Expressions(_, exprs) = &elem.items else {
                continue;
            };
            let allocates = exprs.iter().any(|e| {
                e.ops().iter().any(|op| {
                    matches!(
                        op,
                        ConstOp::StructNew(_)
                            | ConstOp::StructNewDefault(_)
                            | ConstOp::ArrayNew(_)
                            | ConstOp::ArrayNewDefault(_)
                            | ConstOp::ArrayNewFixed(..)
                    )
                })
            });
            if allocates {
                let values = self
                    .segment_items(index, 0..exprs.len())
                    .map_err(InstantiationError::Trap)?;
                self.allocated_elements.insert(index, values.into());
            }
        }
        // Tables with an initialiser (typed function references) start
        // with its value in every element, before any segment is applied.
        for (def, init) in info.table_inits.iter() {
            if let Some(init) = init {
                let value = self.eval_const(init).map_err(InstantiationError::Trap)?;
                let value = TableElement(value.get_ptr());
                let table = &mut self.tables[def.index()];
                let size = table.size();
                table.fill(0, value, size);
            }
        }
        Ok(())
    }

    fn apply_segments_in_order(
        &mut self,
        module: &ModuleRuntimeInfo,
    ) -> Result<(), InstantiationError> {
        let info = &*module.info;
        for (i, elem) in info.elements.iter() {
            match &elem.kind {
                ElemSegmentKind::Active { table, offset } => {
                    // Segments of a lazy table are read from its image on
                    // first access.
                    if !self.is_lazy(*table) && !self.write_element_segment(i, *table, offset) {
                        self.undo_lazy_tables(i);
                        self.undo_images(DataIndex::new(0))?;
                        return Err(InstantiationError::Trap(Trap::TableOutOfBounds));
                    }
                    self.drop_element(i);
                }
                ElemSegmentKind::Declared => self.drop_element(i),
                ElemSegmentKind::Passive => {}
            }
        }
        // Every active segment already in place through an image: drop
        // them all at once.
        let images = &module.images;
        if let Some(active) = images.active_if_all_imaged()
            && (0..self.memories.len()).all(|def| {
                images.get(DefinedMemoryIndex::new(def)).is_none() || self.memories[def].has_image()
            })
        {
            for (dropped, active) in self.dropped_data.iter_mut().zip(active) {
                *dropped |= *active;
            }
            return Ok(());
        }
        for (i, data) in info.data.iter() {
            if let DataSegmentKind::Active { memory, offset } = &data.kind {
                // Segments of a memory with an image are already in place.
                if !self.is_imaged(*memory) {
                    let start = self.data_offset(*memory, offset);
                    if !self.copy_segment(*memory, start, &data.data) {
                        self.undo_images(i)?;
                        return Err(InstantiationError::Trap(Trap::MemoryOutOfBounds));
                    }
                }
                self.drop_data(i);
            }
        }
        Ok(())
    }

    /// Writes element segment `index` into `table` at `offset`; `false`
    /// (and nothing written) if it does not fit.
    fn write_element_segment(
        &mut self,
        index: ElemIndex,
        table: TableIndex,
        offset: &ConstExpr,
    ) -> bool {
        let start = self.segment_offset(offset, self.module.info.tables[table].table64);
        let count = self.module.info.elements[index].items.len();
        let Ok(items) = self.segment_items(index, 0..count) else {
            return false;
        };
        let export = self.table(table);
        // SAFETY: table pointers are live; the base does not move.
        unsafe { (*export.table).init(start, &items) }
    }

    /// Whether table `index` is defined here and initialised lazily.
    fn is_lazy(&self, index: TableIndex) -> bool {
        self.module
            .info
            .defined_table(index)
            .is_some_and(|def| self.tables[def.index()].is_lazy())
    }

    /// Instantiation trapped in element segment `failed`: lazy tables get
    /// exactly the segments before it, written eagerly.
    fn undo_lazy_tables(&mut self, failed: ElemIndex) {
        let info = self.module.info.clone();
        for def in 0..self.tables.len() {
            if !self.tables[def].is_lazy() {
                continue;
            }
            self.tables[def].set_lazy_init(None);
            let index = info.table_index(DefinedTableIndex::new(def));
            let before = info.elements.iter().take(failed.index());
            for (i, elem) in before {
                if let ElemSegmentKind::Active { table, offset } = &elem.kind
                    && *table == index
                {
                    let fits = self.write_element_segment(i, index, offset);
                    debug_assert!(fits, "lazy segments fit the minimum size");
                }
            }
        }
    }

    /// Whether memory `index` got its segments from a copy-on-write image.
    fn is_imaged(&self, index: MemoryIndex) -> bool {
        self.module
            .info
            .defined_memory(index)
            .is_some_and(|def| self.memories[def.index()].has_image())
    }

    /// The offset of a segment: an `i64` in a 64-bit memory or table
    /// (`wide`), an `i32` (read unsigned) otherwise.
    fn segment_offset(&self, offset: &ConstExpr, wide: bool) -> u64 {
        // An offset is an integer: its expression allocates nothing.
        let value = self
            .eval_const(offset)
            .unwrap_or_else(|_| unreachable!("an integer expression cannot fail"));
        match wide {
            true => value.get_u64(),
            false => u64::from(value.get_u32()),
        }
    }

    /// The offset of a data segment in memory `index`.
    fn data_offset(&self, index: MemoryIndex, offset: &ConstExpr) -> u64 {
        self.segment_offset(offset, self.module.info.memories[index].memory64)
    }

    /// Copies `data` into memory `index` at `start`; `false` (and nothing
    /// written) if it does not fit.
    fn copy_segment(&mut self, index: MemoryIndex, start: u64, data: &[u8]) -> bool {
        let export = self.memory(index);
        // SAFETY: memory pointers are live; the range is checked against
        // the memory's current size before writing.
        unsafe {
            let mem = &mut *export.memory;
            let size = mem.byte_size() as u64;
            // A 64-bit memory's offset may be anything up to 2^64 - 1.
            if start
                .checked_add(data.len() as u64)
                .is_none_or(|end| end > size)
            {
                return false;
            }
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                mem.base().add(start as usize),
                data.len(),
            );
        }
        true
    }

    /// Instantiation trapped after the first `applied` data segments: takes
    /// the images out of imaged memories and copies in only those of their
    /// segments among the first `applied`, as copying in order would have
    /// left them (see `crate::cow`).
    fn undo_images(&mut self, applied: DataIndex) -> Result<(), InstantiationError> {
        let info = self.module.info.clone();
        for def in 0..self.memories.len() {
            if !self.memories[def].has_image() {
                continue;
            }
            // SAFETY: no guest code has run in this instance yet and the
            // runtime holds no reference into the memory.
            unsafe { self.memories[def].clear_image() }
                .map_err(|e| InstantiationError::Resource(e.to_string()))?;
            let index = info.memory_index(DefinedMemoryIndex::new(def));
            for data in info.data.values().take(applied.index()) {
                if let DataSegmentKind::Active { memory, offset } = &data.kind
                    && *memory == index
                {
                    let start = self.data_offset(index, offset);
                    let fits = self.copy_segment(index, start, &data.data);
                    debug_assert!(fits, "imaged segments fit the minimum size");
                }
            }
        }
        Ok(())
    }
}

//! Importable and exportable things other than functions: `Global`,
//! `Memory`, `Table`, `Tag`, and the `Extern` that holds any of them.

use hayate_runtime::{VMGlobalDefinition, VMTagDefinition, ValRaw};

use crate::error::{Error, Result};
use crate::func::Func;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreId, StoreOpaque};
use crate::types::{ExternType, GlobalType, MemoryType, Mutability, TableType, TagType};
use crate::values::{Ref, Val};
use crate::vm::{GlobalPtr, HostMemory, HostTable, MemoryPtr, TablePtr, TagPtr};

/// Any importable or exportable item.
#[derive(Debug, Clone, Copy)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A tag (exception handling).
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The item's current type (tables and memories report their current size
    /// as minimum, as import matching requires).
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(&store)),
            Extern::Global(g) => ExternType::Global(g.ty(&store)),
            Extern::Tag(t) => ExternType::Tag(t.ty(&store)),
            Extern::Table(t) => ExternType::Table(t.ty(&store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(&store)),
        }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        match self {
            Extern::Func(f) => f.store,
            Extern::Global(g) => g.ptr.owner(),
            Extern::Tag(t) => t.ptr.owner(),
            Extern::Table(t) => t.ptr.owner(),
            Extern::Memory(m) => m.ptr.owner(),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}

/// A tag: what an exception is thrown with, and what handlers catch. Two
/// tags are the same tag only if they are the same definition: two
/// instances of a module define different tags of the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) ptr: TagPtr,
}

impl Tag {
    /// A new tag of type `ty`, owned by `store`.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        let store = &mut store.as_context_mut().0.opaque;
        if ty.ty().results().len() != 0 {
            return Err(Error::msg("a tag's type has no results"));
        }
        let type_id = ty.ty().type_id(&store.engine)?;
        let mut def = Box::new(VMTagDefinition {
            type_id: type_id.as_u32(),
        });
        let ptr = TagPtr::new(store.id, std::ptr::NonNull::from(&mut *def));
        store.tags.push(def);
        Ok(Tag { ptr })
    }

    /// The tag's type.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        TagType::new(crate::FuncType::from_registry(
            &store.engine,
            self.ptr.type_id(store),
        ))
    }

    /// Whether `a` and `b` are the same tag (as Wasmtime's `Tag::eq`).
    pub fn eq(a: &Tag, b: &Tag, _store: impl AsContext) -> bool {
        a == b
    }
}

/// A global variable.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub(crate) ptr: GlobalPtr,
    /// The type, in engine form.
    pub(crate) ty: hayate_environ::GlobalType,
}

impl Global {
    /// A new global of type `ty` holding `val`.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        let content = ty.content().to_env(&store.engine)?;
        if !val.matches(store, content) {
            return Err(Error::msg(format!(
                "global of type {} initialised with a {}",
                ty.content(),
                val.ty()
            )));
        }
        let raw = val.to_raw(store)?;
        let mut def = Box::new(VMGlobalDefinition::default());
        let n = content.byte_width();
        def.bytes[..n].copy_from_slice(&raw.bytes[..n]);
        let ptr = GlobalPtr::new(store.id, std::ptr::NonNull::from(&mut *def));
        store.globals.push(def);
        let ty = hayate_environ::GlobalType {
            content,
            mutable: ty.mutability() == Mutability::Var,
        };
        Ok(Global { ptr, ty })
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        GlobalType::from_env(&store.as_context().0.opaque.engine, self.ty)
    }

    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let ctx = store.as_context();
        let raw = self.ptr.get(&ctx.0.opaque);
        ctx.0.opaque.pin_if_gc(self.ty.content, raw);
        Val::from_raw(raw, self.ty.content, self.ptr.owner())
    }

    /// Sets the value; fails for immutable globals and type mismatches.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.ptr.owner())?;
        if !self.ty.mutable {
            return Err(Error::msg("cannot set an immutable global"));
        }
        if !val.matches(store, self.ty.content) {
            return Err(Error::msg(format!(
                "global of type {} set to a {}",
                crate::ValType::from_env(&store.engine, self.ty.content),
                val.ty()
            )));
        }
        let raw = val.to_raw(store)?;
        self.ptr.set(store, raw, self.ty.content.byte_width());
        Ok(())
    }
}

/// A linear memory.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub(crate) ptr: MemoryPtr,
    pub(crate) ty: hayate_environ::MemoryType,
}

impl Memory {
    /// A new memory of type `ty`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let inner = store.as_context_mut().0;
        inner.admit_memory(&ty.inner)?;
        let store = &mut inner.opaque;
        let mut host = HostMemory::new(&store.engine, &ty.inner)?;
        let ptr = host.export(store.id);
        store.memories.push(host);
        Ok(Memory { ptr, ty: ty.inner })
    }

    /// The type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let mut ty = self.ty;
        ty.minimum = self.size(store);
        MemoryType { inner: ty }
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.data(store.as_context()).len() as u64 / hayate_environ::WASM_PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.data(store.as_context()).len()
    }

    /// The memory's contents.
    pub fn data<'a, T: 'static>(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8] {
        self.ptr.data(&store.into().0.opaque)
    }

    /// The memory's contents, mutably.
    pub fn data_mut<'a, T: 'static>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        self.ptr.data_mut(&mut store.into().0.opaque)
    }

    /// The memory's contents and the store's data, both mutably and at
    /// once. A host function that reads guest buffers while it updates its
    /// own state (as WASI does on every call) needs the two together; the
    /// memory's bytes never live inside `T`, so the borrows are disjoint.
    pub fn data_and_store_mut<'a, T: 'static>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        (self.ptr.data_mut(&mut store.opaque), &mut store.data)
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        let data = self.data(store.as_context());
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| Error::msg("out of bounds memory access"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buf` into memory at `offset`.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        let data = self.data_mut(store.as_context_mut());
        let dst = offset
            .checked_add(buf.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or_else(|| Error::msg("out of bounds memory access"))?;
        dst.copy_from_slice(buf);
        Ok(())
    }

    /// Grows by `delta` pages; returns the old size in pages. Fails if the
    /// memory cannot grow that much (the limiter refused, the maximum, the
    /// system); when the limiter allowed a growth that then failed, with
    /// the error of its [`ResourceLimiter::memory_grow_failed`](crate::ResourceLimiter::memory_grow_failed)
    /// if it returned one.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let inner = store.as_context_mut().0;
        inner.opaque.check(self.ptr.owner())?;
        self.ptr
            .grow(inner, delta)?
            .ok_or_else(|| Error::msg(format!("failed to grow memory by {delta} pages")))
    }
}

/// A table of references.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub(crate) ptr: TablePtr,
}

impl Table {
    /// A new table of type `ty` with every element `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Ref) -> Result<Table> {
        let inner = store.as_context_mut().0;
        inner.admit_table(ty.minimum(), ty.maximum())?;
        let store = &mut inner.opaque;
        let ty = ty.to_env(&store.engine)?;
        if !init.matches(store, ty.element) {
            return Err(Error::msg("table initial value has the wrong type"));
        }
        let raw = init.to_raw(store)?;
        let mut table = HostTable::new(ty, raw)?;
        let ptr = table.export(store.id);
        store.tables.push(table);
        Ok(Table { ptr })
    }

    /// The type, with the current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let store = &store.as_context().0.opaque;
        let mut ty = self.ptr.ty(store);
        ty.minimum = self.ptr.size(store);
        TableType::from_env(&store.engine, ty)
    }

    /// Current number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.ptr.size(&store.as_context().0.opaque)
    }

    /// Element `index`, or `None` if out of bounds. Takes the store
    /// mutably, as in Wasmtime: a funcref table's elements are
    /// initialised lazily, on first read.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = &mut store.as_context_mut().0.opaque;
        let raw = self.ptr.get(store, index)?;
        let element = self.ptr.ty(store).element;
        store.pin_if_gc(hayate_environ::WasmValType::Ref(element), ValRaw::ptr(raw));
        Some(Ref::from_raw(raw, element, self.ptr.owner()))
    }

    /// Sets element `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Ref) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.ptr.owner())?;
        self.check_elem(store, &value)?;
        let raw = value.to_raw(store)?;
        if self.ptr.set(store, index, raw) {
            Ok(())
        } else {
            Err(Error::msg("table index out of bounds"))
        }
    }

    /// Grows by `delta` elements set to `init`; returns the old size. Fails
    /// as [`Memory::grow`] does, with the error of
    /// [`ResourceLimiter::table_grow_failed`](crate::ResourceLimiter::table_grow_failed)
    /// if it returned one.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Ref) -> Result<u64> {
        let inner = store.as_context_mut().0;
        inner.opaque.check(self.ptr.owner())?;
        self.check_elem(&inner.opaque, &init)?;
        let raw = init.to_raw(&inner.opaque)?;
        self.ptr
            .grow(inner, delta, raw)?
            .ok_or_else(|| Error::msg(format!("failed to grow table by {delta} elements")))
    }

    fn check_elem(&self, store: &StoreOpaque, value: &Ref) -> Result<()> {
        if !value.matches(store, self.ptr.ty(store).element) {
            return Err(Error::msg("reference of the wrong type for this table"));
        }
        Ok(())
    }
}

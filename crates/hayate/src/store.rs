//! `Store<T>`: owns every instance, host function, memory, table, global and
//! external reference created in it, plus the embedder's data `T`. Handles
//! (`Func`, `Memory`, ...) are only valid with the store that made them.
//! The context traits let APIs take a `Store`, a `&mut Store`, or a `Caller`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use hayate_runtime::{
    HostFunc, Instance as RtInstance, Table as RtTable, VMGlobalDefinition, VMRuntimeLimits,
    VMStore, VMTableDefinition,
};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::func::Caller;
use crate::vm::HostMemory;

/// Identifies a store, so handles from another store are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(hidden)]
pub struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A collection of instances and the host objects they use, with data `T`.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
}

/// The part of a store that does not depend on `T`.
#[doc(hidden)]
pub struct StoreOpaque {
    pub(crate) engine: Engine,
    pub(crate) id: StoreId,
    // Boxed: VMContexts and compiled code hold pointers to these, so they
    // must not move when the vector grows.
    #[allow(clippy::vec_box)]
    pub(crate) instances: Vec<Box<RtInstance>>,
    pub(crate) host_funcs: Vec<HostFunc>,
    pub(crate) memories: Vec<HostMemory>,
    pub(crate) tables: Vec<(Box<RtTable>, Box<VMTableDefinition>)>,
    #[allow(clippy::vec_box)]
    pub(crate) globals: Vec<Box<VMGlobalDefinition>>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    pub(crate) limits: Box<VMRuntimeLimits>,
}

impl StoreOpaque {
    pub(crate) fn check(&self, id: StoreId) -> Result<()> {
        if self.id == id {
            Ok(())
        } else {
            Err(Error::msg("object used with the wrong store"))
        }
    }
}

impl<T: 'static> Store<T> {
    /// Creates a store in `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    engine: engine.clone(),
                    id: StoreId::fresh(),
                    instances: Vec::new(),
                    host_funcs: Vec::new(),
                    memories: Vec::new(),
                    tables: Vec::new(),
                    globals: Vec::new(),
                    externrefs: Vec::new(),
                    limits: Box::default(),
                },
                data,
            }),
        }
    }
}

impl<T> Store<T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store, returning its data.
    pub fn into_data(self) -> T {
        self.inner.data
    }

    /// The engine of this store.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }
}

impl<T: 'static> VMStore for StoreInner<T> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn memory_growing(&mut self, _current: usize, _desired: usize, _max: Option<usize>) -> bool {
        true
    }

    fn table_growing(&mut self, _current: u64, _desired: u64, _max: Option<u64>) -> bool {
        true
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
}

/// Something that can lend a store's contents.
pub trait AsContext {
    /// The store's data type.
    type Data: 'static;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that can lend a store's contents mutably.
pub trait AsContextMut: AsContext {
    /// Borrows the store mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T: 'static> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T: 'static> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T: 'static> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T: 'static> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T: 'static> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<T: 'static> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

impl<'a, T: 'static> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T: 'static> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T: 'static> From<&'a Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T: 'static> From<&'a mut Caller<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContext(c.store)
    }
}

impl<'a, T: 'static> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContextMut(&mut s.inner)
    }
}

impl<'a, T: 'static> From<&'a mut Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut Caller<'_, T>) -> Self {
        StoreContextMut(c.store)
    }
}

impl<T: 'static> AsContext for StoreInner<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self)
    }
}

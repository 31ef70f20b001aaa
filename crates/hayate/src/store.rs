//! `Store<T>`: owns every instance, host function, memory, table, global and
//! external reference created in it, plus the embedder's data `T`. Handles
//! (`Func`, `Memory`, ...) are only valid with the store that made them.
//! The context traits let APIs take a `Store`, a `&mut Store`, or a `Caller`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use hayate_runtime::{
    HostFunc, HostState, Instance as RtInstance, VMGlobalDefinition, VMRuntimeLimits, VMStore,
    ValRaw,
};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::func::Caller;
use crate::limits::{ResourceLimiter, UpdateDeadline};
use crate::vm::{HostMemory, HostTable};

/// Identifies a store, so handles from another store are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(hidden)]
pub struct StoreId(u64);

impl StoreId {
    /// A store id never given out before. Threads take ids in blocks, so
    /// that threads making stores at once do not all write one shared
    /// counter (its cache line would bounce between their cores).
    fn fresh() -> StoreId {
        const BLOCK: u64 = 1024;
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static NEXT: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
        }
        NEXT.with(|next| {
            let (mut id, mut end) = next.get();
            if id == end {
                id = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = id + BLOCK;
            }
            next.set((id + 1, end));
            StoreId(id)
        })
    }
}

/// A collection of instances and the host objects they use, with data `T`.
///
/// `Store<T>` is `Send` when `T` is, as in Wasmtime: a worker pool may hand
/// a store (with its `Func`s, `Memory`s and other handles) to another
/// thread between calls. Each call sets its stack limit from the thread it
/// runs on.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) limiter: Option<LimiterFn<T>>,
    pub(crate) epoch_callback: Option<EpochCallback<T>>,
    /// Called at every host/Wasm transition when set (`Store::call_hook`).
    pub(crate) call_hook: Option<CallHookFn<T>>,
    pub(crate) data: T,
}

type LimiterFn<T> = Box<dyn FnMut(&mut T) -> &mut (dyn ResourceLimiter) + Send + Sync>;
type CallHookFn<T> = Box<dyn FnMut(StoreContextMut<'_, T>, CallHook) -> Result<()> + Send + Sync>;
type EpochCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync>;

/// The part of a store that does not depend on `T`.
#[doc(hidden)]
pub struct StoreOpaque {
    pub(crate) id: StoreId,
    // Boxed: VMContexts and compiled code hold pointers to these, so they
    // must not move when the vector grows.
    #[allow(clippy::vec_box)]
    pub(crate) instances: Vec<Box<RtInstance>>,
    pub(crate) host_funcs: Vec<HostFunc>,
    pub(crate) memories: Vec<HostMemory>,
    pub(crate) tables: Vec<HostTable>,
    #[allow(clippy::vec_box)]
    pub(crate) globals: Vec<Box<VMGlobalDefinition>>,
    /// Tags made by the host (`Tag::new`), boxed: a tag's identity is its
    /// definition's address, which must not move.
    #[allow(clippy::vec_box)]
    pub(crate) tags: Vec<Box<hayate_runtime::VMTagDefinition>>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    /// Exception objects.
    pub(crate) exceptions: hayate_runtime::exceptions::ExceptionHeap,
    /// Structures and arrays (GC).
    pub(crate) gc: hayate_runtime::gc::GcHeap,
    pub(crate) limits: Box<VMRuntimeLimits>,
    /// Memories and tables created so far (by instances and the host).
    pub(crate) memory_count: usize,
    pub(crate) table_count: usize,
    /// Declared last, so dropped last: the instances' memories, tables
    /// and VMContexts go back to the engine's instance allocator through
    /// pointers to it (`hayate_runtime::Instance::new`).
    pub(crate) engine: Engine,
}

impl StoreOpaque {
    /// Keeps alive the GC object `raw` names, if a value of type `ty` may
    /// name one: the host is being handed the value (see
    /// `hayate_runtime::gc::GcHeap::pin`).
    pub(crate) fn pin_if_gc(&self, ty: hayate_environ::WasmValType, raw: ValRaw) {
        if ty.may_hold_gc() {
            self.gc.pin(raw.get_ptr() as usize);
        }
    }

    #[inline]
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
                    tags: Vec::new(),
                    externrefs: Vec::new(),
                    exceptions: Default::default(),
                    gc: {
                        let mut heap = hayate_runtime::gc::GcHeap::default();
                        heap.set_stress(engine.config().gc_stress);
                        heap
                    },
                    limits: Box::new(VMRuntimeLimits {
                        epoch_deadline: 0.into(),
                        ..VMRuntimeLimits::default()
                    }),
                    memory_count: 0,
                    table_count: 0,
                },
                limiter: None,
                epoch_callback: None,
                call_hook: None,
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

    /// Installs a resource limiter, found in the store's data by `limiter`.
    pub fn limiter(
        &mut self,
        limiter: impl FnMut(&mut T) -> &mut (dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        self.inner.limiter = Some(Box::new(limiter));
    }

    /// Sets the fuel left (needs `Config::consume_fuel`).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The fuel left (needs `Config::consume_fuel`).
    pub fn get_fuel(&self) -> Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// Interrupts Wasm once the engine's epoch is `ticks` past its current value.
    #[inline]
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.inner.opaque.set_epoch_deadline(ticks)
    }

    /// Installs `hook`, called at every transition between host and
    /// WebAssembly code in this store: when the host calls a Wasm function
    /// ([`Func::call`](crate::Func::call),
    /// [`TypedFunc::call`](crate::TypedFunc::call), a start function) and
    /// when it returns (also after a trap), and around every host function
    /// Wasm calls. Useful to account time spent in the guest, or to stop it.
    ///
    /// An error from the hook aborts the transition with that error: the
    /// call does not start (`CallingWasm`), fails even though Wasm returned
    /// (`ReturningFromWasm`, where the hook's error replaces a trap), or,
    /// for `CallingHost`/`ReturningFromHost`, Wasm stops as if the host
    /// function had failed with it. Without a hook each call pays a single
    /// branch.
    pub fn call_hook(
        &mut self,
        hook: impl FnMut(StoreContextMut<'_, T>, CallHook) -> Result<()> + Send + Sync + 'static,
    ) {
        self.inner.call_hook = Some(Box::new(hook));
    }

    /// Reaching the epoch deadline traps with `Trap::Interrupt` (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.epoch_callback = None;
    }

    /// Reaching the epoch deadline calls `callback`, which either returns a
    /// new deadline or an error that stops the guest.
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync + 'static,
    ) {
        self.inner.epoch_callback = Some(Box::new(callback));
    }
}

/// A transition between host and Wasm code, as passed to the hook of
/// [`Store::call_hook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallHook {
    /// The host is calling a WebAssembly function.
    CallingWasm,
    /// A WebAssembly function is returning to the host.
    ReturningFromWasm,
    /// WebAssembly is calling a host function.
    CallingHost,
    /// A host function is returning to WebAssembly.
    ReturningFromHost,
}

impl CallHook {
    /// Whether the transition enters host code (leaves WebAssembly).
    pub fn entering_host(&self) -> bool {
        matches!(self, CallHook::ReturningFromWasm | CallHook::CallingHost)
    }

    /// Whether the transition leaves host code (enters WebAssembly).
    pub fn exiting_host(&self) -> bool {
        matches!(self, CallHook::ReturningFromHost | CallHook::CallingWasm)
    }
}

impl StoreOpaque {
    fn fuel_enabled(&self) -> Result<()> {
        if self.engine.config().tunables.consume_fuel {
            Ok(())
        } else {
            Err(Error::msg(
                "fuel is not enabled: use `Config::consume_fuel(true)`",
            ))
        }
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.fuel_enabled()?;
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        self.limits.set_fuel_consumed(-fuel);
        Ok(())
    }

    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.fuel_enabled()?;
        Ok(u64::try_from(-self.limits.fuel_consumed().min(0)).unwrap_or(0))
    }

    #[inline]
    pub(crate) fn set_epoch_deadline(&mut self, ticks: u64) {
        let deadline = self.engine.current_epoch().saturating_add(ticks);
        self.limits.set_epoch_deadline(deadline);
    }
}

impl<T: 'static> StoreInner<T> {
    /// Runs the call hook, if any, for `transition`.
    pub(crate) fn invoke_call_hook(&mut self, transition: CallHook) -> Result<()> {
        let Some(mut hook) = self.call_hook.take() else {
            return Ok(());
        };
        let result = hook(StoreContextMut(self), transition);
        // The hook may have installed another one meanwhile: keep the newer.
        if self.call_hook.is_none() {
            self.call_hook = Some(hook);
        }
        result
    }

    /// The installed limiter, if any.
    pub(crate) fn limiter_mut(&mut self) -> Option<&mut dyn ResourceLimiter> {
        let f = self.limiter.as_mut()?;
        Some(f(&mut self.data))
    }

    /// Checks a new memory of type `ty` (its minimum and maximum, in bytes)
    /// against the limiter.
    pub(crate) fn admit_memory(&mut self, ty: &hayate_environ::MemoryType) -> Result<()> {
        let page = hayate_environ::WASM_PAGE_SIZE;
        let bytes = usize::try_from(ty.minimum.saturating_mul(page)).unwrap_or(usize::MAX);
        let max = ty
            .maximum
            .and_then(|m| usize::try_from(m.saturating_mul(page)).ok());
        let count = self.opaque.memory_count;
        if let Some(l) = self.limiter_mut() {
            if count >= l.memories() {
                return Err(Error::msg(format!(
                    "resource limit exceeded: memory count too high at {count}"
                )));
            }
            if !l.memory_growing(0, bytes, max)? {
                return Err(Error::msg(format!(
                    "resource limit exceeded: memory minimum size of {bytes} bytes exceeds the store's limit"
                )));
            }
        }
        self.opaque.memory_count += 1;
        Ok(())
    }

    /// Checks a new table of `elements` (maximum `max`) against the limiter.
    pub(crate) fn admit_table(&mut self, elements: u64, max: Option<u64>) -> Result<()> {
        let count = self.opaque.table_count;
        if let Some(l) = self.limiter_mut() {
            if count >= l.tables() {
                return Err(Error::msg(format!(
                    "resource limit exceeded: table count too high at {count}"
                )));
            }
            if !l.table_growing(0, elements, max)? {
                return Err(Error::msg(format!(
                    "resource limit exceeded: table minimum size of {elements} elements exceeds the store's limit"
                )));
            }
        }
        self.opaque.table_count += 1;
        Ok(())
    }

    /// Checks that one more instance fits.
    pub(crate) fn admit_instance(&mut self) -> Result<()> {
        let count = self.opaque.instances.len();
        let max = self
            .limiter_mut()
            .map_or(crate::limits::DEFAULT_INSTANCE_LIMIT, |l| l.instances());
        if count >= max {
            return Err(Error::msg(format!(
                "resource limit exceeded: instance count too high at {count}"
            )));
        }
        Ok(())
    }
}

impl<T: 'static> VMStore for StoreInner<T> {
    fn call_host(
        &mut self,
        host: &HostState,
        caller: Option<usize>,
        values: &mut [ValRaw],
    ) -> Result<(), hayate_runtime::HostError> {
        crate::func::call_host(self, host, caller, values)
            .map_err(|e| crate::vm::to_host_error(&self.opaque, e))
    }

    fn memory_growing(&mut self, current: usize, desired: usize, max: Option<usize>) -> bool {
        match self.limiter_mut() {
            // A limiter error refuses the growth, like `false`.
            Some(l) => l.memory_growing(current, desired, max).unwrap_or(false),
            None => true,
        }
    }

    fn table_growing(&mut self, current: u64, desired: u64, max: Option<u64>) -> bool {
        match self.limiter_mut() {
            Some(l) => l.table_growing(current, desired, max).unwrap_or(false),
            None => true,
        }
    }

    fn memory_grow_failed(&mut self, reason: &str) -> Result<(), hayate_runtime::HostError> {
        match self.limiter_mut() {
            Some(l) => l
                .memory_grow_failed(Error::msg(reason.to_string()))
                .map_err(|e| Box::new(e) as hayate_runtime::HostError),
            None => Ok(()),
        }
    }

    fn table_grow_failed(&mut self, reason: &str) -> Result<(), hayate_runtime::HostError> {
        match self.limiter_mut() {
            Some(l) => l
                .table_grow_failed(Error::msg(reason.to_string()))
                .map_err(|e| Box::new(e) as hayate_runtime::HostError),
            None => Ok(()),
        }
    }

    fn gc_roots(&mut self, f: &mut dyn FnMut(usize)) {
        let store = &self.opaque;
        store.instances.iter().for_each(|i| i.visit_gc_roots(f));
        store.tables.iter().for_each(|t| t.visit_words(f));
        for g in &store.globals {
            f(usize::from_le_bytes(
                g.bytes[..8].try_into().expect("8 bytes"),
            ));
        }
        store.exceptions.visit_payload_words(f);
        store.gc.visit_pinned(f);
    }

    fn gc_layout(&self, type_id: u32) -> hayate_runtime::gc::GcLayout {
        use hayate_environ::{CompositeType, StorageType};
        let traced = |s: StorageType| matches!(s, StorageType::Val(v) if v.may_hold_gc());
        let id = hayate_environ::VMSharedTypeIndex::from_u32(type_id);
        match &self.opaque.engine.sub_type(id).composite {
            CompositeType::Struct(st) => {
                let (offsets, _) = st.layout();
                hayate_runtime::gc::GcLayout::Struct(
                    st.fields
                        .iter()
                        .zip(offsets)
                        .filter(|(f, _)| traced(f.storage))
                        .map(|(_, o)| o)
                        .collect(),
                )
            }
            CompositeType::Array(a) => hayate_runtime::gc::GcLayout::Array {
                element_size: a.element.storage.byte_size(),
                refs: traced(a.element.storage),
            },
            CompositeType::Func(_) => hayate_runtime::gc::GcLayout::Struct(Vec::new()),
        }
    }

    fn gc_heap(&mut self) -> &mut hayate_runtime::gc::GcHeap {
        &mut self.opaque.gc
    }

    fn is_subtype(
        &self,
        actual: hayate_environ::VMSharedTypeIndex,
        expected: hayate_environ::VMSharedTypeIndex,
    ) -> bool {
        self.opaque.engine.is_subtype(actual, expected)
    }

    fn exceptions(&mut self) -> &mut hayate_runtime::exceptions::ExceptionHeap {
        &mut self.opaque.exceptions
    }

    fn out_of_fuel(&mut self) -> bool {
        false
    }

    fn epoch_deadline_reached(&mut self) -> Result<bool, hayate_runtime::HostError> {
        let Some(mut callback) = self.epoch_callback.take() else {
            return Ok(false);
        };
        let result = callback(StoreContextMut(self));
        self.epoch_callback = Some(callback);
        match result {
            Ok(UpdateDeadline::Continue(ticks)) => {
                self.opaque.set_epoch_deadline(ticks);
                Ok(true)
            }
            Err(e) => Err(Box::new(e) as hayate_runtime::HostError),
        }
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
    /// Sets the fuel left (needs `Config::consume_fuel`).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.0.opaque.set_fuel(fuel)
    }
    /// The fuel left (needs `Config::consume_fuel`).
    pub fn get_fuel(&self) -> Result<u64> {
        self.0.opaque.get_fuel()
    }
    /// Interrupts Wasm once the engine's epoch is `ticks` past its current value.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.0.opaque.set_epoch_deadline(ticks)
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

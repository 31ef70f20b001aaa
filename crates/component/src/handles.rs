//! The run-time state of one component instance: whether it may be
//! entered, its handle table (the `own` and `borrow` handles its core
//! code holds, by index), and the resource types its definitions and
//! imports bound. Lifting and lowering handles, and the `resource.new`,
//! `resource.drop` and `resource.rep` built-ins, follow the canonical
//! ABI's definitions (`lift_own`, `lift_borrow`, `lower_own`,
//! `lower_borrow`, `canon_resource_*`).
//!
//! A guest chooses every index it passes, so each access is checked
//! (index 0, freed and never-allocated indices, the wrong type, an owned
//! handle while it is lent) and fails without changing the table. The
//! table holds at most [`MAX_HANDLES`] handles, so a guest cannot make the
//! host allocate without bound by creating resources in a loop.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::{Context, Result, bail, ensure};
use hayate::{Caller, StoreContextMut};

use crate::resources::{ResourceAny, RuntimeResource};
use crate::values::Val;

/// The most handles one component instance may hold at once.
pub const MAX_HANDLES: usize = 1 << 20;

/// One handle: a resource's representation, of a type, owned or borrowed.
struct Handle {
    resource: Arc<RuntimeResource>,
    rep: u32,
    own: bool,
    /// Calls in progress that borrowed this handle (an owned one cannot
    /// be dropped or passed on meanwhile).
    lends: u32,
}

/// The handle table: index 0 is never valid; freed indices are reused
/// last-freed first, as the spec requires.
struct HandleTable {
    slots: Vec<Option<Handle>>,
    free: Vec<u32>,
}

impl HandleTable {
    fn get(&mut self, index: u32) -> Result<&mut Handle> {
        match self.slots.get_mut(index as usize) {
            Some(Some(h)) => Ok(h),
            _ => bail!("unknown handle index {index}"),
        }
    }

    fn add(&mut self, handle: Handle) -> Result<u32> {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(handle);
            return Ok(i);
        }
        ensure!(
            self.slots.len() < MAX_HANDLES,
            "the component instance holds {MAX_HANDLES} handles, the most it may"
        );
        self.slots.push(Some(handle));
        Ok((self.slots.len() - 1) as u32)
    }

    fn remove(&mut self, index: u32) -> Handle {
        let handle = self.slots[index as usize].take().expect("checked by get");
        self.free.push(index);
        handle
    }
}

/// One component instance's run-time state, shared by its lifted and
/// lowered functions and its resource built-ins.
pub(crate) struct InstanceState {
    /// Running one of its exports (the spec's `may_enter`, inverted).
    entered: AtomicBool,
    /// A call into it failed: it may not be entered again.
    poisoned: AtomicBool,
    /// Borrow handles given to the call in progress and not yet dropped
    /// (outside the table's lock: every call reads it).
    borrows: AtomicU32,
    table: Mutex<HandleTable>,
    /// Resource types by the component's resource index, bound as
    /// instantiation reaches their definitions and imports.
    pub resources: Box<[OnceLock<Arc<RuntimeResource>>]>,
}

impl InstanceState {
    pub(crate) fn new(resources: u32) -> Arc<InstanceState> {
        Arc::new(InstanceState {
            entered: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            borrows: AtomicU32::new(0),
            table: Mutex::new(HandleTable {
                slots: vec![None],
                free: Vec::new(),
            }),
            resources: (0..resources).map(|_| OnceLock::new()).collect(),
        })
    }

    fn table(&self) -> MutexGuard<'_, HandleTable> {
        // A panic while the table was held left it consistent (every
        // operation checks before it changes anything).
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource type bound to resource index `index`.
    pub(crate) fn resource(&self, index: u32) -> Result<&Arc<RuntimeResource>> {
        self.resources
            .get(index as usize)
            .and_then(OnceLock::get)
            .with_context(|| format!("resource type {index} is not bound yet"))
    }

    /// Enters the instance for a call into it: refused while it runs (a
    /// component instance is not re-entrant) or after a call into it
    /// failed.
    pub(crate) fn enter(&self) -> Result<()> {
        ensure!(
            !self.poisoned.load(Ordering::Acquire),
            "cannot enter a component instance after a call into it trapped"
        );
        if self.entered.swap(true, Ordering::Acquire) {
            bail!("cannot enter a component instance that is already running (re-entrance)");
        }
        self.borrows.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Leaves the instance; a failed call poisons it (its state may be
    /// inconsistent, as after a trap).
    pub(crate) fn leave(&self, ok: bool) {
        if !ok {
            self.poisoned.store(true, Ordering::Release);
        }
        self.entered.store(false, Ordering::Release);
    }

    /// At the end of a call into the instance: every borrow it was given
    /// must have been dropped.
    pub(crate) fn check_borrows_returned(&self) -> Result<()> {
        let n = self.borrows.load(Ordering::Relaxed);
        ensure!(
            n == 0,
            "borrow handles still remain at the end of the call ({n} not dropped)"
        );
        Ok(())
    }

    /// `lift_own`: takes the owned handle `index` of resource `res` out
    /// of the table.
    pub(crate) fn lift_own(&self, index: u32, res: u32) -> Result<Val> {
        let expected = self.resource(res)?;
        let mut table = self.table();
        let h = table.get(index)?;
        expected.check(h.resource.ty, index)?;
        ensure!(
            h.own,
            "handle index {index} is a borrow where an own is expected"
        );
        ensure!(
            h.lends == 0,
            "cannot remove owned resource while borrowed (handle index {index})"
        );
        let h = table.remove(index);
        Ok(Val::Resource(ResourceAny::new(
            h.resource.ty,
            Some(h.resource),
            h.rep,
            true,
        )))
    }

    /// `lift_borrow`: lends handle `index` of resource `res` for the call
    /// in progress; the caller records `index` and calls
    /// [`InstanceState::end_lend`] when the call ends.
    pub(crate) fn lift_borrow(&self, index: u32, res: u32) -> Result<Val> {
        let expected = self.resource(res)?;
        let mut table = self.table();
        let h = table.get(index)?;
        expected.check(h.resource.ty, index)?;
        h.lends = h.lends.checked_add(1).context("too many lends")?;
        Ok(Val::Resource(ResourceAny::new(
            h.resource.ty,
            Some(h.resource.clone()),
            h.rep,
            false,
        )))
    }

    /// Ends a lend [`InstanceState::lift_borrow`] began.
    pub(crate) fn end_lend(&self, index: u32) {
        if let Ok(h) = self.table().get(index) {
            h.lends = h.lends.saturating_sub(1);
        }
    }

    /// `lower_own` and `lower_borrow`: gives handle `val` of resource
    /// `res` to this instance, returning its index (or, for a borrow of a
    /// type this instance implements, the representation).
    pub(crate) fn lower(self: &Arc<Self>, val: &Val, res: u32, own: bool) -> Result<u32> {
        let Val::Resource(any) = val else {
            bail!("expected a resource handle, found {val:?}");
        };
        let resource = self.resource(res)?;
        ensure!(
            any.ty() == resource.ty,
            "a handle of another resource type where the callee expects its own"
        );
        if own {
            ensure!(
                any.owned(),
                "a borrowed handle where an owned one is expected"
            );
            any.spend()?;
        } else if resource.implemented_by(self) {
            return Ok(any.rep());
        }
        let mut table = self.table();
        let index = table.add(Handle {
            resource: resource.clone(),
            rep: any.rep(),
            own,
            lends: 0,
        })?;
        if !own {
            self.borrows.fetch_add(1, Ordering::Relaxed);
        }
        Ok(index)
    }
}

/// The one `i32` argument of a resource built-in.
fn arg(args: &[hayate::Val]) -> Result<u32> {
    Ok(args
        .first()
        .and_then(hayate::Val::i32)
        .context("an i32 argument")? as u32)
}

/// `canon resource.new`: a core function making an owned handle of
/// resource `res` from a representation.
pub(crate) fn resource_new<T: 'static>(
    store: StoreContextMut<'_, T>,
    ty: hayate::FuncType,
    instance: Arc<InstanceState>,
    res: u32,
) -> hayate::Func {
    hayate::Func::new(store, ty, move |_: Caller<'_, T>, args, results| {
        let rep = arg(args)?;
        let resource = instance.resource(res)?.clone();
        let index = instance.table().add(Handle {
            resource,
            rep,
            own: true,
            lends: 0,
        })?;
        results[0] = hayate::Val::I32(index as i32);
        Ok(())
    })
}

/// `canon resource.rep`: a core function giving the representation of a
/// handle of resource `res` (a type the instance defines).
pub(crate) fn resource_rep<T: 'static>(
    store: StoreContextMut<'_, T>,
    ty: hayate::FuncType,
    instance: Arc<InstanceState>,
    res: u32,
) -> hayate::Func {
    hayate::Func::new(store, ty, move |_: Caller<'_, T>, args, results| {
        let index = arg(args)?;
        let expected = instance.resource(res)?;
        let mut table = instance.table();
        let h = table.get(index)?;
        expected.check(h.resource.ty, index)?;
        results[0] = hayate::Val::I32(h.rep as i32);
        Ok(())
    })
}

/// `canon resource.drop`: a core function dropping a handle of resource
/// `res`; dropping an owned one runs the type's destructor.
pub(crate) fn resource_drop<T: 'static>(
    store: StoreContextMut<'_, T>,
    ty: hayate::FuncType,
    instance: Arc<InstanceState>,
    res: u32,
) -> hayate::Func {
    hayate::Func::new(store, ty, move |mut caller: Caller<'_, T>, args, _| {
        let index = arg(args)?;
        let expected = instance.resource(res)?;
        let handle = {
            let mut table = instance.table();
            let h = table.get(index)?;
            expected.check(h.resource.ty, index)?;
            ensure!(
                h.lends == 0,
                "cannot remove owned resource while borrowed (handle index {index})"
            );
            let h = table.remove(index);
            if !h.own {
                let _ = instance
                    .borrows
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
            }
            h
        };
        if handle.own {
            let store = hayate::AsContextMut::as_context_mut(&mut caller);
            handle
                .resource
                .destroy(store, handle.rep, Some(&instance))?;
        }
        Ok(())
    })
}

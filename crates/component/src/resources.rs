//! Resource types and handles as the host sees them: [`ResourceType`]
//! (the identity of a resource type: a host Rust type, or one made by a
//! guest's `(type (resource ...))` each time its component is
//! instantiated), [`Resource<T>`] (a typed handle to a host resource,
//! carrying the host's 32-bit representation) and [`ResourceAny`] (any
//! handle, as dynamic calls see it). The per-instance handle tables the
//! guest indexes live in `handles.rs`; the host's own table of resource
//! values is [`ResourceTable`](crate::ResourceTable).

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use anyhow::{Context, Result, bail, ensure};
use hayate::{AsContextMut, StoreContextMut};

use crate::handles::InstanceState;
use crate::typed::ComponentType;
use crate::types::Type;
use crate::values::Val;

/// The identity of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceType(Identity);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Identity {
    /// A resource the host implements, named by a Rust type.
    Host(TypeId),
    /// A resource a guest defined, one per instantiation of the
    /// definition.
    Guest(u64),
}

impl ResourceType {
    /// The resource type the host implements with Rust type `T` (the type
    /// only names it: values live wherever the host keeps them, usually a
    /// [`ResourceTable`](crate::ResourceTable)).
    pub fn host<T: 'static>() -> ResourceType {
        ResourceType(Identity::Host(TypeId::of::<T>()))
    }

    /// A fresh guest-defined resource type.
    pub(crate) fn fresh_guest() -> ResourceType {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        ResourceType(Identity::Guest(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    fn describe(&self) -> &'static str {
        match self.0 {
            Identity::Host(_) => "host-defined resource",
            Identity::Guest(_) => "guest-defined resource",
        }
    }
}

/// A host destructor, called with the representation of an owned handle
/// the guest dropped: an `Arc<HostDtor<T>>` for the store's `T`.
pub(crate) type HostDtor<T> = dyn Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync;

/// A resource type as one component instance knows it: its identity,
/// who implements it and what destroys it.
pub(crate) struct RuntimeResource {
    pub ty: ResourceType,
    /// For a guest-defined type, the instance that defined it.
    pub implementer: Option<Weak<InstanceState>>,
    /// For a guest-defined type, its `dtor` core function.
    pub guest_dtor: Option<hayate::Func>,
    /// For a host type, the destructor the linker was given.
    pub host_dtor: Option<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for RuntimeResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeResource")
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
}

impl RuntimeResource {
    /// A host resource type with destructor `dtor`.
    pub(crate) fn host<T: 'static>(ty: ResourceType, dtor: Arc<HostDtor<T>>) -> RuntimeResource {
        RuntimeResource {
            ty,
            implementer: None,
            guest_dtor: None,
            host_dtor: Some(Box::new(dtor)),
        }
    }

    /// Whether `instance` implements this type (then its borrows pass the
    /// representation itself).
    pub(crate) fn implemented_by(&self, instance: &Arc<InstanceState>) -> bool {
        self.implementer
            .as_ref()
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(instance)))
    }

    /// Checks that a handle of type `found` may be used as this type.
    pub(crate) fn check(&self, found: ResourceType, index: u32) -> Result<()> {
        ensure!(
            found == self.ty,
            "handle index {index} used with the wrong type, expected {} but found a different {}",
            self.ty.describe(),
            found.describe()
        );
        Ok(())
    }

    /// Runs the destructor of an owned handle with representation `rep`
    /// dropped by instance `current` (`None` for the host).
    pub(crate) fn destroy<T: 'static>(
        &self,
        mut store: StoreContextMut<'_, T>,
        rep: u32,
        current: Option<&Arc<InstanceState>>,
    ) -> Result<()> {
        if let Some(dtor) = &self.guest_dtor {
            let args = [hayate::Val::I32(rep as i32)];
            match self.implementer.as_ref().and_then(Weak::upgrade) {
                // Another instance's destructor enters that instance.
                Some(owner) if current.is_none_or(|c| !Arc::ptr_eq(c, &owner)) => {
                    owner.enter()?;
                    let result = dtor.call(&mut store, &args, &mut []);
                    owner.leave(result.is_ok());
                    result?;
                }
                _ => dtor.call(&mut store, &args, &mut [])?,
            }
        }
        if let Some(dtor) = &self.host_dtor {
            let dtor = dtor
                .downcast_ref::<Arc<HostDtor<T>>>()
                .context("a host destructor called with a store of another type")?;
            dtor(store.as_context_mut(), rep)?;
        }
        Ok(())
    }
}

/// A handle to a host resource of Rust type `T`: its representation, and
/// whether it is owned (`own<T>`) or borrowed (`borrow<T>`).
pub struct Resource<T> {
    rep: u32,
    own: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}

impl<T: 'static> Resource<T> {
    /// An owned handle with representation `rep`.
    pub fn new_own(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: true,
            _type: PhantomData,
        }
    }

    /// A borrowed handle with representation `rep`.
    pub fn new_borrow(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: false,
            _type: PhantomData,
        }
    }

    /// The host's representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether the handle is owned.
    pub fn owned(&self) -> bool {
        self.own
    }

    /// A borrow of the same resource.
    pub fn borrowed(&self) -> Resource<T> {
        Resource::new_borrow(self.rep)
    }

    /// As a dynamic handle.
    pub fn into_resource_any(self) -> ResourceAny {
        ResourceAny::new(ResourceType::host::<T>(), None, self.rep, self.own)
    }
}

impl<T: 'static> ComponentType for Resource<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Own(_) | Type::Borrow(_) => Ok(()),
            other => bail!("type mismatch: a resource handle is not the WIT type {other:?}"),
        }
    }
    fn into_val(self) -> Val {
        Val::Resource(self.into_resource_any())
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::Resource(any) => {
                ensure!(
                    any.ty == ResourceType::host::<T>(),
                    "a handle of another resource type where the host expected {}",
                    std::any::type_name::<T>()
                );
                Ok(Resource {
                    rep: any.rep,
                    own: any.own,
                    _type: PhantomData,
                })
            }
            other => bail!("expected a resource handle, found {other:?}"),
        }
    }
}

/// Any resource handle, owned or borrowed, of any type: what dynamic
/// calls ([`Val::Resource`]) carry. An owned handle of a guest resource
/// received from a guest belongs to the host, which passes it on (once)
/// or drops it with [`ResourceAny::resource_drop`].
#[derive(Clone)]
pub struct ResourceAny {
    ty: ResourceType,
    /// The type as the instance that gave the handle knew it (with its
    /// destructor); `None` for handles the host made.
    runtime: Option<Arc<RuntimeResource>>,
    rep: u32,
    own: bool,
    /// Set once an owned handle has been given away or dropped: the same
    /// ownership cannot be passed twice.
    spent: Arc<AtomicBool>,
}

impl std::fmt::Debug for ResourceAny {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceAny")
            .field("ty", &self.ty)
            .field("own", &self.own)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ResourceAny {
    fn eq(&self, other: &Self) -> bool {
        self.ty == other.ty && self.rep == other.rep && self.own == other.own
    }
}

impl ResourceAny {
    pub(crate) fn new(
        ty: ResourceType,
        runtime: Option<Arc<RuntimeResource>>,
        rep: u32,
        own: bool,
    ) -> ResourceAny {
        ResourceAny {
            ty,
            runtime,
            rep,
            own,
            spent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The handle's resource type.
    pub fn ty(&self) -> ResourceType {
        self.ty
    }

    /// Whether the handle is owned.
    pub fn owned(&self) -> bool {
        self.own
    }

    /// The representation, for the host's own resources (a guest's
    /// representations are private to it).
    pub(crate) fn rep(&self) -> u32 {
        self.rep
    }

    /// Marks an owned handle as given away; an error if it already was.
    pub(crate) fn spend(&self) -> Result<()> {
        if self.own && self.spent.swap(true, Ordering::AcqRel) {
            bail!("an owned resource handle was already passed on or dropped");
        }
        Ok(())
    }

    /// A typed handle to a host resource of type `T`.
    pub fn try_into_resource<T: 'static>(self) -> Result<Resource<T>> {
        Resource::from_val(Val::Resource(self))
    }

    /// Drops an owned handle, running the resource's destructor (a guest
    /// destructor runs in the instance that defined the type). Dropping a
    /// borrow does nothing.
    pub fn resource_drop<T: 'static>(self, mut store: impl AsContextMut<Data = T>) -> Result<()> {
        if !self.own {
            return Ok(());
        }
        self.spend()?;
        match &self.runtime {
            Some(rt) => rt.destroy(store.as_context_mut(), self.rep, None),
            None => Ok(()),
        }
    }
}

impl ComponentType for ResourceAny {
    fn typecheck(ty: &Type) -> Result<()> {
        Resource::<()>::typecheck(ty)
    }
    fn into_val(self) -> Val {
        Val::Resource(self)
    }
    fn from_val(val: Val) -> Result<Self> {
        match val {
            Val::Resource(any) => Ok(any),
            other => bail!("expected a resource handle, found {other:?}"),
        }
    }
}

//! [`ResourceTable`]: where a host keeps the values behind the
//! [`Resource<T>`] handles it gives guests, in the shape of Wasmtime's
//! table: values of any type by index, each possibly the child of
//! another (a stream of a file, say), which cannot be deleted while it
//! has children.
//!
//! Guests make the host add entries (every `open` is one), so the table
//! is bounded: at most [`ResourceTable::DEFAULT_MAX`] entries unless the
//! host chooses otherwise, after which pushes fail with
//! [`ResourceTableError::Full`].

use std::any::Any;
use std::collections::BTreeSet;

use crate::resources::Resource;

/// Why a [`ResourceTable`] operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTableError {
    /// The table holds as many entries as it may.
    Full,
    /// No entry has the handle's index.
    NotPresent,
    /// The entry holds a value of another type.
    WrongType,
    /// The entry still has children and cannot be deleted.
    HasChildren,
}

impl std::fmt::Display for ResourceTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceTableError::Full => "the resource table is full",
            ResourceTableError::NotPresent => "no resource has this handle",
            ResourceTableError::WrongType => "the resource has another type",
            ResourceTableError::HasChildren => "the resource still has children",
        })
    }
}

impl std::error::Error for ResourceTableError {}

struct Entry {
    value: Box<dyn Any + Send>,
    parent: Option<u32>,
    children: BTreeSet<u32>,
}

/// Host resource values by index.
pub struct ResourceTable {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    max: usize,
}

impl Default for ResourceTable {
    fn default() -> Self {
        ResourceTable::new()
    }
}

impl std::fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTable")
            .field("len", &(self.entries.len() - self.free.len()))
            .finish()
    }
}

impl ResourceTable {
    /// The most entries a table holds unless told otherwise.
    pub const DEFAULT_MAX: usize = 1 << 20;

    /// An empty table holding at most [`ResourceTable::DEFAULT_MAX`] entries.
    pub fn new() -> ResourceTable {
        ResourceTable::with_max(Self::DEFAULT_MAX)
    }

    /// An empty table holding at most `max` entries.
    pub fn with_max(max: usize) -> ResourceTable {
        ResourceTable {
            entries: Vec::new(),
            free: Vec::new(),
            max: max.min(u32::MAX as usize),
        }
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == self.free.len()
    }

    fn insert(&mut self, entry: Entry) -> Result<u32, ResourceTableError> {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(entry);
            return Ok(i);
        }
        if self.entries.len() >= self.max {
            return Err(ResourceTableError::Full);
        }
        self.entries.push(Some(entry));
        Ok((self.entries.len() - 1) as u32)
    }

    fn entry(&self, index: u32) -> Result<&Entry, ResourceTableError> {
        match self.entries.get(index as usize) {
            Some(Some(e)) => Ok(e),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    fn entry_mut(&mut self, index: u32) -> Result<&mut Entry, ResourceTableError> {
        match self.entries.get_mut(index as usize) {
            Some(Some(e)) => Ok(e),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    /// Adds `value`, returning an owned handle to it.
    pub fn push<T: Send + 'static>(&mut self, value: T) -> Result<Resource<T>, ResourceTableError> {
        let index = self.insert(Entry {
            value: Box::new(value),
            parent: None,
            children: BTreeSet::new(),
        })?;
        Ok(Resource::new_own(index))
    }

    /// Adds `value` as a child of `parent` (which cannot be deleted
    /// before it).
    pub fn push_child<T: Send + 'static, U: 'static>(
        &mut self,
        value: T,
        parent: &Resource<U>,
    ) -> Result<Resource<T>, ResourceTableError> {
        self.entry(parent.rep())?;
        let index = self.insert(Entry {
            value: Box::new(value),
            parent: Some(parent.rep()),
            children: BTreeSet::new(),
        })?;
        self.entry_mut(parent.rep())?.children.insert(index);
        Ok(Resource::new_own(index))
    }

    /// The value behind `handle`.
    pub fn get<T: Any>(&self, handle: &Resource<T>) -> Result<&T, ResourceTableError> {
        self.entry(handle.rep())?
            .value
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value behind `handle`, for changing.
    pub fn get_mut<T: Any>(&mut self, handle: &Resource<T>) -> Result<&mut T, ResourceTableError> {
        self.entry_mut(handle.rep())?
            .value
            .downcast_mut()
            .ok_or(ResourceTableError::WrongType)
    }

    /// Removes the value behind `handle` and returns it; refused while it
    /// has children.
    pub fn delete<T: Any>(&mut self, handle: Resource<T>) -> Result<T, ResourceTableError> {
        let index = handle.rep();
        let entry = self.entry(index)?;
        if !entry.value.is::<T>() {
            return Err(ResourceTableError::WrongType);
        }
        if !entry.children.is_empty() {
            return Err(ResourceTableError::HasChildren);
        }
        let entry = self.entries[index as usize].take().expect("checked");
        self.free.push(index);
        if let Some(parent) = entry.parent
            && let Ok(p) = self.entry_mut(parent)
        {
            p.children.remove(&index);
        }
        Ok(*entry.value.downcast().expect("type checked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_delete_and_reuse() {
        let mut t = ResourceTable::new();
        let a = t.push(5u32).unwrap();
        let b = t.push(String::from("x")).unwrap();
        assert_eq!(*t.get(&a).unwrap(), 5);
        *t.get_mut(&a).unwrap() += 1;
        assert_eq!(t.delete(a).unwrap(), 6);
        assert_eq!(
            t.get(&Resource::<u32>::new_own(0)),
            Err(ResourceTableError::NotPresent)
        );
        // A handle of the wrong Rust type is refused.
        let wrong = Resource::<u32>::new_borrow(b.rep());
        assert_eq!(t.get(&wrong), Err(ResourceTableError::WrongType));
        let c = t.push(7u32).unwrap();
        assert_eq!(c.rep(), 0, "freed indices are reused");
    }

    #[test]
    fn parents_outlive_children_and_the_table_is_bounded() {
        let mut t = ResourceTable::with_max(2);
        let parent = t.push(1u8).unwrap();
        let child = t.push_child(2u8, &parent).unwrap();
        assert_eq!(t.push(3u8).unwrap_err(), ResourceTableError::Full);
        let parent_again = Resource::<u8>::new_own(parent.rep());
        assert_eq!(
            t.delete(parent_again).unwrap_err(),
            ResourceTableError::HasChildren
        );
        t.delete(child).unwrap();
        t.delete(parent).unwrap();
        assert!(t.is_empty());
    }
}

//! The free lists of the pools, in shards: each thread gives slots back to,
//! and takes them first from, a shard of its own (threads beyond the
//! number of shards share them), and takes from the others only when its
//! own is empty.
//!
//! One list behind one lock made threads instantiating at once contend for
//! it, and handed a slot freed by one thread to the next thread that asked:
//! resetting the slot (the pool zeroes up to 64 KiB per memory, and the
//! table and VMContext) then pulled every cache line over from the other
//! core. With shards a thread keeps reusing its own slots, warm in its own
//! caches, and its lock is uncontended.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Most shards: beyond this many cores, threads share them.
const MAX_SHARDS: usize = 16;

/// A free list of `T`s in shards.
#[derive(Debug)]
pub(crate) struct FreeList<T> {
    shards: Box<[Shard<T>]>,
}

/// One shard, on cache lines of its own.
#[derive(Debug)]
#[repr(align(128))]
struct Shard<T>(Mutex<Vec<T>>);

impl<T> FreeList<T> {
    /// A list holding `items` (in the first shard; the last item is taken
    /// first), with a shard per core.
    pub(crate) fn new(items: Vec<T>) -> FreeList<T> {
        let shards = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_SHARDS);
        let mut items = Some(items);
        FreeList {
            shards: (0..shards)
                .map(|_| Shard(Mutex::new(items.take().unwrap_or_default())))
                .collect(),
        }
    }

    /// Takes an item: from this thread's shard first, then from the others
    /// in turn. In each shard, the most recently freed of the last `search`
    /// items for which `prefer` holds, else the most recently freed.
    pub(crate) fn take(&self, search: usize, prefer: impl Fn(&T) -> bool) -> Option<T> {
        let home = self.home();
        let n = self.shards.len();
        (0..n).find_map(|k| {
            let mut items = self.shards[(home + k) % n]
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let len = items.len();
            let pick = (len.saturating_sub(search)..len)
                .rev()
                .find(|&i| prefer(&items[i]))
                .or(len.checked_sub(1))?;
            Some(items.swap_remove(pick))
        })
    }

    /// Gives `item` back, to this thread's shard.
    pub(crate) fn put(&self, item: T) {
        self.shards[self.home()]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
    }

    /// Items in this thread's shard.
    pub(crate) fn home_len(&self) -> usize {
        self.shards[self.home()]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Items in all shards.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// This thread's shard.
    fn home(&self) -> usize {
        thread_number() % self.shards.len()
    }
}

/// A number for the calling thread, given out in order of first use.
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_reuses_what_it_freed_last() {
        let list = FreeList::new((0..4).rev().collect::<Vec<u32>>());
        assert_eq!(list.take(1, |_| false), Some(0));
        assert_eq!(list.take(1, |_| false), Some(1));
        list.put(0);
        assert_eq!(list.take(1, |_| false), Some(0), "its own, freed last");
        assert_eq!(list.len(), 2);
        // A preferred item among the last `search`.
        list.put(7);
        list.put(8);
        assert_eq!(list.take(2, |&x| x == 7), Some(7));
        assert_eq!(list.take(2, |_| false), Some(8));
        assert_eq!(list.take(1, |_| false), Some(2));
        assert_eq!(list.take(1, |_| false), Some(3));
        assert_eq!(list.take(1, |_| false), None);
    }

    #[test]
    fn threads_take_from_each_other_when_their_own_is_empty() {
        let list = FreeList::new((0..64).collect::<Vec<u32>>());
        let taken: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        while let Some(x) = list.take(4, |_| false) {
                            mine.push(x);
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<u32> = taken.concat();
        all.sort_unstable();
        assert_eq!(all, (0..64).collect::<Vec<_>>(), "each item exactly once");
        assert_eq!(list.len(), 0);
    }
}

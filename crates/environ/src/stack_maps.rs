//! A module's stack maps: for each call site at which the calling frame
//! keeps GC references alive across the call (values of types that may
//! point into the GC heap), the stack slots holding them. The runtime's
//! collector looks the return address of each Wasm frame up here while
//! it walks the stack, and reads exactly those slots: they are the
//! frames' roots.
//!
//! Cranelift spills such values to stack slots before every call they
//! are live across and reloads them after (the frontend's safepoint
//! spilling), so a reference is never only in a register while another
//! function runs.

/// The stack map of one call site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackMapSite {
    /// The call's return address: an offset in the body (in a
    /// `CompiledBody`) or in the text (in a [`StackMaps`]).
    pub ret_addr: u32,
    /// The caller's frame pointer minus its stack pointer at the call.
    pub frame_size: u32,
    /// Offsets from that stack pointer of the pointer-sized slots that
    /// hold references, ascending.
    pub slots: Vec<u32>,
}

impl StackMapSite {
    /// This site with its code `by` bytes further on.
    pub fn moved_by(&self, by: u32) -> StackMapSite {
        StackMapSite {
            ret_addr: self.ret_addr + by,
            ..self.clone()
        }
    }
}

/// The stack maps of a module's text, sorted by return address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackMaps {
    sites: Vec<StackMapSite>,
}

/// Bytes of one slot: a reference is a pointer.
const SLOT_SIZE: u32 = 8;

impl StackMaps {
    /// The maps of `sites` (text offsets), in any order.
    pub fn new(mut sites: Vec<StackMapSite>) -> StackMaps {
        sites.sort_by_key(|s| s.ret_addr);
        StackMaps { sites }
    }

    /// The sites, by return address.
    pub fn sites(&self) -> &[StackMapSite] {
        &self.sites
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The site whose return address is exactly `ret_addr`.
    pub fn lookup(&self, ret_addr: u32) -> Option<&StackMapSite> {
        let i = self
            .sites
            .binary_search_by_key(&ret_addr, |s| s.ret_addr)
            .ok()?;
        self.sites.get(i)
    }

    /// Checks what a decoded table must satisfy: return addresses sorted,
    /// distinct and inside a text of `text_len` bytes, and every slot
    /// inside its frame (between the stack and frame pointers), so that
    /// the collector never reads outside the frame it walks.
    pub fn check(&self, text_len: u64) -> Result<(), String> {
        let mut prev = None;
        for site in &self.sites {
            if prev.is_some_and(|p| p >= site.ret_addr) || u64::from(site.ret_addr) > text_len {
                return Err(format!(
                    "stack map at {:#x} out of order or outside the text",
                    site.ret_addr
                ));
            }
            prev = Some(site.ret_addr);
            let outside = site.slots.iter().any(|s| {
                !s.is_multiple_of(SLOT_SIZE)
                    || s.checked_add(SLOT_SIZE)
                        .is_none_or(|end| end > site.frame_size)
            });
            if outside {
                return Err(format!(
                    "stack map at {:#x} names a slot outside its frame",
                    site.ret_addr
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(ret_addr: u32, frame_size: u32, slots: Vec<u32>) -> StackMapSite {
        StackMapSite {
            ret_addr,
            frame_size,
            slots,
        }
    }

    #[test]
    fn lookup_finds_exact_return_addresses_only() {
        let maps = StackMaps::new(vec![site(40, 32, vec![8, 16]), site(10, 16, vec![0])]);
        assert_eq!(maps.lookup(40).unwrap().slots, [8, 16]);
        assert_eq!(maps.lookup(10).unwrap().frame_size, 16);
        assert!(maps.lookup(11).is_none());
        assert!(maps.lookup(0).is_none());
        maps.check(40).unwrap();
        assert!(maps.check(39).is_err(), "a site outside the text");
    }

    #[test]
    fn check_refuses_slots_outside_the_frame() {
        StackMaps::new(vec![site(4, 16, vec![8])]).check(8).unwrap();
        for slots in [vec![16], vec![12], vec![u32::MAX - 3], vec![3]] {
            let maps = StackMaps::new(vec![site(4, 16, slots.clone())]);
            assert!(maps.check(8).is_err(), "{slots:?}");
        }
        let twice = StackMaps {
            sites: vec![site(4, 16, vec![]), site(4, 16, vec![])],
        };
        assert!(twice.check(8).is_err(), "two maps for one call");
    }
}

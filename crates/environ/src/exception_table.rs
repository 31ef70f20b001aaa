//! A module's exception table: for each call site inside a `try_table`
//! (a Cranelift `try_call`), where the caller's frame is and which
//! handlers it has, in the order they are tried. The runtime's unwinder
//! looks a return address up here while it walks the frames of a throw.

use crate::entity::TagIndex;

/// One handler of a call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionHandler {
    /// The tag it catches (in the module of the code), or `None` for a
    /// catch-all.
    pub tag: Option<TagIndex>,
    /// Where it starts: an offset in the body (in a `CompiledBody`) or in
    /// the text (in an [`ExceptionTable`]).
    pub target: u32,
}

/// A call site with handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionSite {
    /// The call's return address: an offset in the body or the text.
    pub ret_addr: u32,
    /// Distance from the caller's frame pointer down to its stack pointer
    /// at the call: a handler runs with the stack pointer there.
    pub frame_offset: u32,
    /// Where the caller keeps its vmctx at the call, as an offset from
    /// that stack pointer: the handlers' tags are the tags of the instance
    /// it belongs to.
    pub vmctx_sp_offset: u32,
    /// The handlers, in the order they are tried; a catch-all, if any, is
    /// last.
    pub handlers: Vec<ExceptionHandler>,
}

impl ExceptionSite {
    /// This site with its code `by` bytes further on (its return address
    /// and its handlers).
    pub fn moved_by(&self, by: u32) -> ExceptionSite {
        ExceptionSite {
            ret_addr: self.ret_addr + by,
            handlers: self
                .handlers
                .iter()
                .map(|h| ExceptionHandler {
                    target: h.target + by,
                    ..*h
                })
                .collect(),
            ..self.clone()
        }
    }
}

/// The call sites with handlers of a module's text, sorted by return
/// address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExceptionTable {
    sites: Vec<ExceptionSite>,
}

impl ExceptionTable {
    /// The table of `sites` (text offsets), in any order.
    pub fn new(mut sites: Vec<ExceptionSite>) -> ExceptionTable {
        sites.sort_by_key(|s| s.ret_addr);
        ExceptionTable { sites }
    }

    /// The sites, by return address.
    pub fn sites(&self) -> &[ExceptionSite] {
        &self.sites
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The site whose return address is exactly `ret_addr`.
    pub fn lookup(&self, ret_addr: u32) -> Option<&ExceptionSite> {
        let i = self
            .sites
            .binary_search_by_key(&ret_addr, |s| s.ret_addr)
            .ok()?;
        self.sites.get(i)
    }

    /// Checks what a decoded table must satisfy: sorted return addresses
    /// and handler targets inside a text of `text_len` bytes, tags below
    /// `num_tags`, a catch-all only last.
    pub fn check(&self, text_len: u64, num_tags: usize) -> Result<(), String> {
        let mut prev = None;
        for site in &self.sites {
            if prev.is_some_and(|p| p >= site.ret_addr) || u64::from(site.ret_addr) > text_len {
                return Err(format!(
                    "exception site at {:#x} out of order or outside the text",
                    site.ret_addr
                ));
            }
            prev = Some(site.ret_addr);
            let last = site.handlers.len().saturating_sub(1);
            for (i, h) in site.handlers.iter().enumerate() {
                let bad_tag = h.tag.is_some_and(|t| t.as_u32() as usize >= num_tags);
                if u64::from(h.target) >= text_len || bad_tag || (h.tag.is_none() && i != last) {
                    return Err(format!("bad exception handler at {:#x}", site.ret_addr));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(ret_addr: u32, handlers: Vec<ExceptionHandler>) -> ExceptionSite {
        ExceptionSite {
            ret_addr,
            frame_offset: 32,
            vmctx_sp_offset: 8,
            handlers,
        }
    }

    #[test]
    fn lookup_finds_exact_return_addresses_only() {
        let catch_all = ExceptionHandler {
            tag: None,
            target: 90,
        };
        let table = ExceptionTable::new(vec![site(40, vec![catch_all]), site(10, vec![])]);
        assert_eq!(table.lookup(40).unwrap().handlers, [catch_all]);
        assert!(table.lookup(10).is_some());
        assert!(table.lookup(11).is_none());
        table.check(100, 0).unwrap();
        assert!(table.check(80, 0).is_err(), "a target outside the text");
        let tagged = ExceptionHandler {
            tag: Some(TagIndex::from_u32(1)),
            target: 50,
        };
        let t = ExceptionTable::new(vec![site(5, vec![tagged])]);
        assert!(t.check(100, 1).is_err(), "a tag out of range");
        t.check(100, 2).unwrap();
        let t = ExceptionTable::new(vec![site(5, vec![catch_all, tagged])]);
        assert!(t.check(100, 2).is_err(), "a catch-all before the end");
    }
}

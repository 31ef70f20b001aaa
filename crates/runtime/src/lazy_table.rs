//! Funcref tables initialised lazily, on first access, instead of element by
//! element at instantiation.
//!
//! # Element encoding
//!
//! Every `funcref` table (defined, imported or made by the host: compiled
//! code cannot tell them apart) stores an element as a tagged word:
//!
//! * `0`: not initialised yet. Its value is what the table's [`LazyInit`]
//!   says (the function the module's element segments put there), or null
//!   if it has none;
//! * `1` ([`FUNCREF_INIT_BIT`] alone): null;
//! * `ptr | 1`: the function reference `ptr` (`VMFuncRef`s are 8-aligned).
//!
//! Compiled code reading an element (`table.get`, `call_indirect`) calls
//! the `TableGetLazyInitFuncRef` builtin when it loads `0`, which computes
//! the value, stores it tagged and returns it; otherwise it masks the tag
//! off. `table.set` stores `ptr | 1`. Everything else goes through
//! [`crate::table::Table`], which tags and untags. `externref` tables store
//! plain handles (null is 0) and are never lazy.
//!
//! # Which tables are lazy
//!
//! A defined funcref table whose active element segments all have constant
//! offsets, fit in its minimum size and hold functions or `ref.func`/
//! `ref.null` expressions: at load time the module's segments are laid out
//! once into a [`TableInitImage`] (a function index per element, applied in
//! order), and instantiation hands the table that image instead of writing
//! 10,000 pointers. Other tables get their segments written as before. If
//! instantiation traps in an element segment, lazy tables are given
//! exactly the earlier segments eagerly, as writing in order would leave
//! them (`Instance::initialize`).

use crate::instance::Instance;
use std::sync::Arc;

use hayate_environ::{
    ConstOp, DefinedTableIndex, ElemItems, ElemSegmentKind, EntityRef, FuncIndex, ModuleInfo,
    PackedOption, TableIndex,
};

pub use hayate_environ::FUNCREF_INIT_BIT;

/// How far an image may extend past twice the number of elements its
/// segments place: beyond that a table is not lazy (see `table_image`).
const MAX_SPARSE_SLACK: usize = 4096;

/// The function index (or null) of each element that a module's element
/// segments give one defined table, in a form shared by all its instances.
#[derive(Debug, Clone)]
pub struct TableInitImage {
    funcs: Box<[PackedOption<FuncIndex>]>,
}

impl TableInitImage {
    /// Number of elements the image covers (those past it are null).
    pub fn len(&self) -> usize {
        self.funcs.len()
    }

    /// Whether the image covers no element.
    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }

    /// The function at `index`, if the segments put one there.
    pub fn func(&self, index: usize) -> Option<FuncIndex> {
        self.funcs.get(index).and_then(|f| f.expand())
    }
}

/// The lazily initialised tables of a module, per defined table.
#[derive(Debug, Default)]
pub struct ModuleTableImages {
    tables: Vec<Option<Arc<TableInitImage>>>,
}

impl ModuleTableImages {
    /// No lazy tables: every element segment is written at instantiation.
    pub fn none() -> ModuleTableImages {
        ModuleTableImages::default()
    }

    /// The images of the defined tables that can be initialised lazily.
    pub fn new(module: &ModuleInfo) -> ModuleTableImages {
        let tables = (0..module.num_defined_tables())
            .map(|def| {
                let index = module.table_index(DefinedTableIndex::from_u32(def));
                table_image(module, index).map(Arc::new)
            })
            .collect();
        ModuleTableImages { tables }
    }

    /// The image of defined table `def`, if it is lazy.
    pub fn get(&self, def: DefinedTableIndex) -> Option<&Arc<TableInitImage>> {
        self.tables.get(def.index())?.as_ref()
    }
}

fn table_image(module: &ModuleInfo, index: TableIndex) -> Option<TableInitImage> {
    let ty = module.tables[index];
    let own_init = module
        .defined_table(index)
        .and_then(|d| module.table_inits.get(d))
        .is_some_and(Option::is_some);
    if !ty.element.is_func() || own_init {
        return None;
    }
    let minimum = usize::try_from(ty.minimum).ok()?;
    let mut funcs: Vec<PackedOption<FuncIndex>> = Vec::new();
    let mut items = 0usize;
    for seg in module.elements.values() {
        let ElemSegmentKind::Active { table, offset } = &seg.kind else {
            continue;
        };
        if *table != index {
            continue;
        }
        let start = usize::try_from(offset.as_const_offset()?).ok()?;
        let end = start.checked_add(seg.items.len())?;
        if end > minimum {
            return None;
        }
        // A sparse image (a few elements at a large offset) would cost
        // memory in proportion to an offset the module chose, not to its
        // size: such a table is initialised eagerly, element by element.
        items += seg.items.len();
        if end > MAX_SPARSE_SLACK.saturating_add(items.saturating_mul(2)) {
            return None;
        }
        if funcs.len() < end {
            funcs.resize(end, PackedOption::default());
        }
        match &seg.items {
            ElemItems::Functions(f) => {
                for (slot, f) in funcs[start..end].iter_mut().zip(f) {
                    *slot = (*f).into();
                }
            }
            ElemItems::Expressions(_, exprs) => {
                for (slot, e) in funcs[start..end].iter_mut().zip(exprs) {
                    *slot = match e.ops() {
                        [ConstOp::RefFunc(f)] => (*f).into(),
                        [ConstOp::RefNull(_)] => PackedOption::default(),
                        _ => return None,
                    };
                }
            }
        }
    }
    Some(TableInitImage {
        funcs: funcs.into_boxed_slice(),
    })
}

/// Where a lazy table's elements come from: an image of function indices
/// and the function references of the instance that owns the table.
///
/// The image is borrowed from the instance's module, which the instance
/// keeps alive, rather than shared by reference count: threads
/// instantiating one module would otherwise all write its count.
#[derive(Debug, Clone)]
pub struct LazyInit {
    image: std::ptr::NonNull<TableInitImage>,
    vmctx: *mut u8,
}

impl LazyInit {
    /// A source for the table of the instance with VMContext `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the VMContext of the instance owning the table and
    /// outlive it, and the image must belong to that instance's module
    /// (which the instance keeps alive, so the image outlives the table).
    pub unsafe fn new(image: &TableInitImage, vmctx: *mut u8) -> LazyInit {
        LazyInit {
            image: image.into(),
            vmctx,
        }
    }

    /// The function reference at `index` (null if none).
    pub(crate) fn value(&self, index: usize) -> *mut std::ffi::c_void {
        // SAFETY: the image outlives the table (`LazyInit::new`).
        let image = unsafe { self.image.as_ref() };
        match image.func(index) {
            // SAFETY: the owner of the VMContext outlives the table
            // (`LazyInit::new`), and the function index comes from its
            // module. Its reference is filled in if it was not yet.
            Some(f) => unsafe {
                (*Instance::from_vmctx(self.vmctx.cast()))
                    .func_ref(f)
                    .cast()
            },
            None => std::ptr::null_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(wat: &str) -> ModuleTableImages {
        let wasm = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&wasm, hayate_environ::features_for(None)).unwrap();
        ModuleTableImages::new(&info)
    }

    #[test]
    fn segments_apply_in_order() {
        let i = images(
            r#"(module (table 10 funcref) (func $a) (func $b)
                (elem (i32.const 1) $a $a $a)
                (elem (i32.const 2) funcref (ref.func $b) (ref.null func)))"#,
        );
        let t = i.get(DefinedTableIndex::from_u32(0)).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(
            (0..5).map(|i| t.func(i)).collect::<Vec<_>>(),
            [None, Some(0), Some(1), None, None].map(|f| f.map(FuncIndex::from_u32))
        );
    }

    #[test]
    fn what_is_not_lazy() {
        for wat in [
            r#"(module (table 2 externref))"#,
            r#"(module (import "g" "g" (global i32)) (table 2 funcref) (func $f)
                (elem (global.get 0) $f))"#,
            r#"(module (table 2 funcref) (func $f) (elem (i32.const 1) $f $f))"#,
            r#"(module (import "g" "g" (global funcref)) (table 2 funcref)
                (elem (i32.const 0) funcref (global.get 0)))"#,
            // Sparse: one element at the end of a huge table.
            r#"(module (table 10000000 funcref) (func $f) (elem (i32.const 9999999) $f))"#,
        ] {
            assert!(
                images(wat).get(DefinedTableIndex::from_u32(0)).is_none(),
                "{wat}"
            );
        }
        // Dense enough: lazy.
        assert!(
            images(r#"(module (table 10000 funcref) (func $f) (elem (i32.const 4000) $f))"#)
                .get(DefinedTableIndex::from_u32(0))
                .is_some()
        );
        // No segments at all: lazy, and empty.
        assert!(
            images("(module (table 5 funcref))")
                .get(DefinedTableIndex::from_u32(0))
                .unwrap()
                .is_empty()
        );
    }
}

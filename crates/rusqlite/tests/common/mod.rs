//! What the tests share: the guest modules (`guests.rs`, also used by
//! `hayate-sqlite`'s shell tests) and readying rusqlite.

#![allow(dead_code)]

mod guests;
pub use guests::*;

#[cfg(feature = "loadable_extension")]
mod loadable;

/// Readies rusqlite for a test's connections: a no-op for the ordinary
/// build, which links libsqlite3.
pub fn init_sqlite() {
    #[cfg(feature = "loadable_extension")]
    loadable::init();
}

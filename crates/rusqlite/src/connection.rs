//! The only `unsafe` of this crate: the connection a management function
//! runs on, which `rusqlite` hands out only through an `unsafe fn`.

#![allow(unsafe_code)]

use rusqlite::functions::{ConnectionRef, Context};

/// The connection `ctx`'s function is running on, to create functions and
/// run statements on it during the call.
pub fn connection<'a>(ctx: &'a Context<'_>) -> rusqlite::Result<ConnectionRef<'a>> {
    // SAFETY: the handle is the connection SQLite is calling us from; it is
    // open for the whole call, the returned reference borrows `ctx` so it
    // cannot outlive the call, and it does not own (so never closes) the
    // connection. We only create functions and run statements on it.
    unsafe { ctx.get_connection() }
}

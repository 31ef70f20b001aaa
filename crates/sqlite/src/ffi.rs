//! The only `unsafe` of this crate: the loadable extension's entry point,
//! which SQLite calls with raw pointers, and the connection a management
//! function runs on, which `rusqlite` hands out only through an `unsafe fn`.

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

/// The extension's entry point: SQLite's `.load` and
/// `sqlite3_load_extension` look it up by this name.
///
/// # Safety
///
/// Called by SQLite only, with the connection being loaded into, the error
/// message out-pointer and the API routines of the loading library.
#[cfg(feature = "extension")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_extension_init(
    db: *mut rusqlite::ffi::sqlite3,
    pz_err_msg: *mut *mut std::os::raw::c_char,
    p_api: *mut rusqlite::ffi::sqlite3_api_routines,
) -> std::os::raw::c_int {
    // SAFETY: SQLite passes a valid connection, error pointer and API table
    // (null API pointers are refused by `extension_init2`); `init` only
    // registers functions and reads the stored ones. It returns `Ok(true)`:
    // the library stays loaded for the life of the process (its epoch
    // thread runs code from it), and it stays registered on this
    // connection.
    unsafe { rusqlite::Connection::extension_init2(db, pz_err_msg, p_api, init) }
}

#[cfg(feature = "extension")]
fn init(db: rusqlite::Connection) -> rusqlite::Result<bool> {
    crate::register(&db)?;
    Ok(true)
}

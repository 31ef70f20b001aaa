//! The SQLite loadable extension of `hayate-rusqlite`: WebAssembly
//! functions as SQLite user-defined functions, in the `sqlite3` shell and
//! any program that calls `sqlite3_load_extension`.
//!
//! ```text
//! cargo build --release -p hayate-sqlite
//! sqlite3 app.db
//! sqlite> .load target/release/libhayate_sqlite
//! sqlite> SELECT wasm_create_function('plus', x'0061736d…', 'add');
//! ```
//!
//! Every sqlite3 call goes through the API table the loader passes to the
//! entry point, with bindings generated from the installed `sqlite3.h`, so
//! the extension runs inside whichever SQLite loads it (3.40, as Debian 12
//! ships, or newer), whether that SQLite is a shared library or compiled
//! into the program. The SQL interface and its limits are documented in
//! `hayate-rusqlite`.
//!
//! This file is the crate's only code, and its `unsafe` is the entry point
//! SQLite calls with raw pointers.

#![allow(unsafe_code)]

use hayate_rusqlite::rusqlite;
use std::os::raw::{c_char, c_int};

/// The extension's entry point: SQLite's `.load` and
/// `sqlite3_load_extension` look it up by this name.
///
/// # Safety
///
/// Called by SQLite only, with the connection being loaded into, the error
/// message out-pointer and the API routines of the loading library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sqlite3_extension_init(
    db: *mut rusqlite::ffi::sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut rusqlite::ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes a valid connection, error pointer and API table
    // (null API pointers are refused by `extension_init2`); `init` only
    // registers functions and reads the stored ones. It returns `Ok(true)`:
    // the library stays loaded for the life of the process (its epoch
    // thread runs code from it), and it stays registered on this
    // connection.
    unsafe { rusqlite::Connection::extension_init2(db, pz_err_msg, p_api, init) }
}

fn init(db: rusqlite::Connection) -> rusqlite::Result<bool> {
    hayate_rusqlite::register(&db)?;
    Ok(true)
}

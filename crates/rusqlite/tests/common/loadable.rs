//! When `cargo test --workspace` builds this crate for the loadable
//! extension (the `loadable_extension` feature, which cargo unifies in from
//! `hayate-sqlite`), rusqlite reaches SQLite only through the API table a
//! loader hands to an extension, and nothing links libsqlite3. Play that
//! loader: open the system libsqlite3, register an auto-extension, and open
//! a throw-away database so that SQLite calls it with its API table, which
//! rusqlite then keeps for every later connection of the process.
//!
//! The few functions called before the table exists are looked up with
//! `dlsym` and given the types of the table's own fields, so no SQLite
//! declaration is written here.

#![allow(unsafe_code)]

use rusqlite::ffi;
use std::os::raw::{c_char, c_int};
use std::sync::Once;

/// Makes rusqlite usable in this process; idempotent.
pub fn init() {
    static INIT: Once = Once::new();
    // SAFETY: runs once; see `bootstrap`.
    INIT.call_once(|| unsafe { bootstrap() });
}

/// # Safety
///
/// (The transmutes name no types on purpose: each takes the type of the
/// field it is assigned to.) Each pointer `dlsym` returns is the libsqlite3 function of that name,
/// whose C signature is the one the same-named field of
/// `sqlite3_api_routines` declares (the table is SQLite's list of its own
/// functions), so the transmutes give each call its true type.
#[allow(clippy::missing_transmute_annotations)]
unsafe fn bootstrap() {
    // SAFETY: dlopen/dlsym take NUL-terminated names; the library stays
    // loaded for the life of the process (no dlclose).
    unsafe {
        let lib = libc::dlopen(
            c"libsqlite3.so.0".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_GLOBAL,
        );
        assert!(
            !lib.is_null(),
            "the system libsqlite3 (libsqlite3.so.0) is needed"
        );
        let symbol = |name: &std::ffi::CStr| {
            let f = libc::dlsym(lib, name.as_ptr());
            assert!(!f.is_null(), "libsqlite3 has no {name:?}");
            f
        };
        // An all-null table: every field is an `Option` of a function pointer.
        let mut api: ffi::sqlite3_api_routines = std::mem::zeroed();
        api.auto_extension = std::mem::transmute(symbol(c"sqlite3_auto_extension"));
        api.cancel_auto_extension = std::mem::transmute(symbol(c"sqlite3_cancel_auto_extension"));
        api.open_v2 = std::mem::transmute(symbol(c"sqlite3_open_v2"));
        api.close = std::mem::transmute(symbol(c"sqlite3_close"));
        // SQLite declares the auto-extension as `void (*)(void)` and calls
        // it with the extension entry point's arguments.
        let entry: unsafe extern "C" fn() =
            std::mem::transmute(take_api as unsafe extern "C" fn(_, _, _) -> c_int);
        assert_eq!(api.auto_extension.unwrap()(Some(entry)), ffi::SQLITE_OK);
        let mut db = std::ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE | ffi::SQLITE_OPEN_MEMORY;
        let rc = api.open_v2.unwrap()(c":memory:".as_ptr(), &mut db, flags, std::ptr::null());
        assert_eq!(rc, ffi::SQLITE_OK, "opening an in-memory database failed");
        api.close.unwrap()(db);
        api.cancel_auto_extension.unwrap()(Some(entry));
    }
}

/// The auto-extension: hands SQLite's API table to rusqlite.
unsafe extern "C" fn take_api(
    _db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite calls this with its own, complete API table.
    match unsafe { ffi::rusqlite_extension_init2(api) } {
        Ok(()) => ffi::SQLITE_OK,
        Err(e) => panic!("SQLite refused rusqlite's bindings: {e:?}"),
    }
}

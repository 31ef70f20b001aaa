//! The only `unsafe` of this crate: where it meets SQLite's C API below
//! `rusqlite`'s safe surface.
//!
//! - [`connection`]: the connection a management function runs on, which
//!   `rusqlite` hands out only through an `unsafe fn`.
//! - [`create_scalar`]: a scalar function registered with
//!   `sqlite3_create_function_v2` directly, so that a row costs SQLite's
//!   value accessors and nothing more. `rusqlite`'s closure path boxes the
//!   arguments into a `Context`, looks statement data up through an `Arc`
//!   and a type check, and converts the result through `ToSql`: several
//!   hundred instructions a row, more than the Wasm call itself. A call
//!   gets its arguments as a [`Row`] and its context as a [`RawCall`],
//!   whose safe methods keep data for the statement and set the result.

#![allow(unsafe_code)]

use std::any::TypeId;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::slice;

use rusqlite::Connection;
use rusqlite::ffi;
use rusqlite::functions::{ConnectionRef, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};

/// The connection `ctx`'s function is running on, to create functions and
/// run statements on it during the call.
pub fn connection<'a>(ctx: &'a Context<'_>) -> rusqlite::Result<ConnectionRef<'a>> {
    // SAFETY: the handle is the connection SQLite is calling us from; it is
    // open for the whole call, the returned reference borrows `ctx` so it
    // cannot outlive the call, and it does not own (so never closes) the
    // connection. We only create functions and run statements on it.
    unsafe { ctx.get_connection() }
}

/// What SQLite keeps as a function's user data: the data and the body,
/// a function item (so each row calls it directly, without a pointer).
struct Scalar<D, F> {
    data: D,
    body: F,
}

/// Registers the scalar function `name` with `n_arg` arguments (-1: any)
/// on `conn`: each call runs `body(&data, row, call)`. `data` is dropped when
/// SQLite drops the function (replaced, or the connection closed), or at
/// once if registration fails.
pub fn create_scalar<D, F>(
    conn: &Connection,
    name: &str,
    n_arg: i32,
    flags: FunctionFlags,
    data: D,
    body: F,
) -> rusqlite::Result<()>
where
    D: Send + 'static,
    F: Fn(&D, Row<'_>, &mut RawCall) + Send + 'static,
{
    let c_name = CString::new(name).map_err(|_| {
        rusqlite::Error::UserFunctionError(format!("function name {name:?} holds a NUL").into())
    })?;
    let user = Box::into_raw(Box::new(Scalar { data, body }));
    // SAFETY: `conn` is open for the call; SQLite copies the name; `user`
    // is a leaked box that `drop_boxed::<Scalar<D, F>>` frees exactly
    // once, when SQLite drops the function or, since 3.7.3, when
    // registration fails. `x_scalar::<D, F>` reads `user` as one.
    let failed = unsafe {
        let db = conn.handle();
        let rc = ffi::sqlite3_create_function_v2(
            db,
            c_name.as_ptr(),
            n_arg,
            flags.bits(),
            user.cast(),
            Some(x_scalar::<D, F>),
            None,
            None,
            Some(drop_boxed::<Scalar<D, F>>),
        );
        (rc != ffi::SQLITE_OK).then(|| {
            let message = CStr::from_ptr(ffi::sqlite3_errmsg(db));
            (rc, message.to_string_lossy().into_owned())
        })
    };
    match failed {
        None => Ok(()),
        Some((rc, message)) => Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some(message),
        )),
    }
}

/// Frees a box leaked to SQLite.
///
/// # Safety
/// `p` is a `Box<T>` turned into a raw pointer, not freed before.
unsafe extern "C" fn drop_boxed<T>(p: *mut c_void) {
    // SAFETY: the caller's promise.
    drop(unsafe { Box::from_raw(p.cast::<T>()) });
}

/// SQLite's `xFunc` for [`create_scalar`].
///
/// # Safety
/// Only SQLite calls it, for a function registered by [`create_scalar`]
/// with data of type `D` and body `F`, with `argc` values at `argv`.
unsafe extern "C" fn x_scalar<D, F: Fn(&D, Row<'_>, &mut RawCall)>(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values (none: `argv` may be null)
    // and the user data given to `sqlite3_create_function_v2`, a live
    // `Scalar<D, F>` until the function is dropped, which SQLite does not do
    // while a call runs.
    let (args, scalar) = unsafe {
        let args = match usize::try_from(argc) {
            Ok(n) if n > 0 && !argv.is_null() => slice::from_raw_parts(argv, n),
            _ => &[],
        };
        (args, &*ffi::sqlite3_user_data(ctx).cast::<Scalar<D, F>>())
    };
    let mut call = RawCall { ctx };
    let row = Row { args };
    // A panic must not unwind into SQLite.
    if catch_unwind(AssertUnwindSafe(|| {
        (scalar.body)(&scalar.data, row, &mut call)
    }))
    .is_err()
    {
        call.set_error("a wasm function panicked in the host");
    }
}

/// The arguments of one call of a scalar function.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    args: &'a [*mut ffi::sqlite3_value],
}

/// The context of one call of a scalar function: the statement's data and
/// the result. Made for the call only.
pub struct RawCall {
    ctx: *mut ffi::sqlite3_context,
}

/// Statement data as stored with SQLite: its type, checked before use
/// (another function of the statement could use the same slot number).
#[repr(C)]
struct Tagged<T> {
    type_id: TypeId,
    value: T,
}

impl<'a> Row<'a> {
    /// Argument `i` (panics if there is none).
    #[inline(always)]
    pub fn get(self, i: usize) -> ValueRef<'a> {
        let v = self.args[i];
        // SAFETY: `v` is a value SQLite passed for this call, and a `Row`
        // lives no longer than the call. Text and blob pointers stay valid
        // until the call returns or the value changes representation; only
        // the accessor of the value's own type is called, which changes
        // nothing, so a second `get` returns the same bytes.
        unsafe {
            match ffi::sqlite3_value_type(v) {
                ffi::SQLITE_INTEGER => ValueRef::Integer(ffi::sqlite3_value_int64(v)),
                ffi::SQLITE_FLOAT => ValueRef::Real(ffi::sqlite3_value_double(v)),
                ffi::SQLITE_TEXT => {
                    let p = ffi::sqlite3_value_text(v);
                    let n = ffi::sqlite3_value_bytes(v);
                    ValueRef::Text(bytes(p.cast(), n))
                }
                ffi::SQLITE_BLOB => {
                    let p = ffi::sqlite3_value_blob(v);
                    let n = ffi::sqlite3_value_bytes(v);
                    ValueRef::Blob(bytes(p.cast(), n))
                }
                _ => ValueRef::Null,
            }
        }
    }
}

/// The connection a call runs on, for the call's duration.
pub struct CallConnection<'a> {
    conn: Connection,
    _call: PhantomData<&'a RawCall>,
}

impl Deref for CallConnection<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl RawCall {
    /// The connection the function is running on, to run statements on
    /// during the call.
    pub fn connection(&self) -> Result<CallConnection<'_>, String> {
        // SAFETY: the handle is the connection SQLite is calling us from,
        // open for the whole call; the result borrows `self`, so it cannot
        // outlive the call, and does not own (so never closes) the handle.
        let conn = unsafe { Connection::from_handle(ffi::sqlite3_context_db_handle(self.ctx)) }
            .map_err(|e| e.to_string())?;
        Ok(CallConnection {
            conn,
            _call: PhantomData,
        })
    }

    /// The statement's data in slot `slot` (negative: shared by the
    /// whole statement): the `T` stored there by an earlier call, or else
    /// the one `make` makes, stored for the rest of the statement. Fails
    /// with `make`'s error, or if SQLite could not keep the data (out of
    /// memory).
    #[inline]
    pub fn statement_data<T: 'static>(
        &mut self,
        slot: i32,
        make: impl FnOnce(&RawCall) -> Result<T, String>,
    ) -> Result<&mut T, String> {
        let mut p = self.lookup::<T>(slot);
        if p.is_null() {
            let tagged = Box::into_raw(Box::new(Tagged {
                type_id: TypeId::of::<T>(),
                value: make(self)?,
            }));
            // SAFETY: `tagged` is a leaked box that `drop_boxed` frees
            // exactly once: when SQLite discards the data, or at once if it
            // cannot store it (which the second lookup then finds).
            unsafe {
                ffi::sqlite3_set_auxdata(
                    self.ctx,
                    slot,
                    tagged.cast(),
                    Some(drop_boxed::<Tagged<T>>),
                );
            }
            p = self.lookup::<T>(slot);
        }
        // SAFETY: a non-null `p` is a live `T` (see `lookup`) that SQLite
        // keeps until the statement is finalized or reset, after this call.
        // Calls on one connection do not overlap and the returned borrow of
        // `self` ends with this call, so the `&mut` is unique.
        unsafe { p.as_mut() }
            .ok_or_else(|| "out of memory keeping the statement's instance".to_string())
    }

    /// The `T` in slot `slot`, if this crate stored one there; else null.
    #[inline]
    fn lookup<T: 'static>(&self, slot: i32) -> *mut T {
        // SAFETY: what this crate stores in a slot is a `Tagged<_>` box
        // (`statement_data`), whose `type_id`, at offset 0 whatever the
        // value's type, says whether it is a `Tagged<T>`.
        unsafe {
            let p = ffi::sqlite3_get_auxdata(self.ctx, slot).cast::<Tagged<T>>();
            if p.is_null() || (*p).type_id != TypeId::of::<T>() {
                return std::ptr::null_mut();
            }
            &raw mut (*p).value
        }
    }

    /// Sets the result to `value`.
    pub fn set_result(&mut self, value: &Value) {
        // SAFETY: `ctx` is this call's context; SQLite copies text and
        // blobs (`SQLITE_TRANSIENT`) before the call returns.
        unsafe {
            match value {
                Value::Null => ffi::sqlite3_result_null(self.ctx),
                Value::Integer(i) => ffi::sqlite3_result_int64(self.ctx, *i),
                Value::Real(f) => ffi::sqlite3_result_double(self.ctx, *f),
                Value::Text(s) => ffi::sqlite3_result_text64(
                    self.ctx,
                    s.as_ptr().cast::<c_char>(),
                    s.len() as u64,
                    ffi::SQLITE_TRANSIENT(),
                    ffi::SQLITE_UTF8 as u8,
                ),
                Value::Blob(b) => ffi::sqlite3_result_blob64(
                    self.ctx,
                    b.as_ptr().cast(),
                    b.len() as u64,
                    ffi::SQLITE_TRANSIENT(),
                ),
            }
        }
    }

    /// Fails the call (and so the statement) with `message`.
    pub fn set_error(&mut self, message: &str) {
        let len = c_int::try_from(message.len()).unwrap_or(c_int::MAX);
        // SAFETY: `ctx` is this call's context; SQLite copies the message.
        unsafe { ffi::sqlite3_result_error(self.ctx, message.as_ptr().cast(), len) }
    }
}

/// `n` bytes at `p`, or none.
///
/// # Safety
/// Unless null or `n <= 0`, `p..p + n` is readable for `'a`.
unsafe fn bytes<'a>(p: *const u8, n: c_int) -> &'a [u8] {
    match usize::try_from(n) {
        // SAFETY: the caller's promise.
        Ok(n) if n > 0 && !p.is_null() => unsafe { slice::from_raw_parts(p, n) },
        _ => &[],
    }
}

//! WebAssembly functions as SQLite user-defined functions.
//!
//! [`register`] adds the SQL interface below to a [`rusqlite::Connection`]
//! (the crate re-exports its [`rusqlite`], 0.32, linking the system
//! libsqlite3). The same registration, built as a loadable extension for
//! the `sqlite3` shell and `sqlite3_load_extension`, is the `hayate-sqlite`
//! crate: `cargo build --release -p hayate-sqlite` builds
//! `target/release/libhayate_sqlite.so`.
//!
//! ```
//! # // Built for the loadable extension, rusqlite has no SQLite of its own.
//! # #[cfg(feature = "loadable_extension")] return Ok::<(), rusqlite::Error>(());
//! let conn = rusqlite::Connection::open_in_memory()?;
//! hayate_rusqlite::register(&conn)?;
//! conn.query_row(
//!     "SELECT wasm_create_function('add2', '(module (func (export \"add\") \
//!      (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1))))', 'add')",
//!     [], |_| Ok(()))?;
//! let sum: i64 = conn.query_row("SELECT add2(40, 2)", [], |r| r.get(0))?;
//! assert_eq!(sum, 42);
//! # Ok::<(), rusqlite::Error>(())
//! ```
//!
//! # SQL interface
//!
//! - `wasm_create_function(name, module, export [, signature])` registers
//!   the scalar function `name`, which calls `export` of `module` (a BLOB
//!   holding a binary module or TEXT in the text format). Without a
//!   signature its arity and types come from the export: `i32`/`i64` are
//!   INTEGER, `f32`/`f64` REAL. A signature such as
//!   `'(text, integer) -> text'` also allows TEXT and BLOB, passed through
//!   linear memory (the convention is in [`function`]'s docs), and may be
//!   followed by options: `deterministic`, `stateful`, `nulls`,
//!   `timeout=5s`, `memory=64MiB`, `stack=512KiB` (see [`spec`]).
//! - `wasm_create_aggregate(name, module, step, final [, signature])`
//!   registers an aggregate: `step` takes a row's arguments and returns
//!   nothing, `final` takes nothing and returns the result; each group has
//!   a fresh instance.
//! - `wasm_drop_function(name)` drops a function; `SELECT * FROM
//!   wasm_functions` lists them (name, kind, export, final_export,
//!   signature, module_hash).
//!
//! Registrations are stored in the table `hayate_wasm_functions` of the
//! database, so reopening it and registering again brings them back. A
//! module that does not validate, lacks an export or whose types do not fit
//! is refused with an SQL error, and nothing is stored. The table is the
//! truth, as SQLite's function list is not transactional: at the start of
//! each statement (each aggregate group) a function is checked against its
//! row, so a creation, replacement or drop that is rolled back, to a
//! savepoint too, is undone in the connection as well, and what other
//! connections commit is picked up.
//!
//! # Semantics and limits
//!
//! - A NULL argument gives NULL without calling the guest (an aggregate
//!   skips the row), unless the function is declared with `nulls`.
//! - Every guest is bounded without any setting: in one statement (one
//!   aggregate group) a function's guest may run for [`spec::DEFAULT_TIMEOUT`]
//!   of wall time in all (the calls are timed, time SQLite spends between
//!   rows does not count; enforced with epoch interruption in 10 ms ticks),
//!   its memory is capped at [`spec::DEFAULT_MEMORY`] and its stack at
//!   [`spec::DEFAULT_STACK`];
//!   each is settable per function. A trap, a timeout or running out of
//!   memory fails that statement with an SQL error naming the function and
//!   the trap; the connection and the data stay usable.
//! - A scalar function's instance is reused across the rows of a statement
//!   and discarded at its end, unless the function is `stateful`, which
//!   keeps one instance (per connection) across statements. An instance
//!   that trapped is discarded.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod ffi;
pub mod function;
mod runtime;
pub mod spec;
mod sql;
mod typed;

pub use rusqlite;
pub use sql::{TABLE, register};

//! The SQL interface: `wasm_create_function`, `wasm_create_aggregate`,
//! `wasm_drop_function`, the `wasm_functions` view, the table that keeps
//! registrations in the database, and the SQL functions that run guests.
//!
//! A registered name is an SQLite function whose closure reads the current
//! definition from a [`Definition`] slot, so redefining a function with the
//! same arity (even from inside a running statement, where SQLite refuses to
//! replace a function) only swaps the slot, and dropping empties it.
//!
//! Instances: a scalar function gets one instance per statement, found
//! through SQLite's statement-wide auxiliary data (a negative argument
//! index), so rows reuse it and the next statement starts afresh; a
//! `stateful` function keeps one instance across statements. An aggregate
//! gets a fresh instance per group.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::ffi::{self, RawCall, Row};
use crate::function::{Compiled, Failure, Kind, Runner};

/// The table registrations are stored in.
pub const TABLE: &str = "hayate_wasm_functions";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hayate_wasm_functions(
    name TEXT PRIMARY KEY COLLATE NOCASE,
    kind TEXT NOT NULL,
    module BLOB NOT NULL,
    export TEXT NOT NULL,
    final_export TEXT,
    signature TEXT,
    module_hash TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS wasm_functions AS
    SELECT name, kind, export, final_export, signature, module_hash
    FROM hayate_wasm_functions;
";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn user(msg: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(msg.into().into())
}

/// Aux-data codes, one per SQLite registration; negative, so SQLite keeps
/// the data for the whole statement and shares it across call sites.
static NEXT_AUX: AtomicI32 = AtomicI32::new(-0x4861_0000);

/// The current definition behind one SQLite registration (name, arity,
/// kind, determinism).
pub struct Definition {
    name: String,
    /// Arity, kind and determinism: what SQLite registered.
    shape: (usize, Kind, bool),
    current: Mutex<Option<Arc<Compiled>>>,
    aux: i32,
}

/// A row of the table, as far as it identifies a definition: kind, module
/// hash, export, final export, signature.
type StoredRow = (String, String, String, Option<String>, Option<String>);

fn shape(c: &Compiled) -> (usize, Kind, bool) {
    (c.arity(), c.kind, c.spec.options.deterministic)
}

impl Definition {
    /// The current definition, checked against the table first (once per
    /// statement, or per aggregate group). SQLite functions are not
    /// transactional, the table is: a definition whose row is gone (its
    /// creation rolled back, or dropped elsewhere) is dropped here too, and
    /// one whose row differs (a replacement rolled back) is reloaded from
    /// the row.
    fn verified(&self, conn: &Connection) -> Result<Arc<Compiled>, String> {
        let row: Option<StoredRow> = match conn
            .query_row(
                "SELECT kind, module_hash, export, final_export, signature \
                 FROM hayate_wasm_functions WHERE name = ?1",
                params![self.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
        {
            Ok(row) => row,
            Err(e) if e.to_string().contains("no such table") => None,
            Err(e) => return Err(format!("{}: cannot read {TABLE}: {e}", self.name)),
        };
        let current = lock(&self.current).clone();
        let Some(row) = row else {
            *lock(&self.current) = None;
            return Err(format!(
                "wasm function {} was dropped (or its creation rolled back)",
                self.name
            ));
        };
        if let Some(c) = current.filter(|c| {
            row == (
                c.kind.as_str().to_owned(),
                c.module_hash.clone(),
                c.export.clone(),
                c.final_export.clone(),
                c.signature.clone(),
            )
        }) {
            return Ok(c);
        }
        let reloaded = Arc::new(load_stored(conn, &self.name)?);
        if shape(&reloaded) != self.shape {
            *lock(&self.current) = None;
            return Err(format!(
                "wasm function {} was redefined with other parameters",
                self.name
            ));
        }
        *lock(&self.current) = Some(reloaded.clone());
        Ok(reloaded)
    }
}

/// The query of stored definitions that [`compile_stored`] reads a row of.
const STORED: &str =
    "SELECT name, kind, module, export, final_export, signature FROM hayate_wasm_functions";

/// Compiles the definition in a row of [`STORED`]: its name, and the
/// function or why it does not load.
fn compile_stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Result<Compiled, String>)> {
    let name: String = r.get(0)?;
    let kind = match r.get_ref(1)?.as_str()? {
        "aggregate" => Kind::Aggregate,
        _ => Kind::Scalar,
    };
    let final_export: Option<String> = r.get(4)?;
    let signature: Option<String> = r.get(5)?;
    let compiled = compile(
        &name,
        kind,
        r.get_ref(2)?.as_blob()?,
        r.get_ref(3)?.as_str()?,
        final_export.as_deref(),
        signature.as_deref(),
    );
    Ok((name, compiled))
}

/// Compiles the stored definition of `name`.
fn load_stored(conn: &Connection, name: &str) -> Result<Compiled, String> {
    let (name, compiled) = conn
        .query_row(
            &format!("{STORED} WHERE name = ?1"),
            params![name],
            compile_stored,
        )
        .map_err(|e| format!("{name}: cannot read {TABLE}: {e}"))?;
    compiled.map_err(|e| format!("{name}: the stored definition does not load: {e}"))
}

struct Entry {
    arity: usize,
    kind: Kind,
    deterministic: bool,
    def: Arc<Definition>,
}

/// The functions of one connection, by lowercased name.
#[derive(Default)]
pub struct Registry {
    entries: Mutex<HashMap<String, Vec<Entry>>>,
}

/// A scalar function's instance for the statement running: its own (made
/// at the first row that needs it), or, for a `stateful` function, the one
/// kept across statements.
struct Statement {
    compiled: Arc<Compiled>,
    instance: StatementInstance,
}

// The whole `Statement` is one box in SQLite's statement data; the row's
// instance stays inline in it, one pointer away.
#[allow(clippy::large_enum_variant)]
enum StatementInstance {
    Own(Option<Runner>),
    Kept(Arc<Mutex<Option<Runner>>>),
}

impl Statement {
    fn new(compiled: Arc<Compiled>) -> Statement {
        let instance = if compiled.spec.options.stateful {
            let slot = compiled.persistent.clone();
            if let Some(r) = lock(&slot).as_mut() {
                r.reset_budget(&compiled);
            }
            StatementInstance::Kept(slot)
        } else {
            StatementInstance::Own(None)
        };
        Statement { compiled, instance }
    }
}

/// A row of a scalar function: SQLite's `xFunc`.
#[inline(always)]
fn call_scalar(def: &Arc<Definition>, row: Row<'_>, call: &mut RawCall) {
    let mut value = Value::Null;
    match scalar_value(def, row, call, &mut value) {
        Ok(()) => call.set_result(&value),
        Err(message) => call.set_error(&message),
    }
}

/// Runs the function on `row`, writing its value to `out`.
#[inline(always)]
fn scalar_value(
    def: &Definition,
    row: Row<'_>,
    call: &mut RawCall,
    out: &mut Value,
) -> Result<(), Failure> {
    let stmt = call.statement_data(def.aux, |call| {
        Ok(Statement::new(def.verified(&*call.connection()?)?))
    })?;
    let f = &*stmt.compiled;
    match &mut stmt.instance {
        StatementInstance::Own(slot) => run_scalar(f, slot, &row, out),
        StatementInstance::Kept(shared) => run_scalar(f, &mut lock(shared), &row, out),
    }
}

/// Calls `f` on `row` with the instance in `slot`, made if there is none.
#[inline]
fn run_scalar(
    f: &Compiled,
    slot: &mut Option<Runner>,
    row: &Row<'_>,
    out: &mut Value,
) -> Result<(), Failure> {
    let runner = match slot {
        Some(r) => r,
        None => slot.insert(f.runner()?),
    };
    match runner.call(f, row, out) {
        Ok(()) => Ok(()),
        Err(e) => {
            // A failed instance is not reused: the next call starts afresh.
            *slot = None;
            Err(e)
        }
    }
}

struct WasmAggregate(Arc<Definition>);

/// One group's instance.
struct Group {
    compiled: Arc<Compiled>,
    runner: Option<Runner>,
}

impl Aggregate<AssertUnwindSafe<Group>, Value> for WasmAggregate {
    fn init(&self, ctx: &mut Context<'_>) -> rusqlite::Result<AssertUnwindSafe<Group>> {
        let compiled = self.0.verified(&*ffi::connection(ctx)?).map_err(user)?;
        let runner = compiled.runner().map_err(user)?;
        Ok(AssertUnwindSafe(Group {
            compiled,
            runner: Some(runner),
        }))
    }

    fn step(&self, ctx: &mut Context<'_>, g: &mut AssertUnwindSafe<Group>) -> rusqlite::Result<()> {
        let f = g.compiled.clone();
        let runner = g
            .runner
            .as_mut()
            .ok_or_else(|| user(format!("{}: the group's instance failed", f.name)))?;
        if let Err(e) = runner.call(&f, ctx, &mut Value::Null) {
            g.runner = None;
            return Err(user(e));
        }
        Ok(())
    }

    fn finalize(
        &self,
        ctx: &mut Context<'_>,
        g: Option<AssertUnwindSafe<Group>>,
    ) -> rusqlite::Result<Value> {
        let (compiled, runner) = match g {
            Some(AssertUnwindSafe(g)) => (g.compiled, g.runner),
            None => (
                self.0.verified(&*ffi::connection(ctx)?).map_err(user)?,
                None,
            ),
        };
        let mut runner = match runner {
            Some(r) => r,
            None => compiled.runner().map_err(user)?,
        };
        runner.finish(&compiled).map_err(user)
    }
}

/// Registers `compiled` under its name on `conn`, replacing a previous
/// definition of that name.
fn define(conn: &Connection, reg: &Registry, compiled: Arc<Compiled>) -> rusqlite::Result<()> {
    let mut map = lock(&reg.entries);
    let entries = map.entry(compiled.name.to_lowercase()).or_default();
    let (arity, kind) = (compiled.arity(), compiled.kind);
    let deterministic = compiled.spec.options.deterministic;
    let same = |e: &Entry| e.arity == arity && e.kind == kind && e.deterministic == deterministic;
    if !entries.iter().any(same) {
        let def = Arc::new(Definition {
            name: compiled.name.clone(),
            shape: (arity, kind, deterministic),
            current: Mutex::new(None),
            aux: NEXT_AUX.fetch_sub(1, Ordering::Relaxed),
        });
        let mut flags = FunctionFlags::SQLITE_UTF8;
        if deterministic {
            flags |= FunctionFlags::SQLITE_DETERMINISTIC;
        }
        let n_arg = arity as i32;
        let registered = match kind {
            Kind::Scalar => {
                ffi::create_scalar(conn, &compiled.name, n_arg, flags, def.clone(), call_scalar)
            }
            Kind::Aggregate => conn.create_aggregate_function(
                &compiled.name,
                n_arg,
                flags,
                WasmAggregate(def.clone()),
            ),
        };
        registered.map_err(|e| {
            user(format!(
                "cannot register {} with {arity} arguments: {e} (SQLite cannot replace a \
                 function while statements run: a name keeps its kind and determinism \
                 for the life of a connection, and built-in functions cannot be \
                 replaced)",
                compiled.name
            ))
        })?;
        entries.push(Entry {
            arity,
            kind,
            deterministic,
            def,
        });
    }
    // The new definition takes its slot; others of the name are dropped.
    for e in entries.iter() {
        *lock(&e.def.current) = same(e).then(|| compiled.clone());
    }
    Ok(())
}

fn text_arg(ctx: &Context<'_>, i: usize, what: &str) -> rusqlite::Result<String> {
    match ctx.get_raw(i) {
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        _ => Err(user(format!("{what} must be TEXT"))),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "function name `{name}` must be letters, digits and `_`, not starting with a digit"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "wasm_create_function" | "wasm_create_aggregate" | "wasm_drop_function"
    ) || lower.starts_with("sqlite_")
    {
        return Err(format!("function name `{name}` is reserved"));
    }
    Ok(())
}

/// Compiles a stored or given definition.
fn compile(
    name: &str,
    kind: Kind,
    wasm: &[u8],
    export: &str,
    final_export: Option<&str>,
    signature: Option<&str>,
) -> Result<Compiled, String> {
    check_name(name)?;
    Compiled::new(name, kind, wasm, export, final_export, signature)
}

/// `wasm_create_function(name, module, export [, signature])` and
/// `wasm_create_aggregate(name, module, step, final [, signature])`.
fn create(ctx: &Context<'_>, reg: &Registry, kind: Kind) -> rusqlite::Result<Value> {
    let (fname, fixed) = match kind {
        Kind::Scalar => ("wasm_create_function", 3),
        Kind::Aggregate => ("wasm_create_aggregate", 4),
    };
    if ctx.len() != fixed && ctx.len() != fixed + 1 {
        return Err(user(format!(
            "{fname} takes {fixed} or {} arguments",
            fixed + 1
        )));
    }
    let name = text_arg(ctx, 0, "the name")?;
    let wasm = match ctx.get_raw(1) {
        ValueRef::Blob(b) => b.to_vec(),
        ValueRef::Text(t) => wat::parse_bytes(t)
            .map_err(|e| user(format!("{fname}: invalid module text: {e}")))?
            .into_owned(),
        _ => return Err(user(format!("{fname}: the module must be a BLOB or TEXT"))),
    };
    let export = text_arg(ctx, 2, "the export")?;
    let final_export = match kind {
        Kind::Aggregate => Some(text_arg(ctx, 3, "the final export")?),
        Kind::Scalar => None,
    };
    let signature = match ctx.len() > fixed {
        true => match ctx.get_raw(fixed) {
            ValueRef::Null => None,
            _ => Some(text_arg(ctx, fixed, "the signature")?),
        },
        false => None,
    };
    let compiled = compile(
        &name,
        kind,
        &wasm,
        &export,
        final_export.as_deref(),
        signature.as_deref(),
    )
    .map_err(|e| user(format!("{fname}({name}): {e}")))?;
    let conn = ffi::connection(ctx)?;
    conn.execute_batch(SCHEMA)?;
    let hash = compiled.module_hash.clone();
    define(&conn, reg, Arc::new(compiled))?;
    let stored = conn.execute(
        "INSERT OR REPLACE INTO hayate_wasm_functions
             (name, kind, module, export, final_export, signature, module_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            name,
            kind.as_str(),
            wasm,
            export,
            final_export,
            signature,
            hash
        ],
    );
    if let Err(e) = stored {
        undefine(reg, &name);
        return Err(e);
    }
    Ok(Value::Text(name))
}

/// Empties the slots of `name`; whether it was defined.
fn undefine(reg: &Registry, name: &str) -> bool {
    let mut known = false;
    if let Some(entries) = lock(&reg.entries).get(&name.to_lowercase()) {
        for e in entries {
            known |= lock(&e.def.current).take().is_some();
        }
    }
    known
}

/// `wasm_drop_function(name)`.
fn drop_function(ctx: &Context<'_>, reg: &Registry) -> rusqlite::Result<Value> {
    let name = text_arg(ctx, 0, "the name")?;
    let conn = ffi::connection(ctx)?;
    let mut known = undefine(reg, &name);
    let stored: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = ?1",
        params![TABLE],
        |r| r.get(0),
    )?;
    if stored {
        known |= conn.execute(
            "DELETE FROM hayate_wasm_functions WHERE name = ?1",
            params![name],
        )? > 0;
    }
    if !known {
        return Err(user(format!(
            "wasm_drop_function: no wasm function named {name}"
        )));
    }
    Ok(Value::Integer(1))
}

/// Registers the SQL interface on `conn` and brings back the functions
/// stored in its database. A stored function that no longer compiles is
/// skipped with a message on stderr.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let reg = Arc::new(Registry::default());
    let admin = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY;
    for kind in [Kind::Scalar, Kind::Aggregate] {
        let name = match kind {
            Kind::Scalar => "wasm_create_function",
            Kind::Aggregate => "wasm_create_aggregate",
        };
        let r = AssertUnwindSafe(reg.clone());
        conn.create_scalar_function(name, -1, admin, move |ctx| create(ctx, &r, kind))?;
    }
    let r = AssertUnwindSafe(reg.clone());
    conn.create_scalar_function("wasm_drop_function", 1, admin, move |ctx| {
        drop_function(ctx, &r)
    })?;
    // A read-only database cannot get the table; functions can then not be
    // created, which `wasm_create_function` reports.
    let _ = conn.execute_batch(SCHEMA);
    let stored: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = ?1",
        params![TABLE],
        |r| r.get(0),
    )?;
    if !stored {
        return Ok(());
    }
    let mut q = conn.prepare(STORED)?;
    for row in q.query_map([], compile_stored)? {
        let (name, compiled) = row?;
        match compiled {
            Ok(c) => define(conn, &reg, Arc::new(c))?,
            Err(e) => eprintln!("hayate-sqlite: cannot restore wasm function {name}: {e}"),
        }
    }
    Ok(())
}

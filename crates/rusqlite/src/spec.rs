//! The optional `signature` argument of `wasm_create_function` and
//! `wasm_create_aggregate`: SQL parameter and result types, then options,
//! and how they map onto the export's WebAssembly type.
//!
//! Grammar (case-insensitive, options separated by spaces or commas):
//!
//! ```text
//! spec      := [ '(' [type {',' type}] ')' [ '->' type ] ] {option}
//! type      := integer | real | text | blob
//! option    := deterministic | stateful | nulls
//!            | timeout=DURATION   (e.g. 500ms, 5s; default 5s)
//!            | memory=SIZE        (e.g. 16MiB, 1GiB, 65536; default 64MiB)
//!            | stack=SIZE         (default 512KiB)
//! ```

use std::fmt;
use std::time::Duration;

use hayate::{FuncType, ValType};

/// Default wall-clock budget of one statement in a function's guest.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap of a guest's linear memory.
pub const DEFAULT_MEMORY: usize = 64 << 20;
/// Default cap of a guest's stack.
pub const DEFAULT_STACK: usize = 512 << 10;

/// An SQL type a parameter or result is declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// 64-bit integer; `i32` or `i64` in Wasm.
    Integer,
    /// Floating point; `f32` or `f64` in Wasm.
    Real,
    /// UTF-8 text; a pointer and a length (`i32 i32`) in, a packed `i64` out.
    Text,
    /// Bytes; passed like text.
    Blob,
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SqlType::Integer => "integer",
            SqlType::Real => "real",
            SqlType::Text => "text",
            SqlType::Blob => "blob",
        })
    }
}

/// The options after the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Registered with `SQLITE_DETERMINISTIC`.
    pub deterministic: bool,
    /// One instance kept across statements (scalar functions only).
    pub stateful: bool,
    /// The function is called on NULL arguments instead of giving NULL.
    pub nulls: bool,
    /// Wall time the guest may run in one statement (one group for
    /// aggregates), summed over its calls.
    pub timeout: Duration,
    /// Cap of the guest's linear memory, in bytes.
    pub memory: usize,
    /// Cap of the guest's stack, in bytes.
    pub stack: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            deterministic: false,
            stateful: false,
            nulls: false,
            timeout: DEFAULT_TIMEOUT,
            memory: DEFAULT_MEMORY,
            stack: DEFAULT_STACK,
        }
    }
}

/// A parsed `signature` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// Declared parameters, if a `( ... )` was given.
    pub params: Option<Vec<SqlType>>,
    /// Declared result, if `-> type` was given.
    pub result: Option<SqlType>,
    /// The options.
    pub options: Options,
}

fn parse_type(word: &str) -> Result<SqlType, String> {
    match word.trim().to_ascii_lowercase().as_str() {
        "integer" | "int" => Ok(SqlType::Integer),
        "real" | "float" | "double" => Ok(SqlType::Real),
        "text" => Ok(SqlType::Text),
        "blob" => Ok(SqlType::Blob),
        other => Err(format!(
            "unknown type `{other}` (expected integer, real, text or blob)"
        )),
    }
}

fn parse_size(value: &str) -> Result<usize, String> {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("bad size `{value}` (e.g. 65536, 16MiB)"))?;
    let mult: usize = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("bad size unit in `{value}` (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{value}` too large"))
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("bad duration `{value}` (e.g. 500ms, 5s)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" | "min" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!("bad duration unit in `{value}` (use ms, s or min)")),
    }
}

impl Spec {
    /// Parses a `signature` argument (see the module docs).
    pub fn parse(text: &str) -> Result<Spec, String> {
        let mut spec = Spec::default();
        let mut rest = text.trim();
        if let Some(after) = rest.strip_prefix('(') {
            let close = after
                .find(')')
                .ok_or("signature: missing `)` after the parameter types")?;
            let inner = after[..close].trim();
            spec.params = Some(if inner.is_empty() {
                Vec::new()
            } else {
                inner.split(',').map(parse_type).collect::<Result<_, _>>()?
            });
            rest = after[close + 1..].trim_start();
            if let Some(after) = rest.strip_prefix("->") {
                let after = after.trim_start();
                let end = after
                    .find(|c: char| c.is_whitespace() || c == ',')
                    .unwrap_or(after.len());
                spec.result = Some(parse_type(&after[..end])?);
                rest = &after[end..];
            }
        }
        for word in rest.split(|c: char| c.is_whitespace() || c == ',') {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
                None => (word.to_ascii_lowercase(), None),
            };
            let o = &mut spec.options;
            match (key.as_str(), value) {
                ("deterministic", None) => o.deterministic = true,
                ("stateful", None) => o.stateful = true,
                ("nulls", None) => o.nulls = true,
                ("timeout", Some(v)) => o.timeout = parse_duration(v)?,
                ("memory", Some(v)) => o.memory = parse_size(v)?,
                ("stack", Some(v)) => o.stack = parse_size(v)?,
                _ => {
                    return Err(format!(
                        "unknown option `{word}` (expected deterministic, stateful, nulls, \
                         timeout=DURATION, memory=SIZE or stack=SIZE)"
                    ));
                }
            }
        }
        if spec.options.timeout.is_zero() {
            return Err("timeout must be positive".into());
        }
        if spec.options.stack < 16 << 10 {
            return Err("stack must be at least 16KiB".into());
        }
        Ok(spec)
    }
}

/// How one SQL parameter reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowered {
    /// An `i32` (INTEGER that must fit).
    I32,
    /// An `i64`.
    I64,
    /// An `f32`.
    F32,
    /// An `f64`.
    F64,
    /// TEXT or BLOB: `(ptr: i32, len: i32)` in the guest's memory.
    Bytes(SqlType),
}

/// How the guest's result becomes an SQL value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifted {
    /// No result (aggregate step).
    Nothing,
    /// `i32`/`i64` → INTEGER.
    Int,
    /// `f32`/`f64` → REAL.
    Float,
    /// A packed `i64` `(ptr << 32) | len` → TEXT or BLOB.
    Bytes(SqlType),
}

fn numeric(t: &ValType) -> Option<(SqlType, Lowered)> {
    match t {
        ValType::I32 => Some((SqlType::Integer, Lowered::I32)),
        ValType::I64 => Some((SqlType::Integer, Lowered::I64)),
        ValType::F32 => Some((SqlType::Real, Lowered::F32)),
        ValType::F64 => Some((SqlType::Real, Lowered::F64)),
        _ => None,
    }
}

/// Matches declared parameters (or, without a declaration, infers them)
/// against the export's parameter types.
pub fn lower_params(
    export: &str,
    declared: Option<&[SqlType]>,
    ty: &FuncType,
) -> Result<Vec<Lowered>, String> {
    let wasm: Vec<ValType> = ty.params().collect();
    let Some(declared) = declared else {
        return wasm
            .iter()
            .map(|t| {
                numeric(t).map(|(_, l)| l).ok_or_else(|| {
                    format!(
                        "export `{export}` has a parameter of type {t}, which has no SQL \
                         type; declare a signature such as '(text) -> integer'"
                    )
                })
            })
            .collect();
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mismatch = || {
        let decl: Vec<String> = declared.iter().map(|t| t.to_string()).collect();
        format!(
            "export `{export}` has type {ty}, which does not fit the parameters ({}): \
             integer is i32 or i64, real is f32 or f64, text and blob are i32 i32 \
             (pointer, length)",
            decl.join(", ")
        )
    };
    for d in declared {
        let lowered = match d {
            SqlType::Integer => match wasm.get(i) {
                Some(ValType::I32) => Lowered::I32,
                Some(ValType::I64) => Lowered::I64,
                _ => return Err(mismatch()),
            },
            SqlType::Real => match wasm.get(i) {
                Some(ValType::F32) => Lowered::F32,
                Some(ValType::F64) => Lowered::F64,
                _ => return Err(mismatch()),
            },
            SqlType::Text | SqlType::Blob => match (wasm.get(i), wasm.get(i + 1)) {
                (Some(ValType::I32), Some(ValType::I32)) => {
                    i += 1;
                    Lowered::Bytes(*d)
                }
                _ => return Err(mismatch()),
            },
        };
        i += 1;
        out.push(lowered);
    }
    if i != wasm.len() {
        return Err(mismatch());
    }
    Ok(out)
}

/// Matches the declared result (or infers it) against the export's results.
pub fn lift_result(
    export: &str,
    declared: Option<SqlType>,
    ty: &FuncType,
) -> Result<Lifted, String> {
    let wasm: Vec<ValType> = ty.results().collect();
    let lifted = match (declared, wasm.as_slice()) {
        (None, [t]) => match numeric(t) {
            Some((SqlType::Integer, _)) => Some(Lifted::Int),
            Some(_) => Some(Lifted::Float),
            None => None,
        },
        (Some(SqlType::Integer), [ValType::I32 | ValType::I64]) => Some(Lifted::Int),
        (Some(SqlType::Real), [ValType::F32 | ValType::F64]) => Some(Lifted::Float),
        (Some(t @ (SqlType::Text | SqlType::Blob)), [ValType::I64]) => Some(Lifted::Bytes(t)),
        _ => None,
    };
    lifted.ok_or_else(|| match declared {
        None => format!(
            "export `{export}` has type {ty}: it must return one i32, i64, f32 or f64, \
             or declare a signature such as '(integer) -> text'"
        ),
        Some(t) => format!(
            "export `{export}` has type {ty}, which cannot return {t}: integer is i32 or \
             i64, real is f32 or f64, text and blob are an i64 (pointer << 32 | length)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_and_options() {
        let s = Spec::parse("(text, Integer) -> blob deterministic, timeout=250ms memory=1MiB")
            .unwrap();
        assert_eq!(s.params, Some(vec![SqlType::Text, SqlType::Integer]));
        assert_eq!(s.result, Some(SqlType::Blob));
        assert!(s.options.deterministic && !s.options.stateful);
        assert_eq!(s.options.timeout, Duration::from_millis(250));
        assert_eq!(s.options.memory, 1 << 20);
        let s = Spec::parse("stateful nulls stack=64k").unwrap();
        assert_eq!(s.params, None);
        assert!(s.options.stateful && s.options.nulls);
        assert_eq!(s.options.stack, 64 << 10);
        assert!(
            Spec::parse("(txt) -> text")
                .unwrap_err()
                .contains("unknown type")
        );
        assert!(Spec::parse("fast").unwrap_err().contains("unknown option"));
        assert!(Spec::parse("timeout=0s").is_err());
    }
}

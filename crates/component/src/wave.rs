//! WAVE, the WebAssembly Value Encoding (`wasm-wave`), for [`Val`] and
//! [`Type`]: how `hayate run --invoke 'greet("world")'` parses a
//! component function's arguments and prints its result, as Wasmtime's
//! CLI does. Resource handles have no WAVE form.

use std::borrow::Cow;

use wasm_wave::wasm::{WasmType, WasmTypeKind, WasmValue, WasmValueError};

use crate::types::Type;
use crate::values::Val;

impl WasmType for Type {
    fn kind(&self) -> WasmTypeKind {
        match self {
            Type::Bool => WasmTypeKind::Bool,
            Type::S8 => WasmTypeKind::S8,
            Type::U8 => WasmTypeKind::U8,
            Type::S16 => WasmTypeKind::S16,
            Type::U16 => WasmTypeKind::U16,
            Type::S32 => WasmTypeKind::S32,
            Type::U32 => WasmTypeKind::U32,
            Type::S64 => WasmTypeKind::S64,
            Type::U64 => WasmTypeKind::U64,
            Type::Float32 => WasmTypeKind::F32,
            Type::Float64 => WasmTypeKind::F64,
            Type::Char => WasmTypeKind::Char,
            Type::String => WasmTypeKind::String,
            Type::List(_) => WasmTypeKind::List,
            Type::Record(_) => WasmTypeKind::Record,
            Type::Tuple(_) => WasmTypeKind::Tuple,
            Type::Variant(_) => WasmTypeKind::Variant,
            Type::Enum(_) => WasmTypeKind::Enum,
            Type::Option(_) => WasmTypeKind::Option,
            Type::Result { .. } => WasmTypeKind::Result,
            Type::Flags(_) => WasmTypeKind::Flags,
            Type::Own(_) | Type::Borrow(_) => WasmTypeKind::Unsupported,
        }
    }

    fn list_element_type(&self) -> Option<Self> {
        match self {
            Type::List(t) => Some((**t).clone()),
            _ => None,
        }
    }

    fn record_fields(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Self)> + '_> {
        match self {
            Type::Record(fields) => Box::new(
                fields
                    .iter()
                    .map(|(n, t)| (Cow::Borrowed(n.as_str()), t.clone())),
            ),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn tuple_element_types(&self) -> Box<dyn Iterator<Item = Self> + '_> {
        match self {
            Type::Tuple(types) => Box::new(types.iter().cloned()),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn variant_cases(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Option<Self>)> + '_> {
        match self {
            Type::Variant(cases) => Box::new(
                cases
                    .iter()
                    .map(|(n, t)| (Cow::Borrowed(n.as_str()), t.clone())),
            ),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn enum_cases(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Type::Enum(names) => Box::new(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn option_some_type(&self) -> Option<Self> {
        match self {
            Type::Option(t) => Some((**t).clone()),
            _ => None,
        }
    }

    fn result_types(&self) -> Option<(Option<Self>, Option<Self>)> {
        match self {
            Type::Result { ok, err } => Some((ok.as_deref().cloned(), err.as_deref().cloned())),
            _ => None,
        }
    }

    fn flags_names(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Type::Flags(names) => Box::new(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// The error for a value that does not fit its type.
fn mismatch(ty: &Type, what: &str) -> WasmValueError {
    WasmValueError::Other(format!("{what} does not fit type {ty:?}"))
}

impl WasmValue for Val {
    type Type = Type;

    fn kind(&self) -> WasmTypeKind {
        match self {
            Val::Bool(_) => WasmTypeKind::Bool,
            Val::S8(_) => WasmTypeKind::S8,
            Val::U8(_) => WasmTypeKind::U8,
            Val::S16(_) => WasmTypeKind::S16,
            Val::U16(_) => WasmTypeKind::U16,
            Val::S32(_) => WasmTypeKind::S32,
            Val::U32(_) => WasmTypeKind::U32,
            Val::S64(_) => WasmTypeKind::S64,
            Val::U64(_) => WasmTypeKind::U64,
            Val::Float32(_) => WasmTypeKind::F32,
            Val::Float64(_) => WasmTypeKind::F64,
            Val::Char(_) => WasmTypeKind::Char,
            Val::String(_) => WasmTypeKind::String,
            Val::List(_) => WasmTypeKind::List,
            Val::Record(_) => WasmTypeKind::Record,
            Val::Tuple(_) => WasmTypeKind::Tuple,
            Val::Variant(..) => WasmTypeKind::Variant,
            Val::Enum(_) => WasmTypeKind::Enum,
            Val::Option(_) => WasmTypeKind::Option,
            Val::Result(_) => WasmTypeKind::Result,
            Val::Flags(_) => WasmTypeKind::Flags,
            Val::Resource(_) => WasmTypeKind::Unsupported,
        }
    }

    fn make_bool(val: bool) -> Self {
        Val::Bool(val)
    }
    fn make_s8(val: i8) -> Self {
        Val::S8(val)
    }
    fn make_s16(val: i16) -> Self {
        Val::S16(val)
    }
    fn make_s32(val: i32) -> Self {
        Val::S32(val)
    }
    fn make_s64(val: i64) -> Self {
        Val::S64(val)
    }
    fn make_u8(val: u8) -> Self {
        Val::U8(val)
    }
    fn make_u16(val: u16) -> Self {
        Val::U16(val)
    }
    fn make_u32(val: u32) -> Self {
        Val::U32(val)
    }
    fn make_u64(val: u64) -> Self {
        Val::U64(val)
    }
    fn make_f32(val: f32) -> Self {
        Val::Float32(val)
    }
    fn make_f64(val: f64) -> Self {
        Val::Float64(val)
    }
    fn make_char(val: char) -> Self {
        Val::Char(val)
    }
    fn make_string(val: Cow<str>) -> Self {
        Val::String(val.into_owned())
    }

    fn make_list(ty: &Type, vals: impl IntoIterator<Item = Self>) -> Result<Self, WasmValueError> {
        let list = Val::List(vals.into_iter().collect());
        list.type_check(ty).map_err(|_| mismatch(ty, "a list"))?;
        Ok(list)
    }

    fn make_record<'a>(
        ty: &Type,
        fields: impl IntoIterator<Item = (&'a str, Self)>,
    ) -> Result<Self, WasmValueError> {
        let Type::Record(types) = ty else {
            return Err(mismatch(ty, "a record"));
        };
        let mut given: Vec<(&str, Val)> = fields.into_iter().collect();
        // The type's order, whatever order the text gave.
        let mut out = Vec::with_capacity(types.len());
        for (name, _) in types.iter() {
            let at = given
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| WasmValueError::MissingField(name.clone()))?;
            out.push((name.clone(), given.swap_remove(at).1));
        }
        if let Some((extra, _)) = given.first() {
            return Err(WasmValueError::UnknownField(extra.to_string()));
        }
        let record = Val::Record(out);
        record
            .type_check(ty)
            .map_err(|_| mismatch(ty, "a record"))?;
        Ok(record)
    }

    fn make_tuple(ty: &Type, vals: impl IntoIterator<Item = Self>) -> Result<Self, WasmValueError> {
        let tuple = Val::Tuple(vals.into_iter().collect());
        tuple.type_check(ty).map_err(|_| mismatch(ty, "a tuple"))?;
        Ok(tuple)
    }

    fn make_variant(ty: &Type, case: &str, val: Option<Self>) -> Result<Self, WasmValueError> {
        let v = Val::Variant(case.to_string(), val.map(Box::new));
        v.type_check(ty)
            .map_err(|_| mismatch(ty, "a variant case"))?;
        Ok(v)
    }

    fn make_enum(ty: &Type, case: &str) -> Result<Self, WasmValueError> {
        let v = Val::Enum(case.to_string());
        v.type_check(ty)
            .map_err(|_| WasmValueError::UnknownCase(case.to_string()))?;
        Ok(v)
    }

    fn make_option(ty: &Type, val: Option<Self>) -> Result<Self, WasmValueError> {
        let v = Val::Option(val.map(Box::new));
        v.type_check(ty).map_err(|_| mismatch(ty, "an option"))?;
        Ok(v)
    }

    fn make_result(
        ty: &Type,
        val: Result<Option<Self>, Option<Self>>,
    ) -> Result<Self, WasmValueError> {
        let v = Val::Result(val.map(|v| v.map(Box::new)).map_err(|e| e.map(Box::new)));
        v.type_check(ty).map_err(|_| mismatch(ty, "a result"))?;
        Ok(v)
    }

    fn make_flags<'a>(
        ty: &Type,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, WasmValueError> {
        let v = Val::Flags(names.into_iter().map(str::to_string).collect());
        v.type_check(ty).map_err(|_| mismatch(ty, "flags"))?;
        Ok(v)
    }

    fn unwrap_bool(&self) -> bool {
        matches!(self, Val::Bool(true))
    }
    fn unwrap_s8(&self) -> i8 {
        match self {
            Val::S8(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_s16(&self) -> i16 {
        match self {
            Val::S16(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_s32(&self) -> i32 {
        match self {
            Val::S32(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_s64(&self) -> i64 {
        match self {
            Val::S64(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_u8(&self) -> u8 {
        match self {
            Val::U8(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_u16(&self) -> u16 {
        match self {
            Val::U16(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_u32(&self) -> u32 {
        match self {
            Val::U32(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_u64(&self) -> u64 {
        match self {
            Val::U64(x) => *x,
            _ => 0,
        }
    }
    fn unwrap_f32(&self) -> f32 {
        match self {
            Val::Float32(x) => *x,
            _ => 0.0,
        }
    }
    fn unwrap_f64(&self) -> f64 {
        match self {
            Val::Float64(x) => *x,
            _ => 0.0,
        }
    }
    fn unwrap_char(&self) -> char {
        match self {
            Val::Char(c) => *c,
            _ => '\0',
        }
    }
    fn unwrap_string(&self) -> Cow<'_, str> {
        match self {
            Val::String(s) => Cow::Borrowed(s),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_list(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::List(items) => Box::new(items.iter().map(Cow::Borrowed)),
            _ => Box::new(std::iter::empty()),
        }
    }
    fn unwrap_record(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Cow<'_, Self>)> + '_> {
        match self {
            Val::Record(fields) => Box::new(
                fields
                    .iter()
                    .map(|(n, v)| (Cow::Borrowed(n.as_str()), Cow::Borrowed(v))),
            ),
            _ => Box::new(std::iter::empty()),
        }
    }
    fn unwrap_tuple(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match self {
            Val::Tuple(items) => Box::new(items.iter().map(Cow::Borrowed)),
            _ => Box::new(std::iter::empty()),
        }
    }
    fn unwrap_variant(&self) -> (Cow<'_, str>, Option<Cow<'_, Self>>) {
        match self {
            Val::Variant(case, payload) => (
                Cow::Borrowed(case.as_str()),
                payload.as_deref().map(Cow::Borrowed),
            ),
            _ => (Cow::Borrowed(""), None),
        }
    }
    fn unwrap_enum(&self) -> Cow<'_, str> {
        match self {
            Val::Enum(case) => Cow::Borrowed(case.as_str()),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_option(&self) -> Option<Cow<'_, Self>> {
        match self {
            Val::Option(v) => v.as_deref().map(Cow::Borrowed),
            _ => None,
        }
    }
    fn unwrap_result(&self) -> Result<Option<Cow<'_, Self>>, Option<Cow<'_, Self>>> {
        match self {
            Val::Result(Ok(v)) => Ok(v.as_deref().map(Cow::Borrowed)),
            Val::Result(Err(v)) => Err(v.as_deref().map(Cow::Borrowed)),
            _ => Ok(None),
        }
    }
    fn unwrap_flags(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match self {
            Val::Flags(names) => Box::new(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// A function call in WAVE (`greet("world", 3)`): the function's name
/// and its arguments, typed by `params` (trailing `option`s may be left
/// out).
pub fn parse_call(
    call: &str,
    mut params: impl FnMut(&str) -> Option<Vec<Type>>,
) -> anyhow::Result<(String, Vec<Val>)> {
    let parsed = wasm_wave::untyped::UntypedFuncCall::parse(call)
        .map_err(|e| anyhow::anyhow!("invalid function call `{call}`: {e}"))?;
    let name = parsed.name().to_string();
    let types = params(&name).ok_or_else(|| anyhow::anyhow!("no function `{name}`"))?;
    let args = parsed
        .to_wasm_params::<Val>(types.iter())
        .map_err(|e| anyhow::anyhow!("invalid arguments for `{name}`: {e}"))?;
    Ok((name, args))
}

/// `val` in WAVE.
pub fn to_string(val: &Val) -> anyhow::Result<String> {
    wasm_wave::to_string(val).map_err(|e| anyhow::anyhow!("cannot print {val:?} in WAVE: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::types::VariantCases;

    fn record() -> Type {
        Type::Record(
            vec![
                ("x".to_string(), Type::U32),
                ("name".to_string(), Type::String),
            ]
            .into(),
        )
    }

    #[test]
    fn calls_parse_against_their_types_and_values_print() {
        let variant = Type::Variant(Arc::new(VariantCases::new(vec![
            ("nothing".into(), None),
            ("number".into(), Some(Type::S32)),
        ])));
        let types = vec![
            Type::U32,
            Type::String,
            record(),
            variant,
            Type::Option(Arc::new(Type::Bool)),
        ];
        let (name, args) = parse_call(r#"f(7, "hi", {x: 1, name: "n"}, number(-3))"#, |n| {
            (n == "f").then(|| types.clone())
        })
        .unwrap();
        assert_eq!(name, "f");
        assert_eq!(args[0], Val::U32(7));
        assert_eq!(args[1], Val::String("hi".into()));
        assert_eq!(
            args[2],
            Val::Record(vec![
                ("x".into(), Val::U32(1)),
                ("name".into(), Val::String("n".into()))
            ])
        );
        assert_eq!(
            args[3],
            Val::Variant("number".into(), Some(Box::new(Val::S32(-3))))
        );
        assert_eq!(
            args[4],
            Val::Option(None),
            "a trailing option may be left out"
        );
        assert_eq!(to_string(&args[2]).unwrap(), r#"{x: 1, name: "n"}"#);
        assert!(parse_call("f(1)", |_| Some(types.clone())).is_err());
        assert!(parse_call("g()", |_| None).is_err());
        assert!(parse_call("f(\"x\", 1)", |_| Some(vec![Type::U32, Type::U32])).is_err());
    }
}

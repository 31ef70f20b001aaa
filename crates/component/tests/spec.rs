//! The component model's reference tests (`tests/spec/`, the `.wast`
//! files of the WebAssembly/component-model repository's `test/`
//! directory but `async/`, which no registry package ships; see
//! `tests/spec/README.md`), run by a small component `.wast` runner:
//! components, definitions and instances, `invoke`, `assert_return`,
//! `assert_trap`, `assert_invalid` and `assert_malformed`.
//!
//! `tests/spec-failing.txt` lists the files that do not pass yet, as the
//! core spec suites do: the test fails when a file not listed fails or a
//! listed file passes, so the list only shrinks. `HAYATE_SPEC_BLESS=1`
//! rewrites it; `HAYATE_SPEC_VERBOSE=1` prints every failure.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use hayate::{Engine, Store};
use hayate_component::{Component, Instance, Linker, Val};
use wast::component::WastVal;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/spec")
}

fn list_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/spec-failing.txt")
}

/// Every `.wast` file, as a path relative to `tests/spec`.
fn files() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![spec_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "wast") {
                let rel = path.strip_prefix(spec_dir()).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// The state of one script.
struct Runner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    definitions: HashMap<String, Component>,
    instances: HashMap<String, Instance>,
    last: Option<Instance>,
}

impl Runner {
    fn new() -> Runner {
        let engine = Engine::default();
        Runner {
            store: Store::new(&engine, ()),
            linker: Linker::new(&engine),
            engine,
            definitions: HashMap::new(),
            instances: HashMap::new(),
            last: None,
        }
    }

    fn compile(&self, wat: &mut QuoteWat<'_>) -> Result<Component> {
        let bytes = wat.encode()?;
        Component::new(&self.engine, bytes)
    }

    fn instantiate(&mut self, component: &Component, name: Option<&str>) -> Result<()> {
        let instance = self.linker.instantiate(&mut self.store, component)?;
        if let Some(name) = name {
            self.instances.insert(name.to_string(), instance.clone());
        }
        self.last = Some(instance);
        Ok(())
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Option<Val>> {
        let instance = match invoke.module {
            Some(id) => self
                .instances
                .get(id.name())
                .with_context(|| format!("no instance `{}`", id.name()))?,
            None => self.last.as_ref().context("no instance")?,
        };
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .with_context(|| format!("no export `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|a| match a {
                WastArg::Component(v) => val(v),
                _ => bail!("a core argument to a component function"),
            })
            .collect::<Result<Vec<_>>>()?;
        let n = func.ty().map_or(0, |t| usize::from(t.result.is_some()));
        let mut results = vec![Val::Bool(false); n];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results.pop())
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Option<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(wat) => {
                let component = self.compile(&mut QuoteWat::Wat(wat))?;
                self.instantiate(&component, None)?;
                Ok(None)
            }
            WastExecute::Get { .. } => bail!("`get` on a component"),
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut wat) => {
                let name = wat_name(&wat);
                let component = self.compile(&mut wat)?;
                self.instantiate(&component, name.as_deref())
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let component = self.compile(&mut wat)?;
                if let Some(name) = wat_name(&wat) {
                    self.definitions.insert(name, component);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = module.context("an instance of no definition")?;
                let component = self
                    .definitions
                    .get(def.name())
                    .with_context(|| format!("no definition `{}`", def.name()))?
                    .clone();
                self.instantiate(&component, instance.map(|i| i.name()))
            }
            WastDirective::Invoke(invoke) => self.invoke(&invoke).map(drop),
            WastDirective::AssertReturn { exec, results, .. } => {
                let got = self.execute(exec)?;
                let want = results
                    .iter()
                    .map(|r| match r {
                        WastRet::Component(v) => Ok(v),
                        _ => bail!("a core result from a component function"),
                    })
                    .collect::<Result<Vec<_>>>()?;
                match (got, want.as_slice()) {
                    (None, []) => Ok(()),
                    (Some(got), [want]) => {
                        ensure!(matches(&got, want), "got {got:?}, expected {want:?}");
                        Ok(())
                    }
                    (got, want) => bail!("got {got:?}, expected {want:?}"),
                }
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(v) => bail!("expected a trap ({message}), got {v:?}"),
                Err(_) => Ok(()),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => match self.compile(&mut module) {
                Ok(_) => bail!("expected an invalid component ({message}), it compiled"),
                Err(_) => Ok(()),
            },
            other => bail!("unsupported directive {other:?}"),
        }
    }
}

/// The `$name` of a component (or definition) directive.
fn wat_name(wat: &QuoteWat<'_>) -> Option<String> {
    match wat {
        QuoteWat::Wat(Wat::Component(c)) => c.id.map(|id| id.name().to_string()),
        QuoteWat::Wat(Wat::Module(m)) => m.id.map(|id| id.name().to_string()),
        _ => None,
    }
}

/// A script value as a dynamic value.
fn val(v: &WastVal<'_>) -> Result<Val> {
    let boxed = |v: &Option<Box<WastVal<'_>>>| -> Result<Option<Box<Val>>> {
        v.as_ref().map(|v| val(v).map(Box::new)).transpose()
    };
    Ok(match v {
        WastVal::Bool(b) => Val::Bool(*b),
        WastVal::U8(x) => Val::U8(*x),
        WastVal::S8(x) => Val::S8(*x),
        WastVal::U16(x) => Val::U16(*x),
        WastVal::S16(x) => Val::S16(*x),
        WastVal::U32(x) => Val::U32(*x),
        WastVal::S32(x) => Val::S32(*x),
        WastVal::U64(x) => Val::U64(*x),
        WastVal::S64(x) => Val::S64(*x),
        WastVal::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        WastVal::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        WastVal::Char(c) => Val::Char(*c),
        WastVal::String(s) => Val::String(s.to_string()),
        WastVal::List(items) => Val::List(items.iter().map(val).collect::<Result<_>>()?),
        WastVal::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, v)| Ok((n.to_string(), val(v)?)))
                .collect::<Result<_>>()?,
        ),
        WastVal::Tuple(items) => Val::Tuple(items.iter().map(val).collect::<Result<_>>()?),
        WastVal::Variant(n, v) => Val::Variant(n.to_string(), boxed(v)?),
        WastVal::Enum(n) => Val::Enum(n.to_string()),
        WastVal::Option(v) => Val::Option(boxed(v)?),
        WastVal::Result(Ok(v)) => Val::Result(Ok(boxed(v)?)),
        WastVal::Result(Err(v)) => Val::Result(Err(boxed(v)?)),
        WastVal::Flags(names) => Val::Flags(names.iter().map(|n| n.to_string()).collect()),
        WastVal::Map(entries) => Val::List(
            entries
                .iter()
                .map(|(k, v)| Ok(Val::Tuple(vec![val(k)?, val(v)?])))
                .collect::<Result<_>>()?,
        ),
    })
}

/// Whether `got` is `want` (NaNs match NaNs; flags in any order).
fn matches(got: &Val, want: &WastVal<'_>) -> bool {
    match (got, want) {
        (Val::Float32(g), WastVal::F32(w)) => {
            let w = f32::from_bits(w.bits);
            (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits()
        }
        (Val::Float64(g), WastVal::F64(w)) => {
            let w = f64::from_bits(w.bits);
            (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits()
        }
        (Val::Flags(g), WastVal::Flags(w)) => {
            let g: BTreeSet<&str> = g.iter().map(String::as_str).collect();
            let w: BTreeSet<&str> = w.iter().copied().collect();
            g == w
        }
        (Val::List(g), WastVal::List(w)) | (Val::Tuple(g), WastVal::Tuple(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| matches(g, w))
        }
        (Val::Record(g), WastVal::Record(w)) => {
            g.len() == w.len()
                && g.iter()
                    .zip(w)
                    .all(|((gn, g), (wn, w))| gn == wn && matches(g, w))
        }
        (Val::Variant(gn, g), WastVal::Variant(wn, w)) => gn == wn && payload(g, w),
        (Val::Option(g), WastVal::Option(w)) => payload(g, w),
        (Val::Result(Ok(g)), WastVal::Result(Ok(w)))
        | (Val::Result(Err(g)), WastVal::Result(Err(w))) => payload(g, w),
        (got, want) => val(want).is_ok_and(|w| &w == got),
    }
}

fn payload(got: &Option<Box<Val>>, want: &Option<Box<WastVal<'_>>>) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(g), Some(w)) => matches(g, w),
        _ => false,
    }
}

/// Runs one script; the failures of its directives.
fn run_file(path: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("reading: {e}")],
    };
    let buf = match ParseBuffer::new(&text) {
        Ok(b) => b,
        Err(e) => return vec![format!("lexing: {e}")],
    };
    let wast: Wast<'_> = match parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => return vec![format!("parsing: {e}")],
    };
    let mut runner = Runner::new();
    let mut failures = Vec::new();
    for directive in wast.directives {
        let (line, col) = directive.span().linecol_in(&text);
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.directive(directive)));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{}:{}: {e:#}", line + 1, col + 1)),
            Err(_) => {
                failures.push(format!("{}:{}: panicked", line + 1, col + 1));
                break;
            }
        }
    }
    failures
}

fn read_list() -> BTreeSet<String> {
    std::fs::read_to_string(list_path())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn component_model_reference_tests() {
    let verbose = std::env::var_os("HAYATE_SPEC_VERBOSE").is_some();
    let mut failing = BTreeSet::new();
    for file in files() {
        let failures = run_file(&spec_dir().join(&file));
        if !failures.is_empty() {
            if verbose {
                for f in &failures {
                    eprintln!("{file}:{f}");
                }
            }
            failing.insert(file);
        }
    }
    if std::env::var_os("HAYATE_SPEC_BLESS").is_some() {
        let mut text = String::from(
            "# Component-model reference tests that do not pass yet; see tests/spec.rs.\n\
             # This list may only shrink: remove a file as soon as it passes.\n",
        );
        for f in &failing {
            text.push_str(f);
            text.push('\n');
        }
        std::fs::write(list_path(), text).unwrap();
        return;
    }
    let listed = read_list();
    let new: Vec<_> = failing.difference(&listed).collect();
    let fixed: Vec<_> = listed.difference(&failing).collect();
    let total = files().len();
    eprintln!(
        "component-model reference tests: {total} files, {} failing",
        failing.len()
    );
    assert!(new.is_empty(), "files failing that are not listed: {new:?}");
    assert!(
        fixed.is_empty(),
        "listed files that pass now (unlist them): {fixed:?}"
    );
}

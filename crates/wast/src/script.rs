//! Running the directives of one script against one store.

use crate::{Report, spectest, traps, values};
use hayate::{Engine, Instance, Linker, Module, Store, Trap, Val};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Parses and runs `text`, catching panics per directive.
pub(crate) fn run(engine: &Engine, file: &str, text: &str) -> Report {
    let text = &legacy_keywords(text);
    let mut report = Report::new(file);
    let loc = |span: Span| {
        let (line, col) = span.linecol_in(text);
        (line + 1, col + 1)
    };
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buf) => buf,
        Err(e) => {
            let (line, col) = loc(e.span());
            report.fail(line, col, format!("cannot parse script: {}", e.message()));
            return report;
        }
    };
    let directives = match parser::parse::<Wast<'_>>(&buf) {
        Ok(wast) => wast.directives,
        Err(e) => {
            let (line, col) = loc(e.span());
            report.fail(line, col, format!("cannot parse script: {}", e.message()));
            return report;
        }
    };

    let mut script = match guarded(|| Script::new(engine)) {
        Ok(Ok(script)) => script,
        Ok(Err(e)) => {
            report.fail(1, 1, format!("cannot define the spectest module: {e}"));
            return report;
        }
        Err(panic) => {
            report.fail(
                1,
                1,
                format!("panic while defining the spectest module: {panic}"),
            );
            return report;
        }
    };
    for directive in directives {
        let (line, col) = loc(directive.span());
        match guarded(|| script.run(directive)) {
            Ok(Ok(())) => report.pass(),
            Ok(Err(reason)) => report.fail(line, col, reason),
            Err(panic) => report.fail(line, col, format!("panic: {panic}")),
        }
    }
    report
}

/// Older scripts write `assert_uninstantiable` for what is now
/// `assert_trap (module ...)` (a trap in the start function); the `wast`
/// crate only knows the latter. The keyword is replaced by one of the same
/// length, so that line and column numbers stay right.
fn legacy_keywords(text: &str) -> std::borrow::Cow<'_, str> {
    const OLD: &str = "(assert_uninstantiable";
    const NEW: &str = "(assert_trap          ";
    if text.contains(OLD) {
        text.replace(OLD, NEW).into()
    } else {
        text.into()
    }
}

thread_local! {
    /// Set while a directive runs, so the hook of [`install_panic_hook`]
    /// records the panic instead of printing it.
    static CAPTURE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Runs `f`, turning a panic into its message (with its location when the
/// hook of [`crate::install_panic_hook`] is installed).
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    CAPTURE.with(|c| *c.borrow_mut() = Some(None));
    let result = catch_unwind(AssertUnwindSafe(f));
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).flatten();
    result.map_err(|payload| captured.unwrap_or_else(|| panic_message(&*payload)))
}

/// Installs a process-wide panic hook that, on a thread running a directive,
/// records the panic's message and location for the failure report instead of
/// printing it. Panics elsewhere go to the previous hook.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let captured = CAPTURE.with(|c| {
            let mut c = c.borrow_mut();
            match c.as_mut() {
                Some(slot) => {
                    let msg = panic_message(info.payload());
                    *slot = Some(match info.location() {
                        Some(l) => format!("{msg} (at {}:{}:{})", l.file(), l.line(), l.column()),
                        None => msg,
                    });
                    true
                }
                None => false,
            }
        });
        if !captured {
            previous(info);
        }
    }));
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Why an execution did not produce values.
enum ExecError {
    /// The directive could not be carried out (unknown export, bad module
    /// text, ...): a failure whatever the directive expected.
    Setup(String),
    /// The engine returned an error: a trap, or a failed instantiation.
    Engine(hayate::Error),
}

impl From<String> for ExecError {
    fn from(s: String) -> ExecError {
        ExecError::Setup(s)
    }
}

/// The trap code of an error, if it is a trap.
fn trap_of(e: &hayate::Error) -> Option<Trap> {
    e.downcast_ref::<Trap>().copied()
}

/// The first line of the message at the root of an error (its outer
/// layers are context such as the Wasm backtrace).
fn first_line(e: &hayate::Error) -> String {
    e.root_cause()
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Describes an engine error on one line for failure messages.
fn describe(e: &hayate::Error) -> String {
    match trap_of(e) {
        Some(trap) => format!("trap {trap:?} ({})", first_line(e)),
        None => format!("error ({})", first_line(e)),
    }
}

fn fmt_vals(store: &Store<()>, vals: &[Val]) -> String {
    if vals.is_empty() {
        return "nothing".into();
    }
    vals.iter()
        .map(|v| values::fmt_val(&store, v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The state of one script: one store, its linker with `spectest` and the
/// registered instances, and the named modules and instances.
struct Script<'e> {
    engine: &'e Engine,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    last_definition: Option<Module>,
    /// Whether the last `module` directive failed (for clearer messages).
    module_failed: bool,
}

impl<'e> Script<'e> {
    fn new(engine: &'e Engine) -> hayate::Result<Script<'e>> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store)?;
        Ok(Script {
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            module_failed: false,
        })
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Result<(), String> {
        use WastDirective as D;
        match directive {
            D::Module(mut module) => {
                let name = module.name();
                self.current = None;
                self.module_failed = true;
                let module = self.compile(&mut module)?;
                let instance = self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .map_err(|e| format!("module failed to instantiate: {}", describe(&e)))?;
                self.set_current(name, instance);
                self.module_failed = false;
                Ok(())
            }
            D::ModuleDefinition(mut module) => {
                let name = module.name();
                let module = self.compile(&mut module)?;
                if let Some(name) = name {
                    self.definitions
                        .insert(name.name().to_string(), module.clone());
                }
                self.last_definition = Some(module);
                Ok(())
            }
            D::ModuleInstance {
                instance, module, ..
            } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()),
                    None => self.last_definition.as_ref(),
                };
                let definition = definition.ok_or("unknown module definition")?.clone();
                let new = self
                    .linker
                    .instantiate(&mut self.store, &definition)
                    .map_err(|e| format!("module failed to instantiate: {}", describe(&e)))?;
                self.set_current(instance, new);
                Ok(())
            }
            D::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&mut self.store, name, instance)
                    .map_err(|e| format!("cannot register `{name}`: {e}"))?;
                Ok(())
            }
            D::Invoke(call) => match self.invoke(&call) {
                Ok(_) => Ok(()),
                Err(ExecError::Setup(s)) => Err(s),
                Err(ExecError::Engine(e)) => Err(format!("invoke failed: {}", describe(&e))),
            },
            D::AssertReturn { exec, results, .. } => self.assert_return(exec, &results),
            D::AssertTrap { exec, message, .. } => self.assert_trap(exec, message),
            D::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(vals) => Err(format!(
                    "expected stack exhaustion, got {}",
                    fmt_vals(&self.store, &vals)
                )),
                Err(ExecError::Setup(s)) => Err(s),
                Err(ExecError::Engine(e)) if trap_of(&e) == Some(Trap::StackOverflow) => Ok(()),
                Err(ExecError::Engine(e)) => Err(format!(
                    "expected `{message}` (stack overflow), got {}",
                    describe(&e)
                )),
            },
            D::AssertInvalid {
                module, message, ..
            } => self.assert_rejected("assert_invalid", module, message),
            D::AssertMalformed {
                module, message, ..
            } => self.assert_rejected("assert_malformed", module, message),
            D::AssertUnlinkable {
                module, message, ..
            } => self.assert_unlinkable(module, message),
            D::AssertException { exec, .. } => match self.execute(exec) {
                Ok(vals) => Err(format!(
                    "expected an uncaught exception, got {}",
                    fmt_vals(&self.store, &vals)
                )),
                Err(ExecError::Setup(s)) => Err(s),
                Err(ExecError::Engine(e))
                    if e.downcast_ref::<hayate::ThrownException>().is_some() =>
                {
                    Ok(())
                }
                Err(ExecError::Engine(e)) => Err(format!(
                    "expected an uncaught exception, got {}",
                    describe(&e)
                )),
            },
            D::AssertSuspension { .. } => Err("unsupported directive `assert_suspension`".into()),
            D::Thread(_) => Err("unsupported directive `thread`".into()),
            D::Wait { .. } => Err("unsupported directive `wait`".into()),
            D::AssertInvalidCustom { .. } => {
                Err("unsupported directive `assert_invalid_custom`".into())
            }
            D::AssertMalformedCustom { .. } => {
                Err("unsupported directive `assert_malformed_custom`".into())
            }
        }
    }

    fn set_current(&mut self, name: Option<Id<'_>>, instance: Instance) {
        if let Some(name) = name {
            self.instances.insert(name.name().to_string(), instance);
        }
        self.current = Some(instance);
    }

    fn instance(&self, id: Option<Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or(format!("unknown module ${}", id.name())),
            None if self.module_failed => Err("no current module: the last module failed".into()),
            None => self
                .current
                .ok_or_else(|| "no module has been instantiated".into()),
        }
    }

    /// Encodes and compiles a module; failure to do either is a setup error.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module, String> {
        if matches!(
            module,
            QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
        ) {
            return Err("components are not supported".into());
        }
        let bytes = module
            .encode()
            .map_err(|e| format!("cannot encode module: {}", e.message()))?;
        Module::from_binary(self.engine, &bytes)
            .map_err(|e| format!("module failed to compile: {e}"))
    }

    fn invoke(&mut self, call: &WastInvoke<'_>) -> Result<Vec<Val>, ExecError> {
        let instance = self.instance(call.module)?;
        let func = instance
            .get_func(&mut self.store, call.name)
            .ok_or_else(|| format!("no exported function `{}`", call.name))?;
        let ty = func.ty(&self.store);
        if ty.params().len() != call.args.len() {
            return Err(ExecError::Setup(format!(
                "`{}` takes {} arguments, the script passes {}",
                call.name,
                ty.params().len(),
                call.args.len()
            )));
        }
        let mut args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            args.push(values::arg_to_val(&mut self.store, arg)?);
        }
        let mut results = vec![Val::I32(0); ty.results().len()];
        func.call(&mut self.store, &args, &mut results)
            .map_err(ExecError::Engine)?;
        Ok(results)
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, ExecError> {
        match exec {
            WastExecute::Invoke(call) => self.invoke(&call),
            WastExecute::Wat(wat) => {
                let module = self.compile(&mut QuoteWat::Wat(wat))?;
                self.linker
                    .instantiate(&mut self.store, &module)
                    .map_err(ExecError::Engine)?;
                Ok(Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let g = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| format!("no exported global `{global}`"))?;
                Ok(vec![g.get(&mut self.store)])
            }
        }
    }

    fn assert_return(
        &mut self,
        exec: WastExecute<'_>,
        expected: &[WastRet<'_>],
    ) -> Result<(), String> {
        let actual = match self.execute(exec) {
            Ok(vals) => vals,
            Err(ExecError::Setup(s)) => return Err(s),
            Err(ExecError::Engine(e)) => {
                return Err(format!("expected a return, got {}", describe(&e)));
            }
        };
        if actual.len() != expected.len() {
            return Err(format!(
                "expected {} results, got {} ({})",
                expected.len(),
                actual.len(),
                fmt_vals(&self.store, &actual)
            ));
        }
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            values::check_result(&self.store, a, e).map_err(|m| format!("result {i}: {m}"))?;
        }
        Ok(())
    }

    fn assert_trap(&mut self, exec: WastExecute<'_>, message: &str) -> Result<(), String> {
        match self.execute(exec) {
            Ok(vals) => Err(format!(
                "expected trap `{message}`, got {}",
                fmt_vals(&self.store, &vals)
            )),
            Err(ExecError::Setup(s)) => Err(s),
            Err(ExecError::Engine(e)) => {
                if traps::matches(message, trap_of(&e), &first_line(&e)) {
                    Ok(())
                } else {
                    Err(format!("expected trap `{message}`, got {}", describe(&e)))
                }
            }
        }
    }

    /// `assert_invalid` and `assert_malformed`: the module must fail to
    /// encode or to load. The expected message is informative only.
    fn assert_rejected(
        &mut self,
        kind: &str,
        mut module: QuoteWat<'_>,
        message: &str,
    ) -> Result<(), String> {
        let Ok(bytes) = module.encode() else {
            return Ok(()); // rejected by the text parser
        };
        match Module::from_binary(self.engine, &bytes) {
            Ok(_) => Err(format!(
                "{kind}: module loaded, but should fail with `{message}`"
            )),
            Err(_) => Ok(()),
        }
    }

    /// `assert_unlinkable`: the module compiles, and instantiating it fails
    /// with an error that is not a trap.
    fn assert_unlinkable(&mut self, module: Wat<'_>, message: &str) -> Result<(), String> {
        let module = self.compile(&mut QuoteWat::Wat(module))?;
        match self.linker.instantiate(&mut self.store, &module) {
            Ok(_) => Err(format!("module linked, but should fail with `{message}`")),
            Err(e) if trap_of(&e).is_some() => Err(format!(
                "expected link error `{message}`, got {}",
                describe(&e)
            )),
            Err(_) => Ok(()),
        }
    }
}

//! `wasi:cli`: arguments and environment, `exit`, the standard streams
//! (the context's, as preview1 sees them) and the terminal interfaces
//! (a standard stream is a terminal when the host's is).

use anyhow::Result;
use hayate::StoreContextMut;
use hayate_component::{Linker, Val};

use super::io::{InputStream, OutputStream};
use super::{GetCtx, arg, handle, interface, resource, ret};
use crate::I32Exit;
use crate::table::Kind;

/// `wasi:cli/terminal-input`'s `terminal-input`.
pub(crate) struct TerminalInput;
/// `wasi:cli/terminal-output`'s `terminal-output`.
pub(crate) struct TerminalOutput;

fn string(bytes: &[u8]) -> Val {
    Val::String(String::from_utf8_lossy(bytes).into_owned())
}

/// Whether preview1 fd `fd` (0, 1 or 2) is a host terminal.
fn is_terminal(ctx: &crate::WasiCtx, fd: i32) -> bool {
    let host = match ctx.table.get(fd).map(|e| &e.kind) {
        Ok(Kind::Input(i)) => i.host_fd(),
        Ok(Kind::Output(o)) => o.host_fd(),
        _ => None,
    };
    host.is_some_and(rustix::termios::isatty)
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut env = interface(linker, "wasi:cli/environment")?;
    env.func_new(
        "get-environment",
        move |mut store: StoreContextMut<'_, T>, _, results| {
            let ctx = get(store.data_mut());
            let pairs = ctx.env.iter().map(|kv| {
                let (k, v) = match kv.iter().position(|&b| b == b'=') {
                    Some(i) => (&kv[..i], &kv[i + 1..]),
                    None => (&kv[..], &[][..]),
                };
                Val::Tuple(vec![string(k), string(v)])
            });
            ret(results, Val::List(pairs.collect()))
        },
    )?;
    env.func_new(
        "get-arguments",
        move |mut store: StoreContextMut<'_, T>, _, results| {
            let ctx = get(store.data_mut());
            let args = ctx.args.iter().map(|a| string(a)).collect();
            ret(results, Val::List(args))
        },
    )?;
    env.func_new("initial-cwd", |_, _, results| {
        ret(results, Val::Option(None))
    })?;

    let mut exit = interface(linker, "wasi:cli/exit")?;
    exit.func_new("exit", |_, args, _| {
        let code = match arg(args, 0)? {
            Val::Result(Ok(_)) => 0,
            _ => 1,
        };
        Err(anyhow::Error::new(I32Exit(code)))
    })?;
    exit.func_new("exit-with-code", |_, args, _| {
        let code = match arg(args, 0)? {
            Val::U8(c) => i32::from(*c),
            _ => 1,
        };
        Err(anyhow::Error::new(I32Exit(code)))
    })?;

    let mut stdin = interface(linker, "wasi:cli/stdin")?;
    stdin.func_new(
        "get-stdin",
        move |mut store: StoreContextMut<'_, T>, _, results| {
            let s = get(store.data_mut()).p2.push(InputStream::Stdin)?;
            ret(results, handle(s))
        },
    )?;
    for (name, func, fd) in [
        ("wasi:cli/stdout", "get-stdout", 1),
        ("wasi:cli/stderr", "get-stderr", 2),
    ] {
        let mut inst = interface(linker, name)?;
        inst.func_new(
            func,
            move |mut store: StoreContextMut<'_, T>, _, results| {
                let s = get(store.data_mut()).p2.push(OutputStream::Stdio(fd))?;
                ret(results, handle(s))
            },
        )?;
    }

    let mut input = interface(linker, "wasi:cli/terminal-input")?;
    resource::<T, TerminalInput>(&mut input, "terminal-input", get, |_, _| {})?;
    let mut output = interface(linker, "wasi:cli/terminal-output")?;
    resource::<T, TerminalOutput>(&mut output, "terminal-output", get, |_, _| {})?;
    let mut stdin = interface(linker, "wasi:cli/terminal-stdin")?;
    stdin.func_new(
        "get-terminal-stdin",
        move |mut store: StoreContextMut<'_, T>, _, results| {
            let ctx = get(store.data_mut());
            let t = match is_terminal(ctx, 0) {
                true => Some(Box::new(handle(ctx.p2.push(TerminalInput)?))),
                false => None,
            };
            ret(results, Val::Option(t))
        },
    )?;
    for (name, func, fd) in [
        ("wasi:cli/terminal-stdout", "get-terminal-stdout", 1),
        ("wasi:cli/terminal-stderr", "get-terminal-stderr", 2),
    ] {
        let mut inst = interface(linker, name)?;
        inst.func_new(
            func,
            move |mut store: StoreContextMut<'_, T>, _, results| {
                let ctx = get(store.data_mut());
                let t = match is_terminal(ctx, fd) {
                    true => Some(Box::new(handle(ctx.p2.push(TerminalOutput)?))),
                    false => None,
                };
                ret(results, Val::Option(t))
            },
        )?;
    }
    Ok(())
}

//! A compiler that compiles whole modules in a child process
//! (`hayate_runtime::isolate`): the LLVM tier runs behind it, so that a
//! crash of LLVM on a hostile module is a compile error of that module
//! and not the end of the host. The child also takes LLVM's memory with
//! it when it exits.
//!
//! The child sends the compiled module back in the artifact metadata's
//! encoding: a tag, then for a module its metadata, bulk and text, each
//! with a length; for an error its kind and message.

use hayate_environ::encode::{Decoder, Encoder};
use hayate_environ::{
    CompileError, CompiledBody, CompiledModule, Compiler, DefinedFuncIndex, FuncType, ModuleInput,
    Target, Tunables, VMOffsets,
};

/// `inner`, with whole-module compilation in a child process.
#[derive(Debug)]
pub(crate) struct IsolatedCompiler {
    inner: Box<dyn Compiler>,
}

impl IsolatedCompiler {
    pub(crate) fn new(inner: Box<dyn Compiler>) -> IsolatedCompiler {
        IsolatedCompiler { inner }
    }

    fn in_child(
        &self,
        compile: impl FnOnce() -> Result<CompiledModule, CompileError>,
    ) -> Result<CompiledModule, CompileError> {
        // No other thread of this process may be inside LLVM at the fork:
        // the child would find LLVM's state locked for good.
        let paused = hayate_llvm::pause_for_fork();
        let bytes = hayate_runtime::isolate::in_child_process(paused, || encode(compile()))
            .map_err(|e| {
                CompileError::Codegen(format!(
                    "LLVM failed on this module ({e}); Cranelift, the default strategy, may compile it"
                ))
            })?;
        decode(&bytes).ok_or_else(|| {
            CompileError::Codegen("the compiler process sent a malformed module".into())
        })?
    }
}

const OK: u8 = 0;
const UNSUPPORTED: u8 = 1;
const CODEGEN: u8 = 2;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode(result: Result<CompiledModule, CompileError>) -> Vec<u8> {
    let mut out = Vec::new();
    match result {
        Ok(module) => {
            let mut e = Encoder::new();
            e.put(&module);
            out.push(OK);
            put_bytes(&mut out, &e.bytes);
            put_bytes(&mut out, &e.bulk);
            put_bytes(&mut out, &module.text);
        }
        Err(CompileError::Unsupported(why)) => {
            out.push(UNSUPPORTED);
            put_bytes(&mut out, why.as_bytes());
        }
        Err(e) => {
            let message = match e {
                CompileError::Codegen(message) => message,
                other => other.to_string(),
            };
            out.push(CODEGEN);
            put_bytes(&mut out, message.as_bytes());
        }
    }
    out
}

/// Splits the next length-prefixed byte string off `bytes`.
fn take_bytes<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = bytes.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let (taken, rest) = rest.split_at_checked(len)?;
    *bytes = rest;
    Some(taken)
}

fn decode(mut bytes: &[u8]) -> Option<Result<CompiledModule, CompileError>> {
    let (&tag, rest) = bytes.split_first()?;
    bytes = rest;
    let result = match tag {
        OK => {
            let (metadata, bulk, text) = (
                take_bytes(&mut bytes)?,
                take_bytes(&mut bytes)?,
                take_bytes(&mut bytes)?,
            );
            let mut d = Decoder::with_bulk(metadata, bulk);
            let mut module: CompiledModule = d.get().ok()?;
            d.finish().ok()?;
            module.text = text.to_vec();
            Ok(module)
        }
        UNSUPPORTED | CODEGEN => {
            let message = String::from_utf8_lossy(take_bytes(&mut bytes)?).into_owned();
            Err(match tag {
                UNSUPPORTED => CompileError::Unsupported(message),
                _ => CompileError::Codegen(message),
            })
        }
        _ => return None,
    };
    bytes.is_empty().then_some(result)
}

impl Compiler for IsolatedCompiler {
    fn target(&self) -> &Target {
        self.inner.target()
    }

    fn tunables(&self) -> &Tunables {
        self.inner.tunables()
    }

    fn isa_flags(&self) -> Vec<(String, String)> {
        self.inner.isa_flags()
    }

    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }

    fn compile_function(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.inner.compile_function(module, index)
    }

    fn compile_array_to_wasm(
        &self,
        module: &ModuleInput<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledBody, CompileError> {
        self.inner.compile_array_to_wasm(module, index)
    }

    fn compile_wasm_to_array(
        &self,
        offsets: &VMOffsets,
        ty: &FuncType,
    ) -> Result<CompiledBody, CompileError> {
        self.inner.compile_wasm_to_array(offsets, ty)
    }

    fn compile_call_adapter(&self, ty: &FuncType) -> Result<CompiledBody, CompileError> {
        self.inner.compile_call_adapter(ty)
    }

    fn compile_module(&self, module: &ModuleInput<'_>) -> Result<CompiledModule, CompileError> {
        self.in_child(|| self.inner.compile_module(module))
    }

    fn compile_module_on(
        &self,
        module: &ModuleInput<'_>,
        threads: usize,
    ) -> Result<CompiledModule, CompileError> {
        self.in_child(|| self.inner.compile_module_on(module, threads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_and_damage_is_refused() {
        let module = CompiledModule {
            text: vec![0xc3, 0x90],
            ..CompiledModule::default()
        };
        let bytes = encode(Ok(module));
        let back = decode(&bytes).unwrap().unwrap();
        assert_eq!(back.text, [0xc3, 0x90]);
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        let err = decode(&encode(Err(CompileError::Unsupported("x".into()))));
        assert!(matches!(err, Some(Err(CompileError::Unsupported(m))) if m == "x"));
        assert!(decode(&[9]).is_none());
        assert!(decode(&[]).is_none());
    }
}

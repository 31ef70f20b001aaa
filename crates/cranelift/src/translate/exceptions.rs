//! Exception handling: `try_table`, `throw` and `throw_ref`.
//!
//! A `try_table` opens a handler scope: one landing block per catch
//! clause, made when the `try_table` is entered (where its labels are
//! resolved) and sealed at its `end`. Inside the scope, every call that
//! may throw (`call`, `call_indirect`, `call_ref`, not tail calls, which
//! leave the frame) becomes a Cranelift `try_call` whose exception table
//! lists the handlers of every open scope, innermost first and in clause
//! order, up to the first catch-all. The table's dynamic context is the
//! vmctx: its tags are tag indices of this instance, which the runtime's
//! unwinder resolves to tag identities (see `hayate_runtime::traphandlers`).
//!
//! A landing block receives the exception object (`VMException`) in the
//! first payload register and branches to the clause's label with the
//! payload read from the object (`catch`), the exception reference
//! (`catch_all_ref`), both (`catch_ref`) or nothing (`catch_all`); a
//! clause that does not pass the reference on gives the object back to
//! the store for reuse.
//!
//! `throw` asks the `ExnNew` builtin for a new object. Whether it is
//! thrown by `throw` or `throw_ref`, the handlers of this function's own
//! open scopes are tried first, inline, by comparing tag identities: a
//! throw caught in the same function is a few compares and a jump. Only
//! when none matches does the `Throw` builtin unwind to the callers.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, Block, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, ExceptionTag,
    InstBuilder, MemFlagsData, SigRef, Value, types,
};
use hayate_environ::builtins::Builtin;
use hayate_environ::vm_exception::{ESCAPED, PAYLOAD, TAG};
use hayate_environ::wasmparser::{Catch, TryTable};
use hayate_environ::{TagIndex, Trap};

use super::FuncTranslator;
use super::vmctx::immutable;
use crate::abi::{self, POINTER};
use crate::traps::trap_to_code;

/// One catch clause of an open `try_table`.
#[derive(Clone, Copy)]
pub(super) struct Handler {
    /// The tag it catches, or `None` for a catch-all.
    tag: Option<TagIndex>,
    /// Its landing block, whose one parameter is the exception object.
    landing: Block,
}

/// The catch clauses of one open `try_table`, in clause order.
pub(super) type HandlerScope = Vec<Handler>;

/// Where a call goes: a direct callee, or an address.
pub(super) enum CallTarget {
    Direct(ir::FuncRef),
    Indirect(Value),
}

impl FuncTranslator<'_, '_> {
    /// The handlers a throw here tries, in order: innermost scope first,
    /// each in clause order, up to and including the first catch-all.
    fn active_handlers(&self) -> Vec<Handler> {
        let mut out = Vec::new();
        for scope in self.handlers.iter().rev() {
            for h in scope {
                out.push(*h);
                if h.tag.is_none() {
                    return out;
                }
            }
        }
        out
    }

    /// Whether a call here may land in a handler of this function.
    pub(super) fn in_try_scope(&self) -> bool {
        self.handlers.iter().any(|scope| !scope.is_empty())
    }

    /// Emits a call of `target` with `args` (signature `sig`) that may
    /// unwind to this function's open handlers, and returns its results.
    pub(super) fn try_call(
        &mut self,
        target: CallTarget,
        sig: SigRef,
        args: &[Value],
    ) -> Vec<Value> {
        let returns: Vec<ir::Type> = self.b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let cont = self.b.create_block();
        for ty in &returns {
            self.b.append_block_param(cont, *ty);
        }
        let handlers = self.active_handlers();
        let pool = &mut self.b.func.dfg.value_lists;
        let normal = BlockCall::new(
            cont,
            (0..returns.len() as u32).map(BlockArg::TryCallRet),
            pool,
        );
        let mut items = vec![ExceptionTableItem::Context(self.vmctx)];
        for h in handlers {
            let call = BlockCall::new(h.landing, [BlockArg::TryCallExn(0)], pool);
            items.push(match h.tag {
                Some(tag) => ExceptionTableItem::Tag(ExceptionTag::from_u32(tag.as_u32()), call),
                None => ExceptionTableItem::Default(call),
            });
        }
        let table = self
            .b
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(sig, normal, items));
        match target {
            CallTarget::Direct(f) => self.b.ins().try_call(f, args, table),
            CallTarget::Indirect(callee) => self.b.ins().try_call_indirect(callee, args, table),
        };
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        self.b.block_params(cont).to_vec()
    }

    /// The identity of tag `tag`: the address of its definition.
    fn tag_identity(&mut self, tag: TagIndex) -> Value {
        let o = self.env.offsets;
        match self.info().defined_tag(tag) {
            Some(def) => self
                .b
                .ins()
                .iadd_imm_u(self.vmctx, i64::from(o.defined_tag(def))),
            None => self
                .b
                .ins()
                .load(POINTER, immutable(), self.vmctx, o.imported_tag(tag) as i32),
        }
    }

    /// Throws exception object `exn` (not null): to a handler of this
    /// function if one matches, otherwise through the `Throw` builtin.
    fn throw_exn(&mut self, exn: Value) {
        let handlers = self.active_handlers();
        let flags = MemFlagsData::trusted();
        let exn_tag = match handlers.iter().any(|h| h.tag.is_some()) {
            true => Some(self.b.ins().load(POINTER, flags, exn, TAG as i32)),
            false => None,
        };
        for h in handlers {
            let args = [BlockArg::Value(exn)];
            match (h.tag, exn_tag) {
                (Some(tag), Some(exn_tag)) => {
                    let identity = self.tag_identity(tag);
                    let same = self.b.ins().icmp(IntCC::Equal, exn_tag, identity);
                    let next = self.b.create_block();
                    self.b.ins().brif(same, h.landing, &args, next, &[]);
                    self.b.seal_block(next);
                    self.b.switch_to_block(next);
                }
                _ => {
                    self.b.ins().jump(h.landing, &args);
                    self.reachable = false;
                    return;
                }
            }
        }
        self.fuel_save();
        let fp = self.b.ins().get_frame_pointer(POINTER);
        self.call_builtin(Builtin::Throw, &[exn, fp]);
        self.b
            .ins()
            .trap(trap_to_code(Trap::UnreachableCodeReached));
        self.reachable = false;
    }

    /// Enters a `try_table`: its frame is a block's, and its catch clauses
    /// become an open handler scope.
    fn translate_try_table(&mut self, try_table: TryTable) -> super::Result<()> {
        let (params, results) = self.block_signature(try_table.ty)?;
        // The body starts in a block of its own, so that the landing
        // blocks can be emitted now, where the clauses' labels resolve.
        let body = self.block_with_params(&params);
        let args = self.peekn_canonical(params.len());
        self.jump(body, &args);
        self.popn(params.len());
        let mut scope = HandlerScope::new();
        for catch in &try_table.catches {
            let (tag, label, with_payload, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, true, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true, true),
                Catch::All { label } => (None, label, false, false),
                Catch::AllRef { label } => (None, label, false, true),
            };
            let tag = tag.map(TagIndex::from_u32);
            let landing = self.b.create_block();
            let exn = self.b.append_block_param(landing, POINTER);
            self.b.set_cold_block(landing);
            self.b.switch_to_block(landing);
            self.fuel_load();
            self.epoch_deadline_load();
            let mut values = Vec::new();
            if let (true, Some(tag)) = (with_payload, tag) {
                values = self.load_payload(tag, exn);
            }
            let flags = MemFlagsData::trusted();
            if with_ref {
                // The reference is now a Wasm value: never reuse the object.
                let one = self.b.ins().iconst(types::I32, 1);
                self.b.ins().store(flags, one, exn, ESCAPED as i32);
                values.push(exn);
            } else {
                self.call_builtin(Builtin::ExnRelease, &[exn]);
            }
            let (target, _) = self.branch_target(label);
            let values: Vec<Value> = values.into_iter().map(|v| self.canonical(v)).collect();
            self.jump(target, &values);
            scope.push(Handler { tag, landing });
        }
        self.b.switch_to_block(body);
        self.b.seal_block(body);
        let body_params = self.b.block_params(body).to_vec();
        self.stack.extend(body_params);
        let landings = scope.iter().map(|h| h.landing).collect();
        self.push_block_frame(&params, &results, Some(landings));
        self.handlers.push(scope);
        Ok(())
    }

    /// Closes the innermost handler scope (at its `try_table`'s `end`) and
    /// seals its landing blocks, whose predecessors are all known now.
    pub(super) fn close_try_table(&mut self, landings: Vec<Block>) {
        self.handlers.pop();
        for landing in landings {
            self.b.seal_block(landing);
        }
    }

    /// The payload of exception object `exn` of tag `tag`, as values of
    /// the tag's parameter types.
    fn load_payload(&mut self, tag: TagIndex, exn: Value) -> Vec<Value> {
        let info = self.info();
        let params = info.signature(info.tags[tag]).params.clone();
        let flags = MemFlagsData::trusted();
        let payload = self.b.ins().load(POINTER, flags, exn, PAYLOAD as i32);
        params
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let offset = (i * hayate_environ::VAL_RAW_SIZE as usize) as i32;
                let v = self
                    .b
                    .ins()
                    .load(abi::value_type(*t), flags, payload, offset);
                self.declare_root(v, *t);
                v
            })
            .collect()
    }

    /// Stores `values` in a fresh stack slot of 16 bytes each and returns
    /// its address.
    pub(super) fn spill_values(&mut self, values: &[Value]) -> Value {
        let size = (values.len().max(1) as u32) * hayate_environ::VAL_RAW_SIZE;
        let slot = self.b.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            size,
            4,
        ));
        for (i, v) in values.iter().enumerate() {
            let offset = (i as u32 * hayate_environ::VAL_RAW_SIZE) as i32;
            self.b.ins().stack_store(POINTER, *v, slot, offset);
        }
        self.b.ins().stack_addr(POINTER, slot, 0)
    }

    visit_methods! { self;
        visit_try_table(try_table: TryTable) => self.translate_try_table(try_table)?;
        visit_throw(tag_index: u32) => {
            let tag = TagIndex::from_u32(tag_index);
            let info = self.info();
            let n = info.signature(info.tags[tag]).params.len();
            let values = self.peekn_canonical(n);
            self.popn(n);
            let buffer = self.spill_values(&values);
            let index = self.b.ins().iconst(types::I32, i64::from(tag_index));
            let exn = self
                .call_builtin(Builtin::ExnNew, &[index, buffer])
                .expect("the builtin returns the exception");
            self.throw_exn(exn);
        };
        visit_throw_ref() => {
            let exn = self.pop();
            self.b
                .ins()
                .trapz(exn, trap_to_code(Trap::NullReference));
            self.throw_exn(exn);
        };
    }
}

//! The code buffer of one function: x86-64 instructions encoded by
//! `cranelift-assembler-x64`, labels and the jumps to patch when they are
//! bound, trap sites, the address map and relocations, in the shape of a
//! `CompiledBody`.
//!
//! Only what the translator needs is wrapped here, named by what it does
//! (`load64`, `alu32`, `jcc`); register operands are hardware encodings.

use cranelift_assembler_x64::{
    Amode, AmodeOffset, AmodeOffsetPlusKnownOffset, Fixed, GprMem, Imm16, Imm32, Imm64, Registers,
    Scale, Simm32, TrapCode, XmmMem, inst,
};
use hayate_environ::{BodyRelocation, CompiledBody, RelocationKind, RelocationTarget, Trap};

/// Hardware encodings of the general-purpose registers used.
pub(crate) mod reg {
    pub const RAX: u8 = 0;
    pub const RCX: u8 = 1;
    pub const RDX: u8 = 2;
    pub const RBX: u8 = 3;
    pub const RSP: u8 = 4;
    pub const RBP: u8 = 5;
    pub const RSI: u8 = 6;
    pub const RDI: u8 = 7;
    pub const R8: u8 = 8;
    pub const R9: u8 = 9;
    pub const R10: u8 = 10;
    pub const R11: u8 = 11;
    pub const R12: u8 = 12;
    pub const R13: u8 = 13;
    pub const R14: u8 = 14;
    pub const R15: u8 = 15;
}

/// Registers are plain hardware encodings: there is no allocator.
pub(crate) struct Regs;

impl Registers for Regs {
    type ReadGpr = u8;
    type ReadWriteGpr = u8;
    type WriteGpr = u8;
    type ReadXmm = u8;
    type ReadWriteXmm = u8;
    type WriteXmm = u8;
}

type Gm = GprMem<u8, u8>;

/// The trap code the assembler wants on instructions that can fault;
/// unused (faults are recorded by [`Assembler::trap_here`]).
fn any_trap() -> TrapCode {
    TrapCode(std::num::NonZeroU8::MIN)
}

/// `[base + disp]`.
pub(crate) fn mem(base: u8, disp: i32) -> Amode<u8> {
    Amode::ImmReg {
        base,
        simm32: AmodeOffsetPlusKnownOffset {
            simm32: AmodeOffset::new(disp),
            offset: None,
        },
        trap: None,
    }
}

/// `[base + index + disp]`.
pub(crate) fn mem_indexed(base: u8, index: u8, disp: i32) -> Amode<u8> {
    mem_scaled(base, index, Scale::One, disp)
}

/// `[base + index * scale + disp]`.
pub(crate) fn mem_scaled(base: u8, index: u8, scale: Scale, disp: i32) -> Amode<u8> {
    Amode::ImmRegRegShift {
        base,
        index: index.into(),
        scale,
        simm32: AmodeOffset::new(disp),
        trap: None,
    }
}

/// A position in the code that jumps can target before it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Integer operations of the form `dst = dst op src`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Alu {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Mul,
}

/// Shifts and rotates by `cl`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shift {
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

/// Condition codes, after `cmp a, b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
    /// Parity set: after `ucomis*`, the operands were unordered.
    Parity,
    NoParity,
}

impl Cond {
    /// The `0F 8x` / `0F 9x` low nibble of this condition.
    fn nibble(self) -> u8 {
        match self {
            Cond::Eq => 0x4,
            Cond::Ne => 0x5,
            Cond::LtS => 0xC,
            Cond::LtU => 0x2,
            Cond::GtS => 0xF,
            Cond::GtU => 0x7,
            Cond::LeS => 0xE,
            Cond::LeU => 0x6,
            Cond::GeS => 0xD,
            Cond::GeU => 0x3,
            Cond::Parity => 0xA,
            Cond::NoParity => 0xB,
        }
    }
}

/// The code of one body being assembled.
#[derive(Default)]
pub(crate) struct Assembler {
    pub code: Vec<u8>,
    labels: Vec<Option<u32>>,
    /// `rel32` fields waiting for their label: (field offset, label).
    fixups: Vec<(u32, Label)>,
    /// Jump-table entries: (entry offset, table start, label).
    table_fixups: Vec<(u32, u32, Label)>,
    traps: Vec<(u32, Trap)>,
    address_map: Vec<(u32, u32)>,
    relocations: Vec<BodyRelocation>,
}

impl Assembler {
    pub fn offset(&self) -> u32 {
        self.code.len() as u32
    }

    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    pub fn bind(&mut self, label: Label) {
        debug_assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.offset());
    }

    /// Records that the instruction about to be emitted may trap with
    /// `trap` (a fault, or `ud2`).
    pub fn trap_here(&mut self, trap: Trap) {
        self.traps.push((self.offset(), trap));
    }

    /// Records that the code from here on comes from the Wasm operator at
    /// byte `wasm_offset` of the module.
    pub fn source(&mut self, wasm_offset: u32) {
        let here = self.offset();
        match self.address_map.last_mut() {
            Some(last) if last.0 == here => last.1 = wasm_offset,
            Some(last) if last.1 == wasm_offset => {}
            _ => self.address_map.push((here, wasm_offset)),
        }
    }

    /// The finished body: every label must be bound.
    pub fn finish(mut self) -> CompiledBody {
        for (field, label) in std::mem::take(&mut self.fixups) {
            let target = self.labels[label.0].expect("jump to a label never bound");
            let rel = target as i64 - (field as i64 + 4);
            self.patch32(field, rel as i32);
        }
        for (entry, table, label) in std::mem::take(&mut self.table_fixups) {
            let target = self.labels[label.0].expect("jump table to a label never bound");
            self.patch32(entry, (target as i64 - table as i64) as i32);
        }
        self.traps.sort_by_key(|t| t.0);
        CompiledBody {
            code: self.code,
            alignment: 16,
            relocations: self.relocations,
            traps: self.traps,
            address_map: self.address_map,
            inlined: Vec::new(),
            // The baseline declines functions with exception handlers.
            exception_sites: Vec::new(),
            stack_maps: Vec::new(),
            // Every access that may fault is in the trap table.
            guard_page_faults: false,
        }
    }

    pub fn patch32(&mut self, at: u32, value: i32) {
        let at = at as usize;
        self.code[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    // ---- moves ----

    pub fn load64(&mut self, dst: u8, base: u8, disp: i32) {
        inst::movq_rm::<Regs>::new(dst, mem(base, disp)).encode(&mut self.code);
    }

    /// 32-bit load, zero-extended.
    pub fn load32(&mut self, dst: u8, base: u8, disp: i32) {
        inst::movl_rm::<Regs>::new(dst, mem(base, disp)).encode(&mut self.code);
    }

    pub fn store64(&mut self, base: u8, disp: i32, src: u8) {
        inst::movq_mr::<Regs>::new(mem(base, disp), src).encode(&mut self.code);
    }

    /// `mov qword [base + disp], imm` (sign-extended 32-bit immediate).
    pub fn store64_imm(&mut self, base: u8, disp: i32, imm: i32) {
        inst::movq_mi_sxl::<Regs>::new(mem(base, disp), Simm32::from(imm)).encode(&mut self.code);
    }

    pub fn mov64(&mut self, dst: u8, src: u8) {
        if dst != src {
            inst::movq_rm::<Regs>::new(dst, Gm::Gpr(src)).encode(&mut self.code);
        }
    }

    pub fn mov32(&mut self, dst: u8, src: u8) {
        inst::movl_rm::<Regs>::new(dst, Gm::Gpr(src)).encode(&mut self.code);
    }

    /// `dst = imm` (64 bits).
    pub fn mov_imm(&mut self, dst: u8, imm: i64) {
        if imm == 0 {
            inst::xorl_rm::<Regs>::new(dst, Gm::Gpr(dst)).encode(&mut self.code);
        } else if let Ok(v) = u32::try_from(imm) {
            inst::movl_oi::<Regs>::new(dst, Imm32::from(v)).encode(&mut self.code);
        } else if let Ok(v) = i32::try_from(imm) {
            inst::movq_mi_sxl::<Regs>::new(Gm::Gpr(dst), Simm32::from(v)).encode(&mut self.code);
        } else {
            inst::movabsq_oi::<Regs>::new(dst, Imm64::from(imm as u64)).encode(&mut self.code);
        }
    }

    /// A load of `size` bytes (1, 2, 4, 8) from `addr` into `dst`, sign- or
    /// zero-extended to 64 bits (`signed`) or 32 bits (`!wide`).
    pub fn load_sized(&mut self, dst: u8, addr: Amode<u8>, size: u8, signed: bool, wide: bool) {
        let c = &mut self.code;
        match (size, signed, wide) {
            (1, false, _) => inst::movzbl_rm::<Regs>::new(dst, addr).encode(c),
            (1, true, false) => inst::movsbl_rm::<Regs>::new(dst, addr).encode(c),
            (1, true, true) => inst::movsbq_rm::<Regs>::new(dst, addr).encode(c),
            (2, false, _) => inst::movzwl_rm::<Regs>::new(dst, addr).encode(c),
            (2, true, false) => inst::movswl_rm::<Regs>::new(dst, addr).encode(c),
            (2, true, true) => inst::movswq_rm::<Regs>::new(dst, addr).encode(c),
            (4, false, _) | (4, true, false) => inst::movl_rm::<Regs>::new(dst, addr).encode(c),
            (4, true, true) => inst::movslq_rm::<Regs>::new(dst, addr).encode(c),
            _ => inst::movq_rm::<Regs>::new(dst, addr).encode(c),
        }
    }

    /// A store of the low `size` bytes of `src` to `addr`.
    pub fn store_sized(&mut self, addr: Amode<u8>, src: u8, size: u8) {
        let c = &mut self.code;
        match size {
            1 => inst::movb_mr::<Regs>::new(addr, src).encode(c),
            2 => inst::movw_mr::<Regs>::new(addr, src).encode(c),
            4 => inst::movl_mr::<Regs>::new(addr, src).encode(c),
            _ => inst::movq_mr::<Regs>::new(addr, src).encode(c),
        }
    }

    /// `lea dst, addr`.
    pub fn lea(&mut self, dst: u8, addr: Amode<u8>) {
        inst::leaq_rm::<Regs>::new(dst, addr).encode(&mut self.code);
    }

    /// `rep stosq`: stores `rax` to `rcx` quadwords upward from `rdi`.
    pub fn rep_stosq(&mut self) {
        self.code.extend_from_slice(&[0xF3, 0x48, 0xAB]);
    }

    pub fn push(&mut self, r: u8) {
        inst::pushq_o::<Regs>::new(r).encode(&mut self.code);
    }

    pub fn pop(&mut self, r: u8) {
        inst::popq_o::<Regs>::new(r).encode(&mut self.code);
    }

    // ---- arithmetic ----

    /// `dst = dst op src`, on 32 or 64 bits (`wide`).
    pub fn alu(&mut self, op: Alu, wide: bool, dst: u8, src: u8) {
        let c = &mut self.code;
        let s = Gm::Gpr(src);
        match (op, wide) {
            (Alu::Add, false) => inst::addl_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Add, true) => inst::addq_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Sub, false) => inst::subl_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Sub, true) => inst::subq_rm::<Regs>::new(dst, s).encode(c),
            (Alu::And, false) => inst::andl_rm::<Regs>::new(dst, s).encode(c),
            (Alu::And, true) => inst::andq_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Or, false) => inst::orl_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Or, true) => inst::orq_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Xor, false) => inst::xorl_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Xor, true) => inst::xorq_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Mul, false) => inst::imull_rm::<Regs>::new(dst, s).encode(c),
            (Alu::Mul, true) => inst::imulq_rm::<Regs>::new(dst, s).encode(c),
        }
    }

    /// `dst &= imm` (sign-extended) on 64 bits.
    pub fn and_imm64(&mut self, dst: u8, imm: i32) {
        inst::andq_mi_sxl::<Regs>::new(Gm::Gpr(dst), Simm32::from(imm)).encode(&mut self.code);
    }

    /// `dst = dst shift cl`.
    pub fn shift(&mut self, op: Shift, wide: bool, dst: u8) {
        let c = &mut self.code;
        let d = Gm::Gpr(dst);
        let cl = Fixed(reg::RCX);
        match (op, wide) {
            (Shift::Shl, false) => inst::shll_mc::<Regs>::new(d, cl).encode(c),
            (Shift::Shl, true) => inst::shlq_mc::<Regs>::new(d, cl).encode(c),
            (Shift::ShrS, false) => inst::sarl_mc::<Regs>::new(d, cl).encode(c),
            (Shift::ShrS, true) => inst::sarq_mc::<Regs>::new(d, cl).encode(c),
            (Shift::ShrU, false) => inst::shrl_mc::<Regs>::new(d, cl).encode(c),
            (Shift::ShrU, true) => inst::shrq_mc::<Regs>::new(d, cl).encode(c),
            (Shift::Rotl, false) => inst::roll_mc::<Regs>::new(d, cl).encode(c),
            (Shift::Rotl, true) => inst::rolq_mc::<Regs>::new(d, cl).encode(c),
            (Shift::Rotr, false) => inst::rorl_mc::<Regs>::new(d, cl).encode(c),
            (Shift::Rotr, true) => inst::rorq_mc::<Regs>::new(d, cl).encode(c),
        }
    }

    /// `lzcnt`, `tzcnt` or `popcnt` of `src` into `dst`.
    pub fn bit_count(&mut self, op: BitCount, wide: bool, dst: u8, src: u8) {
        let c = &mut self.code;
        let s = Gm::Gpr(src);
        match (op, wide) {
            (BitCount::Clz, false) => inst::lzcntl_rm::<Regs>::new(dst, s).encode(c),
            (BitCount::Clz, true) => inst::lzcntq_rm::<Regs>::new(dst, s).encode(c),
            (BitCount::Ctz, false) => inst::tzcntl_a::<Regs>::new(dst, s).encode(c),
            (BitCount::Ctz, true) => inst::tzcntq_a::<Regs>::new(dst, s).encode(c),
            (BitCount::Popcnt, false) => inst::popcntl_rm::<Regs>::new(dst, s).encode(c),
            (BitCount::Popcnt, true) => inst::popcntq_rm::<Regs>::new(dst, s).encode(c),
        }
    }

    /// Sign-extends the low 8, 16 or 32 bits of `src` into `dst`, to 32 or
    /// 64 bits (`wide`).
    pub fn sign_extend(&mut self, dst: u8, src: u8, from_bits: u8, wide: bool) {
        let c = &mut self.code;
        let s = Gm::Gpr(src);
        match (from_bits, wide) {
            (8, false) => inst::movsbl_rm::<Regs>::new(dst, s).encode(c),
            (8, true) => inst::movsbq_rm::<Regs>::new(dst, s).encode(c),
            (16, false) => inst::movswl_rm::<Regs>::new(dst, s).encode(c),
            (16, true) => inst::movswq_rm::<Regs>::new(dst, s).encode(c),
            _ => inst::movslq_rm::<Regs>::new(dst, s).encode(c),
        }
    }

    /// Unsigned or signed division of `rax` (and `rdx`) by `src`.
    pub fn div(&mut self, signed: bool, wide: bool, src: u8) {
        let c = &mut self.code;
        let (a, d, s) = (Fixed(reg::RAX), Fixed(reg::RDX), Gm::Gpr(src));
        match (signed, wide) {
            (false, false) => inst::divl_m::<Regs>::new(a, d, s, any_trap()).encode(c),
            (false, true) => inst::divq_m::<Regs>::new(a, d, s, any_trap()).encode(c),
            (true, false) => inst::idivl_m::<Regs>::new(a, d, s, any_trap()).encode(c),
            (true, true) => inst::idivq_m::<Regs>::new(a, d, s, any_trap()).encode(c),
        }
    }

    /// Sign-extends `rax` into `rdx` (`cdq` / `cqo`).
    pub fn sign_extend_rax_into_rdx(&mut self, wide: bool) {
        let (d, a) = (Fixed(reg::RDX), Fixed(reg::RAX));
        if wide {
            inst::cqto_zo::<Regs>::new(d, a).encode(&mut self.code);
        } else {
            inst::cltd_zo::<Regs>::new(d, a).encode(&mut self.code);
        }
    }

    // ---- comparisons ----

    /// `cmp a, b`.
    pub fn cmp(&mut self, wide: bool, a: u8, b: u8) {
        if wide {
            inst::cmpq_rm::<Regs>::new(a, Gm::Gpr(b)).encode(&mut self.code);
        } else {
            inst::cmpl_rm::<Regs>::new(a, Gm::Gpr(b)).encode(&mut self.code);
        }
    }

    /// `cmp a, imm` (sign-extended).
    pub fn cmp_imm(&mut self, wide: bool, a: u8, imm: i32) {
        if wide {
            inst::cmpq_mi::<Regs>::new(Gm::Gpr(a), Simm32::from(imm)).encode(&mut self.code);
        } else {
            inst::cmpl_mi::<Regs>::new(Gm::Gpr(a), Imm32::from(imm)).encode(&mut self.code);
        }
    }

    /// `test r, r`.
    pub fn test(&mut self, wide: bool, r: u8) {
        if wide {
            inst::testq_mr::<Regs>::new(Gm::Gpr(r), r).encode(&mut self.code);
        } else {
            inst::testl_mr::<Regs>::new(Gm::Gpr(r), r).encode(&mut self.code);
        }
    }

    /// `dst = cond ? 1 : 0` (32 bits), from the flags.
    pub fn set_cond(&mut self, cond: Cond, dst: u8) {
        // setcc r/m8: REX (for sil/dil and up) 0F 9x /0.
        if dst >= 4 {
            self.code.push(0x40 | (dst >> 3));
        }
        self.code
            .extend_from_slice(&[0x0F, 0x90 | cond.nibble(), 0xC0 | (dst & 7)]);
        inst::movzbl_rm::<Regs>::new(dst, Gm::Gpr(dst)).encode(&mut self.code);
    }

    /// `dst = src` if the flags say `cond`, on 64 bits.
    pub fn cmov(&mut self, cond: Cond, dst: u8, src: u8) {
        // cmovcc r64, r/m64: REX.W 0F 4x /r.
        self.code.push(0x48 | ((dst >> 3) << 2) | (src >> 3));
        self.code.extend_from_slice(&[
            0x0F,
            0x40 | cond.nibble(),
            0xC0 | ((dst & 7) << 3) | (src & 7),
        ]);
    }

    // ---- control ----

    /// `jmp label`.
    pub fn jmp(&mut self, label: Label) {
        inst::jmp_d32::new(Simm32::from(0)).encode(&mut self.code);
        self.fixups.push((self.offset() - 4, label));
    }

    /// `jcc label`.
    pub fn jcc(&mut self, cond: Cond, label: Label) {
        self.code
            .extend_from_slice(&[0x0F, 0x80 | cond.nibble(), 0, 0, 0, 0]);
        self.fixups.push((self.offset() - 4, label));
    }

    /// `jmp r`.
    pub fn jmp_reg(&mut self, r: u8) {
        inst::jmpq_m::<Regs>::new(Gm::Gpr(r)).encode(&mut self.code);
    }

    /// `lea dst, [rip + label]`, patched like a jump.
    pub fn lea_label(&mut self, dst: u8, label: Label) {
        // lea r64, [rip + disp32]: REX.W 8D /r with mod=00 r/m=101.
        self.code
            .extend_from_slice(&[0x48 | ((dst >> 3) << 2), 0x8D, ((dst & 7) << 3) | 5]);
        self.code.extend_from_slice(&[0; 4]);
        self.fixups.push((self.offset() - 4, label));
    }

    /// A jump table entry at the current offset: `label - table` as 32 bits.
    pub fn table_entry(&mut self, table: Label, label: Label) {
        let table_at = self.labels[table.0].expect("the table's label is bound first");
        self.table_fixups.push((self.offset(), table_at, label));
        self.code.extend_from_slice(&[0; 4]);
    }

    /// `call r`.
    pub fn call_reg(&mut self, r: u8) {
        inst::callq_m::<Regs>::new(Gm::Gpr(r)).encode(&mut self.code);
    }

    /// `call mem`.
    pub fn call_mem(&mut self, addr: Amode<u8>) {
        inst::callq_m::<Regs>::new(Gm::Mem(addr)).encode(&mut self.code);
    }

    /// `call rel32` to `target`, relocated when the body is linked.
    pub fn call_relocated(&mut self, target: RelocationTarget) {
        inst::callq_d::new(Simm32::from(0)).encode(&mut self.code);
        self.relocations.push(BodyRelocation {
            offset: self.offset() - 4,
            kind: RelocationKind::X86PcRel4,
            target,
            addend: -4,
        });
    }

    /// `ret`, popping `pop` more bytes.
    pub fn ret(&mut self, pop: u16) {
        if pop == 0 {
            inst::retq_zo::new().encode(&mut self.code);
        } else {
            inst::retq_i::new(Imm16::from(pop)).encode(&mut self.code);
        }
    }

    /// `rsp -= bytes`.
    pub fn sub_rsp(&mut self, bytes: i32) {
        inst::subq_mi_sxl::<Regs>::new(Gm::Gpr(reg::RSP), Simm32::from(bytes))
            .encode(&mut self.code);
    }

    /// `ud2`, recorded as trapping with `trap`.
    pub fn ud2(&mut self, trap: Trap) {
        self.trap_here(trap);
        inst::ud2_zo::new(any_trap()).encode(&mut self.code);
    }

    /// `sub rsp, imm32` with the immediate patched later; returns where.
    pub fn sub_rsp_placeholder(&mut self) -> u32 {
        inst::subq_mi_sxl::<Regs>::new(Gm::Gpr(reg::RSP), Simm32::from(0x1000_0000))
            .encode(&mut self.code);
        self.offset() - 4
    }

    /// `add r, imm32` with the immediate patched later; returns where.
    pub fn add_placeholder(&mut self, r: u8) -> u32 {
        inst::addq_mi_sxl::<Regs>::new(Gm::Gpr(r), Simm32::from(0x1000_0000))
            .encode(&mut self.code);
        self.offset() - 4
    }

    /// `movq xmm, r64`.
    pub fn gpr_to_xmm(&mut self, xmm: u8, gpr: u8) {
        // 66 REX.W 0F 6E /r.
        self.code.push(0x66);
        self.code.push(0x48 | ((xmm >> 3) << 2) | (gpr >> 3));
        self.code
            .extend_from_slice(&[0x0F, 0x6E, 0xC0 | ((xmm & 7) << 3) | (gpr & 7)]);
    }

    /// `movq r64, xmm`.
    pub fn xmm_to_gpr(&mut self, gpr: u8, xmm: u8) {
        // 66 REX.W 0F 7E /r (the xmm is the reg field).
        self.code.push(0x66);
        self.code.push(0x48 | ((xmm >> 3) << 2) | (gpr >> 3));
        self.code
            .extend_from_slice(&[0x0F, 0x7E, 0xC0 | ((xmm & 7) << 3) | (gpr & 7)]);
    }
}

/// Scalar float operations on `xmm0` (and `xmm1`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    /// `f32` to `f64` (on `f64` code) or `f64` to `f32` (on `f32`).
    Convert,
}

impl Assembler {
    /// `xmm0 = xmm0 op xmm1` (`xmm0 = op xmm0` for the unary ones), in
    /// single (`!double`) or double precision.
    pub fn float_op(&mut self, op: FloatOp, double: bool) {
        let c = &mut self.code;
        let (a, b) = (0u8, XmmMem::<u8, u8>::Xmm(1));
        let same = XmmMem::<u8, u8>::Xmm(0);
        match (op, double) {
            (FloatOp::Add, false) => inst::addss_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Add, true) => inst::addsd_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Sub, false) => inst::subss_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Sub, true) => inst::subsd_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Mul, false) => inst::mulss_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Mul, true) => inst::mulsd_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Div, false) => inst::divss_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Div, true) => inst::divsd_a::<Regs>::new(a, b).encode(c),
            (FloatOp::Sqrt, false) => inst::sqrtss_a::<Regs>::new(a, same).encode(c),
            (FloatOp::Sqrt, true) => inst::sqrtsd_a::<Regs>::new(a, same).encode(c),
            (FloatOp::Convert, false) => inst::cvtsd2ss_a::<Regs>::new(a, same).encode(c),
            (FloatOp::Convert, true) => inst::cvtss2sd_a::<Regs>::new(a, same).encode(c),
        }
    }

    /// `ucomis[sd] xmm(a), xmm(b)`.
    pub fn float_compare(&mut self, double: bool, a: u8, b: u8) {
        let b = XmmMem::<u8, u8>::Xmm(b);
        if double {
            inst::ucomisd_a::<Regs>::new(a, b).encode(&mut self.code);
        } else {
            inst::ucomiss_a::<Regs>::new(a, b).encode(&mut self.code);
        }
    }

    /// `xmm0 = (float) src`, `src` a signed 32- or 64-bit (`wide`) integer.
    pub fn int_to_float(&mut self, double: bool, wide: bool, src: u8) {
        let c = &mut self.code;
        let s = Gm::Gpr(src);
        match (double, wide) {
            (false, false) => inst::cvtsi2ssl_a::<Regs>::new(0u8, s).encode(c),
            (false, true) => inst::cvtsi2ssq_a::<Regs>::new(0u8, s).encode(c),
            (true, false) => inst::cvtsi2sdl_a::<Regs>::new(0u8, s).encode(c),
            (true, true) => inst::cvtsi2sdq_a::<Regs>::new(0u8, s).encode(c),
        }
    }
}

/// Bit-counting operations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BitCount {
    Clz,
    Ctz,
    Popcnt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_encoded_instructions_match_the_manual() {
        let mut a = Assembler::default();
        a.set_cond(Cond::LtU, reg::RAX);
        assert_eq!(a.code, [0x0F, 0x92, 0xC0, 0x0F, 0xB6, 0xC0]);
        let mut a = Assembler::default();
        a.rep_stosq();
        assert_eq!(a.code, [0xF3, 0x48, 0xAB]);
        let mut a = Assembler::default();
        a.cmov(Cond::Eq, reg::RAX, reg::R9);
        assert_eq!(a.code, [0x49, 0x0F, 0x44, 0xC1]);
        let mut a = Assembler::default();
        a.gpr_to_xmm(0, reg::RAX);
        a.xmm_to_gpr(reg::RCX, 1);
        assert_eq!(
            a.code,
            [0x66, 0x48, 0x0F, 0x6E, 0xC0, 0x66, 0x48, 0x0F, 0x7E, 0xC9]
        );
        let mut a = Assembler::default();
        let l = a.new_label();
        a.bind(l);
        a.lea_label(reg::RCX, l);
        let body = a.finish();
        assert_eq!(body.code, [0x48, 0x8D, 0x0D, 0xF9, 0xFF, 0xFF, 0xFF]);
    }
}

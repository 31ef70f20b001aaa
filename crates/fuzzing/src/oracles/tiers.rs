//! The differential between Hayate's two optimising tiers: the same
//! generated module under the LLVM tier and under Cranelift, with the same
//! bounds checks (guard pages or explicit), every result, trap, global,
//! memory and table compared after each step, and the backtrace of each
//! trap ([`backtraces_agree`]). Unlike the `wasmi`
//! differential it needs no oracle fuel: both sides are Hayate, and the
//! generated module's own fuel global ends loops in both.

use arbitrary::Unstructured;

use super::diff::{self, DiffOptions, DiffOutcome, DiffStats, Export, Mismatch};
use super::hayate_side;
use crate::generators;

/// The names of the two sides in messages.
const SIDES: (&str, &str) = ("LLVM", "Cranelift");

/// The tier differential on raw fuzz bytes: generates a module and its
/// arguments from `data` and runs [`tiers_wasm`]. `Ok(None)` when the
/// input was too short to build a module.
pub fn tiers(data: &[u8]) -> Result<Option<DiffStats>, Mismatch> {
    let mut u = Unstructured::new(data);
    let Ok(explicit_checks) = u.arbitrary::<bool>() else {
        return Ok(None);
    };
    let Ok(config) = generators::differential_config(&mut u) else {
        return Ok(None);
    };
    let Ok(module) = generators::terminating_module(&mut u, config) else {
        return Ok(None);
    };
    tiers_wasm(&module.wasm, explicit_checks, Some(module.fuel), &mut u).map(Some)
}

/// Runs `wasm` under the LLVM tier (engine variant 6, or 7 with explicit
/// checks) and optimised Cranelift with the same checks (variant 0 or
/// 2): instantiates, calls every exported function once in export order
/// and then a few more chosen by `u`, and compares everything after each
/// step. `fuel` is written to the module's fuel global before each call.
pub fn tiers_wasm(
    wasm: &[u8],
    explicit_checks: bool,
    fuel: Option<u32>,
    u: &mut Unstructured<'_>,
) -> Result<DiffStats, Mismatch> {
    let (llvm_variant, cranelift_variant) = if explicit_checks { (7, 2) } else { (6, 0) };
    let options = DiffOptions {
        variant: llvm_variant,
        fuel,
        ..DiffOptions::default()
    };
    let mismatch = |kind: String, message: String| Mismatch {
        message,
        kind,
        wasm: wasm.to_vec(),
        options,
    };
    let mut stats = DiffStats::default();
    let llvm = hayate::Module::new(&hayate_side::engine_variant(llvm_variant), wasm);
    let cranelift = hayate::Module::new(&hayate_side::engine_variant(cranelift_variant), wasm);
    let (llvm, cranelift) = match (llvm, cranelift) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return Ok(stats),
        (a, b) => {
            let said = |r: &Result<_, hayate::Error>| match r {
                Ok(_) => "compiled".to_string(),
                Err(e) => format!("failed ({e:#})"),
            };
            return Err(mismatch(
                "compile: one tier failed".into(),
                format!("compile: LLVM {}, Cranelift {}", said(&a), said(&b)),
            ));
        }
    };
    stats.modules += 1;
    let exports = diff::exports_of(&llvm);
    let has_fuel_global = exports
        .iter()
        .any(|e| matches!(e, Export::Global(n) if n == generators::FUEL_EXPORT));
    let a = hayate_side::instantiate(&hayate_side::engine_variant(llvm_variant), &llvm);
    let b = hayate_side::instantiate(&hayate_side::engine_variant(cranelift_variant), &cranelift);
    let (mut a, mut b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(o), _) | (_, Err(o)) if o.is_stack_overflow() => {
            stats.inconclusive += 1;
            return Ok(stats);
        }
        (Err(a), Err(b)) if a.agrees_with(&b) => {
            stats.count_trap(&a);
            return Ok(stats);
        }
        (a, b) => {
            let said = |r: &Result<_, DiffOutcome>| match r {
                Ok(_) => "instantiated".to_string(),
                Err(o) => o.to_string(),
            };
            return Err(mismatch(
                "instantiation differs".into(),
                format!("instantiation: LLVM {}, Cranelift {}", said(&a), said(&b)),
            ));
        }
    };
    stats.instantiated += 1;
    diff::compare_state(&exports, &mut a, &mut b, SIDES, "after instantiation")
        .map_err(|(kind, message)| mismatch(kind, message))?;

    for (n, (name, params)) in diff::call_plan(&exports, u).into_iter().enumerate() {
        let args: Vec<_> = params.iter().map(|ty| diff::arbitrary_arg(u, ty)).collect();
        if let (Some(fuel), true) = (fuel, has_fuel_global) {
            a.set_global(generators::FUEL_EXPORT, diff::DiffValue::I32(fuel as i32));
            b.set_global(generators::FUEL_EXPORT, diff::DiffValue::I32(fuel as i32));
        }
        let (x, y) = (a.call(name, &args), b.call(name, &args));
        if x.is_stack_overflow() || y.is_stack_overflow() {
            // The tiers' frames differ in size, so one may run out first.
            stats.inconclusive += 1;
            return Ok(stats);
        }
        let call = format!("call #{n} of {name:?}({})", diff::fmt_args(&args));
        if !x.agrees_with(&y) {
            return Err(mismatch(
                format!("call: LLVM {}, Cranelift {}", x.kind(), y.kind()),
                format!("{call}: LLVM {x}, Cranelift {y}"),
            ));
        }
        if matches!(x, DiffOutcome::Trapped(_))
            && !backtraces_agree(&a.error_frames, &b.error_frames)
        {
            return Err(mismatch(
                "backtraces differ".into(),
                format!(
                    "{call}: {x}; LLVM's {} frames {:?}..., Cranelift's {} frames {:?}...",
                    a.error_frames.len(),
                    &a.error_frames[..a.error_frames.len().min(8)],
                    b.error_frames.len(),
                    &b.error_frames[..b.error_frames.len().min(8)],
                ),
            ));
        }
        stats.calls += 1;
        stats.call_traps += matches!(x, DiffOutcome::Trapped(_)) as u64;
        stats.count_trap(&x);
        diff::compare_state(&exports, &mut a, &mut b, SIDES, &format!("after {call}"))
            .map_err(|(kind, message)| mismatch(kind, message))?;
    }
    Ok(stats)
}

/// Whether the LLVM tier's backtrace of a trap (`llvm`, innermost frame
/// first: function index, module offset) agrees with Cranelift's. They
/// name the same frames at the same offsets but in three documented cases
/// (see `hayate-llvm`'s crate docs): a load LLVM folded into the
/// instruction using its value faults at that instruction, which may be
/// in the caller the load's function was inlined into (one frame fewer);
/// Cranelift reports a branch to a lone `unreachable` at the branch (the
/// innermost offset differs); and an instruction LLVM merged from two
/// with different offsets has none.
pub fn backtraces_agree(llvm: &[(u32, Option<usize>)], cranelift: &[(u32, Option<usize>)]) -> bool {
    let same = |l: &[(u32, Option<usize>)], c: &[(u32, Option<usize>)]| {
        l.len() == c.len()
            && l.iter()
                .zip(c)
                .all(|(l, c)| l.0 == c.0 && (l.1.is_none() || l.1 == c.1))
    };
    match (llvm.split_first(), cranelift.split_first()) {
        (None, None) => true,
        (Some((inner, outer)), Some((cl_inner, cl_outer))) if outer.len() == cl_outer.len() => {
            inner.0 == cl_inner.0 && same(outer, cl_outer)
        }
        (Some((inner, outer)), Some((_, cl_outer))) if outer.len() + 1 == cl_outer.len() => {
            inner.0 == cl_outer[0].0 && same(outer, &cl_outer[1..])
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::backtraces_agree;

    #[test]
    fn backtraces_agree_but_for_the_innermost_offset() {
        let cl = [(3, Some(40)), (2, Some(30)), (1, Some(20))];
        assert!(backtraces_agree(&cl, &cl));
        assert!(backtraces_agree(
            &[(3, Some(41)), (2, Some(30)), (1, Some(20))],
            &cl
        ));
        // Folded into the caller's instruction.
        assert!(backtraces_agree(&[(2, Some(33)), (1, Some(20))], &cl));
        assert!(!backtraces_agree(&[(2, Some(30)), (1, Some(21))], &cl));
        assert!(!backtraces_agree(
            &[(4, Some(40)), (2, Some(30)), (1, Some(20))],
            &cl
        ));
        assert!(!backtraces_agree(
            &[(3, Some(40)), (2, Some(31)), (1, Some(20))],
            &cl
        ));
        assert!(!backtraces_agree(&[(1, Some(20))], &cl));
        assert!(!backtraces_agree(&[], &cl));
        assert!(backtraces_agree(&[], &[]));
        // Merged: no offset.
        assert!(backtraces_agree(
            &[(3, None), (2, None), (1, Some(20))],
            &cl
        ));
        assert!(!backtraces_agree(
            &[(3, None), (2, Some(30)), (1, None)],
            &[(3, None), (2, Some(30)), (4, Some(20))]
        ));
    }
}

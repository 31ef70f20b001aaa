//! Helpers shared by the integration tests.

#![allow(dead_code)]

use hayate_environ::{CompiledModule, EntityRef, ModuleInfo};

/// Checks the invariants the runtime relies on.
pub fn check_well_formed(info: &ModuleInfo, m: &CompiledModule) {
    assert_eq!(m.functions.len(), info.num_defined_funcs() as usize);
    assert_eq!(
        m.array_to_wasm_trampolines.len(),
        info.num_defined_funcs() as usize
    );
    assert_eq!(m.wasm_to_array_trampolines.len(), info.types.len());
    let mut locs: Vec<_> = m.functions.values().map(|f| f.loc).collect();
    for (index, f) in m.functions.iter() {
        let i = index.index();
        assert!(f.loc.length > 0, "function {i} is empty");
        if i > 0 {
            let prev = m.functions.as_values_slice()[i - 1].loc;
            assert!(
                prev.start + prev.length <= f.loc.start,
                "functions overlap or are out of order"
            );
        }
        let map: Vec<(u32, u32)> = f.address_map.iter().collect();
        assert!(
            map.windows(2).all(|w| w[0].0 < w[1].0),
            "address map sorted"
        );
        assert!(map.iter().all(|(o, _)| *o < f.loc.length));
        assert_eq!(m.function_at(f.loc.start), Some(index));
    }
    for (i, t) in m.array_to_wasm_trampolines.iter() {
        let escaping = info.is_escaping(i);
        assert_eq!(t.is_some(), escaping, "array-to-wasm trampoline of {i}");
        if let Some(t) = t {
            locs.push(*t);
        }
    }
    locs.extend(m.wasm_to_array_trampolines.values().copied());
    locs.sort_by_key(|l| l.start);
    for w in locs.windows(2) {
        assert!(
            w[0].start + w[0].length <= w[1].start,
            "code ranges overlap"
        );
    }
    if let Some(last) = locs.last() {
        assert!((last.start + last.length) as usize <= m.text.len());
    }
    let traps: Vec<(u32, _)> = m.traps.iter().collect();
    assert_eq!(traps.len(), m.traps.len(), "every trap code is known");
    assert!(
        traps.windows(2).all(|w| w[0].0 < w[1].0),
        "traps sorted and unique"
    );
    for (offset, _) in &traps {
        assert!(
            locs.iter()
                .any(|l| *offset >= l.start && *offset < l.start + l.length),
            "trap at {offset:#x} outside code"
        );
    }
    for r in &m.relocations {
        assert!(r.offset as usize + 8 <= m.text.len());
    }
}

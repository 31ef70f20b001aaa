//! The `spectest` host module that spec test scripts import from.

use hayate::{
    Caller, Func, FuncType, Global, GlobalType, Linker, Memory, MemoryType, Mutability, RefType,
    Store, Table, TableType, Val, ValType,
};

/// Prints one value the way the reference interpreter does: `666 : i32`.
fn print_val(val: &Val) {
    match val {
        Val::I32(v) => println!("{v} : i32"),
        Val::I64(v) => println!("{v} : i64"),
        Val::F32(bits) => println!("{} : f32", f32::from_bits(*bits)),
        Val::F64(bits) => println!("{} : f64", f64::from_bits(*bits)),
        other => println!("{other:?}"),
    }
}

/// Defines every `spectest` export in `linker`: the `print*` functions
/// (writing to stdout), `global_i32`/`global_i64` = 666,
/// `global_f32`/`global_f64` = 666.6, `table` (funcref, 10..20) and
/// `memory` (1..2 pages).
pub(crate) fn define(linker: &mut Linker<()>, store: &mut Store<()>) -> hayate::Result<()> {
    use ValType::*;
    let prints: &[(&str, &[ValType])] = &[
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType::new(params.iter().cloned(), []);
        let func = Func::new(
            &mut *store,
            ty,
            |_: Caller<'_, ()>, args: &[Val], _: &mut [Val]| {
                args.iter().for_each(print_val);
                Ok(())
            },
        );
        linker.define(&mut *store, "spectest", name, func)?;
    }

    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), val)?;
        linker.define(&mut *store, "spectest", name, global)?;
    }

    let table_ty = TableType::new(RefType::FUNCREF, 10, Some(20));
    let table = Table::new(&mut *store, table_ty, hayate::Ref::Func(None))?;
    linker.define(&mut *store, "spectest", "table", table)?;

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&mut *store, "spectest", "memory", memory)?;
    Ok(())
}

//! Funcref tables initialised lazily behave exactly like tables whose
//! element segments are written at instantiation.

use hayate::{
    Config, Engine, Extern, Instance, InstanceAllocationStrategy, Linker, Module, PoolingConfig,
    Ref, RefType, Store, Table, TableType, Trap, Val,
};

fn engines() -> Vec<(&'static str, Engine)> {
    let mut pooling = Config::new();
    pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
        max_instances: 4,
        max_memories: 4,
        max_tables: 4,
        max_tables_per_instance: 2,
        ..PoolingConfig::default()
    }));
    vec![
        (
            "eager",
            Engine::new(Config::new().table_lazy_init(false)).unwrap(),
        ),
        ("lazy", Engine::new(&Config::new()).unwrap()),
        ("lazy+pooling", Engine::new(&pooling).unwrap()),
    ]
}

const TABLE: &str = r#"(module
    (type $t (func (result i32)))
    (table $tab (export "tab") 10000 20000 funcref)
    (func $a (export "a") (result i32) i32.const 1)
    (func $b (result i32) i32.const 2)
    (func $c (result i32) i32.const 3)
    (elem (i32.const 0) $a $b $c)
    (elem (i32.const 9990) $c $c $c $c $c $c $c $c $c $c)
    (elem (i32.const 1) funcref (ref.func $c) (ref.null func))
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $t) (local.get 0)))
    (func (export "is_null") (param i32) (result i32)
      (ref.is_null (table.get $tab (local.get 0))))
    (func (export "clear") (param i32) (table.set $tab (local.get 0) (ref.null func)))
    (func (export "set_b") (param i32) (table.set $tab (local.get 0) (ref.func $b)))
    (func (export "copy") (param i32 i32 i32) (table.copy (local.get 0) (local.get 1) (local.get 2)))
    (func (export "move") (param i32 i32)
      (table.set $tab (local.get 0) (table.get $tab (local.get 1))))
    (func (export "fill") (param i32 i32) (table.fill $tab (local.get 0) (ref.func $a) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (table.grow $tab (ref.null func) (local.get 0))))"#;

/// Calls `call` at each index: `Ok(n)` or the trap.
fn calls(store: &mut Store<()>, i: &Instance, indices: &[i32]) -> Vec<Result<i32, Trap>> {
    let call = i.get_typed_func::<i32, i32>(&mut *store, "call").unwrap();
    indices
        .iter()
        .map(|x| {
            call.call(&mut *store, *x)
                .map_err(|e| e.downcast_ref::<Trap>().copied().expect("a trap"))
        })
        .collect()
}

fn scenario(engine: &Engine) -> Vec<String> {
    let module = Module::new(engine, TABLE).unwrap();
    let mut store = Store::new(engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let mut log = Vec::new();
    let probe = [0, 1, 2, 3, 9989, 9990, 9999, 10_000];
    log.push(format!("{:?}", calls(&mut store, &i, &probe)));
    let f = |store: &mut Store<()>, name: &str| i.get_func(&mut *store, name).unwrap();
    let run = |store: &mut Store<()>, name: &str, args: &[Val]| {
        let func = f(store, name);
        let mut out = vec![Val::I32(0); func.ty(&*store).results().len()];
        let r = func.call(&mut *store, args, &mut out);
        format!(
            "{name}{args:?} -> {:?} {out:?}",
            r.map_err(|e| e.downcast_ref::<Trap>().copied())
        )
    };
    log.push(run(&mut store, "is_null", &[Val::I32(2)]));
    log.push(run(&mut store, "is_null", &[Val::I32(5)]));
    log.push(run(&mut store, "is_null", &[Val::I32(9995)]));
    // Overwriting an untouched element must not be undone by lazy init.
    log.push(run(&mut store, "clear", &[Val::I32(9991)]));
    log.push(run(&mut store, "set_b", &[Val::I32(9992)]));
    // Copy untouched elements elsewhere: they keep their own values.
    log.push(run(
        &mut store,
        "copy",
        &[Val::I32(100), Val::I32(9990), Val::I32(5)],
    ));
    log.push(run(
        &mut store,
        "copy",
        &[Val::I32(9996), Val::I32(0), Val::I32(3)],
    ));
    log.push(run(&mut store, "move", &[Val::I32(200), Val::I32(9999)]));
    log.push(run(&mut store, "fill", &[Val::I32(300), Val::I32(2)]));
    log.push(run(&mut store, "grow", &[Val::I32(5)]));
    log.push(run(
        &mut store,
        "copy",
        &[Val::I32(0), Val::I32(10_004), Val::I32(2)],
    ));
    let after = [
        0, 1, 2, 100, 101, 104, 200, 300, 301, 9991, 9992, 9996, 9997, 9998, 10_004,
    ];
    log.push(format!("{:?}", calls(&mut store, &i, &after)));
    // The host sees the same values.
    let tab = i.get_table(&mut store, "tab").unwrap();
    let host: Vec<bool> = [1, 2, 9993, 9994, 10_003]
        .iter()
        .map(|x| matches!(tab.get(&mut store, *x), Some(Ref::Func(Some(_)))))
        .collect();
    log.push(format!("{host:?}"));
    log
}

#[test]
fn lazy_and_eager_tables_agree() {
    let mut results = engines().into_iter().map(|(name, e)| (name, scenario(&e)));
    let (_, eager) = results.next().unwrap();
    assert!(
        eager[0].contains("Ok(1), Ok(3), Err(IndirectCallToNull)"),
        "{eager:?}"
    );
    for (name, got) in results {
        assert_eq!(got, eager, "{name}");
    }
}

#[test]
fn importers_initialise_the_owner_s_elements() {
    for (name, engine) in engines() {
        let owner = Module::new(&engine, TABLE).unwrap();
        let user = Module::new(
            &engine,
            r#"(module
                (import "o" "tab" (table 10000 funcref))
                (func (export "call") (param i32) (result i32)
                  (call_indirect (result i32) (local.get 0))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let o = Instance::new(&mut store, &owner, &[]).unwrap();
        let tab = o.get_export(&mut store, "tab").unwrap();
        let u = Instance::new(&mut store, &user, &[tab]).unwrap();
        assert_eq!(
            calls(&mut store, &u, &[0, 1, 9999, 2]),
            [Ok(1), Ok(3), Ok(3), Err(Trap::IndirectCallToNull)],
            "{name}"
        );
        // Host tables are funcref tables too.
        let a = o.get_func(&mut store, "a").unwrap();
        let host = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 10000, None),
            Ref::Func(Some(a)),
        )
        .unwrap();
        let empty = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 10000, None),
            Ref::Func(None),
        )
        .unwrap();
        let u1 = Instance::new(&mut store, &user, &[host.into()]).unwrap();
        let u2 = Instance::new(&mut store, &user, &[empty.into()]).unwrap();
        assert_eq!(calls(&mut store, &u1, &[7]), [Ok(1)], "{name}");
        assert_eq!(
            calls(&mut store, &u2, &[7]),
            [Err(Trap::IndirectCallToNull)],
            "{name}"
        );
    }
}

#[test]
fn trap_in_element_segment_leaves_only_earlier_segments() {
    let wat = r#"(module
        (import "t" "tab" (table 1 funcref))
        (table $own 2 funcref)
        (func $one (result i32) i32.const 1)
        (func $probe (param i32) (result i32)
          (call_indirect $own (result i32) (local.get 0)))
        (elem (table $own) (i32.const 0) func $one)
        (elem (table 0) (i32.const 0) func $probe)
        (elem (table 0) (i32.const 1) func $one)
        (elem (table $own) (i32.const 1) func $one))"#;
    for (name, engine) in engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let table = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 1, None),
            Ref::Func(None),
        )
        .unwrap();
        let mut linker = Linker::new(&engine);
        linker
            .define(&store, "t", "tab", Extern::Table(table))
            .unwrap();
        let err = linker.instantiate(&mut store, &module).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>().copied(),
            Some(Trap::TableOutOfBounds),
            "{name}"
        );
        let Some(Ref::Func(Some(probe))) = table.get(&mut store, 0) else {
            panic!("{name}: the second segment was applied");
        };
        let probe = probe.typed::<i32, i32>(&store).unwrap();
        assert_eq!(probe.call(&mut store, 0).unwrap(), 1, "{name}");
        let err = probe.call(&mut store, 1).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>().copied(),
            Some(Trap::IndirectCallToNull),
            "{name}"
        );
    }
}

#[test]
fn copies_between_tables_and_short_inits_keep_their_values() {
    // Table 0 is lazy; table 1 is not (a segment with a computed offset),
    // so its untouched elements are null. Copying them over lazy elements
    // makes those null, not the image's functions; `table.init` from a long
    // passive segment copies exactly its range.
    let wat = r#"(module
        (type $t (func (result i32)))
        (import "env" "at" (global $at i32))
        (table $lazy 8 funcref)
        (table $eager 8 funcref)
        (func $a (result i32) i32.const 1)
        (func $b (result i32) i32.const 2)
        (elem (table $lazy) (i32.const 0) func $a $a $a $a)
        (elem (table $eager) (global.get $at) func $b)
        (elem $passive func $a $b $a $b $a $b $a $b $a $b $a $b)
        (func (export "copy") (param i32 i32 i32)
          (table.copy $lazy $eager (local.get 0) (local.get 1) (local.get 2)))
        (func (export "init") (param i32 i32 i32)
          (table.init $lazy $passive (local.get 0) (local.get 1) (local.get 2)))
        (func (export "call") (param i32) (result i32)
          (call_indirect $lazy (type $t) (local.get 0))))"#;
    for (name, engine) in engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let at = hayate::Global::new(
            &mut store,
            hayate::GlobalType::new(hayate::ValType::I32, hayate::Mutability::Const),
            Val::I32(3),
        )
        .unwrap();
        let i = Instance::new(&mut store, &module, &[at.into()]).unwrap();
        let copy = i
            .get_typed_func::<(i32, i32, i32), ()>(&mut store, "copy")
            .unwrap();
        let init = i
            .get_typed_func::<(i32, i32, i32), ()>(&mut store, "init")
            .unwrap();
        let call = i.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
        copy.call(&mut store, (0, 1, 2)).unwrap();
        for slot in [0, 1] {
            let e = call.call(&mut store, slot).unwrap_err();
            assert_eq!(
                e.downcast_ref::<Trap>().copied(),
                Some(Trap::IndirectCallToNull),
                "{name}"
            );
        }
        assert_eq!(call.call(&mut store, 2).unwrap(), 1, "{name}");
        copy.call(&mut store, (2, 3, 1)).unwrap();
        assert_eq!(call.call(&mut store, 2).unwrap(), 2, "{name}");
        init.call(&mut store, (4, 11, 1)).unwrap();
        assert_eq!(call.call(&mut store, 4).unwrap(), 2, "{name}");
        let e = init.call(&mut store, (0, 11, 2)).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>().copied(),
            Some(Trap::TableOutOfBounds),
            "{name}"
        );
        let e = copy.call(&mut store, (0, -1, 2)).unwrap_err();
        assert_eq!(
            e.downcast_ref::<Trap>().copied(),
            Some(Trap::TableOutOfBounds),
            "{name}"
        );
    }
}

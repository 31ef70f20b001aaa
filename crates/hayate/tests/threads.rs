//! Stores move between threads between calls, as a worker pool hands a
//! store to whichever thread is free (`Store<T>: Send` when `T: Send`).
//! The stress test moves stores around while they trap in every way a
//! guest can, call back into themselves through host functions, and run
//! out of stack on threads with stacks of different sizes.

use std::sync::mpsc;

use hayate::{
    Caller, Engine, Func, Instance, Linker, Memory, Module, Store, Trap, TypedFunc, WasmBacktrace,
};

fn assert_send<T: Send>() {}

#[test]
fn stores_and_handles_are_send() {
    assert_send::<Store<()>>();
    assert_send::<Store<Vec<String>>>();
    assert_send::<Caller<'static, ()>>();
    assert_send::<(Engine, Module, Linker<()>, Instance, Func, Memory)>();
    assert_send::<TypedFunc<(i32, i32), i32>>();
}

const GUEST: &str = r#"(module
    (import "host" "reenter" (func $reenter (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $calls (mut i32) (i32.const 0))
    (func (export "count") (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.store (i32.const 0) (global.get $calls))
      (global.get $calls))
    (func (export "unreachable") unreachable)
    (func (export "oob") (drop (i32.load (i32.const -4))))
    (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func $recurse (export "recurse") (call $recurse))
    ;; Host -> Wasm -> host ... `n` levels deep, then trap at the bottom.
    (func (export "nested") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then unreachable)
        (else (call $reenter (i32.sub (local.get 0) (i32.const 1)))))))"#;

/// One store with its entry points, moved between threads as a unit.
struct Job {
    store: Store<u32>,
    count: TypedFunc<(), i32>,
    traps: Vec<(TypedFunc<(), ()>, Trap)>,
    div: TypedFunc<i32, i32>,
    nested: TypedFunc<i32, i32>,
    memory: Memory,
    rounds: u32,
    /// Host re-entries so far (the store's data counts them too).
    reentries: u32,
    id: usize,
}

fn job(engine: &Engine, module: &Module, linker: &Linker<u32>, id: usize) -> Job {
    let mut store = Store::new(engine, 0u32);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let unit = |store: &mut Store<u32>, name: &str| {
        instance.get_typed_func::<(), ()>(store, name).unwrap()
    };
    let traps = vec![
        (
            unit(&mut store, "unreachable"),
            Trap::UnreachableCodeReached,
        ),
        (unit(&mut store, "oob"), Trap::MemoryOutOfBounds),
        (unit(&mut store, "recurse"), Trap::StackOverflow),
    ];
    Job {
        count: instance.get_typed_func(&mut store, "count").unwrap(),
        div: instance.get_typed_func(&mut store, "div").unwrap(),
        nested: instance.get_typed_func(&mut store, "nested").unwrap(),
        memory: instance.get_memory(&mut store, "memory").unwrap(),
        traps,
        store,
        rounds: 0,
        reentries: 0,
        id,
    }
}

/// One round of calls on whatever thread holds the job.
fn round(job: &mut Job) {
    let expected = job.rounds as i32 + 1;
    assert_eq!(job.count.call(&mut job.store, ()).unwrap(), expected);
    let stored = i32::from_le_bytes(job.memory.data(&job.store)[..4].try_into().unwrap());
    assert_eq!(stored, expected);
    let (f, trap) = &job.traps[job.rounds as usize % job.traps.len()];
    let err = f.call(&mut job.store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(trap), "{err:?}");
    assert!(err.downcast_ref::<WasmBacktrace>().is_some());
    let err = job.div.call(&mut job.store, 0).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero)
    );
    let depth = (job.rounds % 5) as i32;
    let err = job.nested.call(&mut job.store, depth).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let frames = err.downcast_ref::<WasmBacktrace>().unwrap().frames().len();
    assert_eq!(frames, depth as usize + 1, "{err:?}");
    job.reentries += depth as u32;
    assert_eq!(*job.store.data(), job.reentries);
    job.rounds += 1;
}

#[test]
fn stores_move_between_threads_while_they_trap() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, u32>, n: i32| -> hayate::Result<i32> {
                *caller.data_mut() += 1;
                let nested = caller
                    .get_export("nested")
                    .and_then(|e| e.into_func())
                    .unwrap();
                nested.typed::<i32, i32>(&caller)?.call(&mut caller, n)
            },
        )
        .unwrap();

    const WORKERS: usize = 4;
    const JOBS: usize = 8;
    const ROUNDS: u32 = 150;
    // Workers take jobs from a shared queue and send them back; a job goes
    // to whichever worker is free, so every store visits several threads,
    // each with a stack of its own size.
    let (done_tx, done_rx) = mpsc::channel::<(Job, usize)>();
    let mut to_workers = Vec::new();
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let (tx, rx) = mpsc::channel::<Job>();
        to_workers.push(tx);
        let done = done_tx.clone();
        handles.push(
            std::thread::Builder::new()
                .stack_size((256 + 256 * w) << 10)
                .spawn(move || {
                    for mut job in rx {
                        round(&mut job);
                        if done.send((job, w)).is_err() {
                            break;
                        }
                    }
                })
                .unwrap(),
        );
    }
    for (id, tx) in (0..JOBS).zip(to_workers.iter().cycle()) {
        tx.send(job(&engine, &module, &linker, id)).unwrap();
    }
    let mut finished = 0;
    let mut visited = vec![std::collections::BTreeSet::new(); JOBS];
    let mut next = 0;
    while finished < JOBS {
        let (job, worker) = done_rx.recv().unwrap();
        visited[job.id].insert(worker);
        if job.rounds == ROUNDS {
            finished += 1;
            continue;
        }
        // Hand it to a different worker than the one that just ran it.
        next = (next + 1) % WORKERS;
        if next == worker {
            next = (next + 1) % WORKERS;
        }
        to_workers[next].send(job).unwrap();
    }
    drop(to_workers);
    for h in handles {
        h.join().unwrap();
    }
    assert!(visited.iter().all(|v| v.len() == WORKERS), "{visited:?}");
}

#[test]
fn a_host_function_may_call_back_from_another_thread() {
    // The caller moves to a scoped thread, which re-enters Wasm (and traps
    // there) while the calling thread waits inside the host function: the
    // nested activation has its own stack limit and trap handling.
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, u32>, n: i32| -> hayate::Result<i32> {
                std::thread::scope(|s| {
                    s.spawn(|| {
                        let f = caller
                            .get_export("recurse")
                            .and_then(|e| e.into_func())
                            .unwrap();
                        let err = f.call(&mut caller, &[], &mut []).unwrap_err();
                        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
                        let count = caller
                            .get_export("count")
                            .and_then(|e| e.into_func())
                            .unwrap();
                        count.typed::<(), i32>(&caller)?.call(&mut caller, ())
                    })
                    .join()
                    .unwrap()
                })
                .map(|calls| calls + n)
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, 0);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let nested = instance
        .get_typed_func::<i32, i32>(&mut store, "nested")
        .unwrap();
    assert_eq!(nested.call(&mut store, 10).unwrap(), 1 + 9);
    assert_eq!(nested.call(&mut store, 10).unwrap(), 2 + 9);
    // And Wasm on this thread still traps cleanly afterwards.
    let err = nested.call(&mut store, 0).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
}

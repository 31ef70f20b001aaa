//! The cost of calling a component's exports from the host, Hayate and
//! Wasmtime side by side with the same component and typed functions:
//! an empty call, a string in and out, a list of `u32`s in, and a record
//! of three floats in, as nanoseconds per call.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::measure::median;
use crate::per_op::Row;

/// The guest: `realloc` hands out one fixed region (each call's values
/// are consumed before the next), so no call leaks memory.
const COMPONENT: &str = r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (if (i32.gt_u (local.get 3) (i32.const 60000)) (then (unreachable)))
      (i32.const 1024))
    (func (export "noop"))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (block $done
        (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
      (local.get $s))
    (func (export "norm") (param f64 f64 f64) (result f64)
      (f64.add (f64.add (f64.mul (local.get 0) (local.get 0)) (f64.mul (local.get 1) (local.get 1)))
        (f64.mul (local.get 2) (local.get 2)))))
  (core instance $i (instantiate $m))
  (type $point_def (record (field "x" f64) (field "y" f64) (field "z" f64)))
  (export $point "point" (type $point_def))
  (func (export "noop") (canon lift (core func $i "noop")))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "sum") (param "xs" (list u32)) (result u32)
    (canon lift (core func $i "sum") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "norm") (param "p" $point) (result f64)
    (canon lift (core func $i "norm")))
)"#;

const CALLS: usize = 100_000;

/// The arguments: a 100-byte string, 100 `u32`s, a point.
fn string() -> String {
    "hayate ".repeat(15).chars().take(100).collect()
}

fn list() -> Vec<u32> {
    (0..100).collect()
}

/// Times `CALLS` calls of `call`, `runs` times; the median per call.
fn time(runs: usize, mut call: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        for _ in 0..CALLS {
            call()?;
        }
        times.push(start.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    Ok(median(&times))
}

/// Each kernel's median nanoseconds per call.
pub fn components_cost(runs: usize) -> Result<Vec<Row>> {
    let hayate = hayate_times(runs)?;
    #[cfg(feature = "peers")]
    let wasmtime = wasmtime_times(runs)?;
    #[cfg(not(feature = "peers"))]
    let wasmtime = [f64::NAN; 4];
    let kernels = [
        "noop",
        "echo(string 100 B)",
        "sum(list<u32> 100)",
        "norm(record 3 f64)",
    ];
    Ok(kernels
        .iter()
        .zip(hayate.iter().zip(wasmtime))
        .map(|(kernel, (h, w))| Row {
            kernel,
            hayate: *h,
            wasmtime: w,
        })
        .collect())
}

fn hayate_times(runs: usize) -> Result<[f64; 4]> {
    use hayate_component::{Component, Linker};
    let engine = hayate::Engine::default();
    let component = Component::new(&engine, COMPONENT)?;
    let mut store = hayate::Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
    let get = |store: &mut hayate::Store<()>, name| {
        instance
            .get_func(store, name)
            .ok_or_else(|| anyhow::anyhow!("no export {name}"))
    };
    let noop = get(&mut store, "noop")?.typed::<(), ()>()?;
    let echo = get(&mut store, "echo")?.typed::<(&str,), (String,)>()?;
    let sum = get(&mut store, "sum")?.typed::<(&[u32],), (u32,)>()?;
    let norm = get(&mut store, "norm")?;
    let (s, xs) = (string(), list());
    if echo.call(&mut store, (&s,))?.0 != s || sum.call(&mut store, (&xs,))?.0 != 4950 {
        bail!("Hayate computed a wrong result");
    }
    #[derive(hayate_component::ComponentType, Clone, Copy)]
    struct Point {
        x: f64,
        y: f64,
        z: f64,
    }
    let point = Point {
        x: 1.0,
        y: 2.0,
        z: 2.0,
    };
    let norm = norm.typed::<(Point,), (f64,)>()?;
    Ok([
        time(runs, || noop.call(&mut store, ()).map(drop))?,
        time(runs, || echo.call(&mut store, (&s,)).map(drop))?,
        time(runs, || sum.call(&mut store, (&xs,)).map(drop))?,
        time(runs, || norm.call(&mut store, (point,)).map(drop))?,
    ])
}

#[cfg(feature = "peers")]
fn wasmtime_times(runs: usize) -> Result<[f64; 4]> {
    use wasmtime::component::{Component, ComponentType, Lift, Linker, Lower};
    #[derive(ComponentType, Lift, Lower, Clone, Copy)]
    #[component(record)]
    struct Point {
        x: f64,
        y: f64,
        z: f64,
    }
    let wt = |e: wasmtime::Error| anyhow::anyhow!("{e}");
    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, COMPONENT).map_err(wt)?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .map_err(wt)?;
    let noop = instance
        .get_typed_func::<(), ()>(&mut store, "noop")
        .map_err(wt)?;
    let echo = instance
        .get_typed_func::<(&str,), (String,)>(&mut store, "echo")
        .map_err(wt)?;
    let sum = instance
        .get_typed_func::<(&[u32],), (u32,)>(&mut store, "sum")
        .map_err(wt)?;
    let norm = instance
        .get_typed_func::<(Point,), (f64,)>(&mut store, "norm")
        .map_err(wt)?;
    let (s, xs) = (string(), list());
    let point = Point {
        x: 1.0,
        y: 2.0,
        z: 2.0,
    };
    let echoed = echo.call(&mut store, (&s,)).map_err(wt)?.0;
    let summed = sum.call(&mut store, (&xs,)).map_err(wt)?.0;
    if echoed != s || summed != 4950 {
        bail!("Wasmtime computed a wrong result");
    }
    Ok([
        time(runs, || noop.call(&mut store, ()).map_err(wt))?,
        time(runs, || echo.call(&mut store, (&s,)).map(drop).map_err(wt))?,
        time(runs, || sum.call(&mut store, (&xs,)).map(drop).map_err(wt))?,
        time(runs, || {
            norm.call(&mut store, (point,)).map(drop).map_err(wt)
        })?,
    ])
}

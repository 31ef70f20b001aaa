//! The engines guests run on, one per stack limit, and the thread that
//! advances their epochs so that a statement's deadline is wall-clock time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hayate::{Config, Engine};

/// How often the epoch advances: the granularity of timeouts.
pub const TICK: Duration = Duration::from_millis(10);

static ENGINES: OnceLock<Mutex<HashMap<usize, Engine>>> = OnceLock::new();

/// Ticks since the thread started, advanced with the engines' epochs.
static NOW: AtomicU64 = AtomicU64::new(0);

/// The current tick.
pub fn now() -> u64 {
    NOW.load(Ordering::Relaxed)
}

fn engines() -> &'static Mutex<HashMap<usize, Engine>> {
    ENGINES.get_or_init(|| {
        // One ticker for the whole process, started with the first engine.
        // It lives as long as the process: the extension asks SQLite to stay
        // loaded (`SQLITE_OK_LOAD_PERMANENTLY`), so its code is never unmapped.
        std::thread::Builder::new()
            .name("hayate-sqlite-epoch".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TICK);
                    NOW.fetch_add(1, Ordering::Relaxed);
                    let engines = engines().lock().unwrap_or_else(|e| e.into_inner());
                    for engine in engines.values() {
                        engine.increment_epoch();
                    }
                }
            })
            .expect("cannot start the epoch thread");
        Mutex::new(HashMap::new())
    })
}

/// The engine for guests with a stack limit of `stack` bytes: epoch
/// interruption on, shared by every function with that limit.
pub fn engine(stack: usize) -> hayate::Result<Engine> {
    let mut map = engines().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(engine) = map.get(&stack) {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    config.epoch_interruption(true).max_wasm_stack(stack);
    let engine = Engine::new(&config)?;
    map.insert(stack, engine.clone());
    Ok(engine)
}

/// `timeout` in ticks (at least one).
pub fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / TICK.as_millis()).max(1) as u64
}

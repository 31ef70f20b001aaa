//! A small parallel map over compilation jobs with scoped threads: workers
//! take chunks of jobs from a shared counter, each with its own scratch
//! state (Cranelift contexts are reused across the jobs of one worker).

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads "all cores" is.
pub(crate) fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |p| p.get())
}

/// Applies `f` to every item, on at most `threads` threads (this one and
/// `threads - 1` more), and returns the results in item order. `init`
/// creates one scratch state per worker.
pub(crate) fn map<T, R, S>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let n = items.len();
    let threads = threads.min(n);
    if threads <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }

    // Several chunks per thread so that large functions balance out.
    let chunk = (n / (threads * 4)).max(1);
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut state = init();
        let mut out = Vec::new();
        loop {
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= n {
                break;
            }
            for (i, item) in items.iter().enumerate().skip(start).take(chunk) {
                out.push((i, f(&mut state, item)));
            }
        }
        out
    };
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut all = worker();
        for h in handles {
            match h.join() {
                Ok(out) => all.extend(out),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, r) in all {
            results[i] = Some(r);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(
            &items,
            4,
            || 0u32,
            |calls, x| {
                *calls += 1;
                x * 2
            },
        );
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}

//! The fixed pool of worker threads that run handlers, and admission:
//! at most `workers` requests run at once (one instance each), at most
//! `queue` more wait for a worker, and the rest are turned away (503) at
//! once. Handlers block their thread while WebAssembly runs, so they never
//! run on the async runtime's threads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

/// A unit of work for a worker.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Worker threads and the count of admitted requests.
#[derive(Debug)]
pub struct Pool {
    sender: Sender<Job>,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

/// A request's place in the pool: running or waiting. Dropping it frees
/// the place.
#[derive(Debug)]
pub struct Ticket(Arc<AtomicUsize>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    /// Starts `workers` threads with `stack_size`-byte stacks (WebAssembly
    /// runs on them: they must hold the engine's `max_wasm_stack` and the
    /// host calls above it); admits `workers + queue` requests at once.
    pub fn new(workers: usize, queue: usize, stack_size: usize) -> std::io::Result<Pool> {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        // The threads are detached: they end once the pool is dropped
        // and the queue is empty.
        for i in 0..workers.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("hayate-serve-worker-{i}"))
                .stack_size(stack_size)
                .spawn(move || work(&receiver))?;
        }
        Ok(Pool {
            sender,
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers.max(1) + queue,
        })
    }

    /// A place for one more request, unless every worker is busy and the
    /// queue is full.
    pub fn admit(&self) -> Option<Ticket> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let ticket = Ticket(self.admitted.clone());
        (before < self.capacity).then_some(ticket)
    }

    /// Requests running or waiting.
    pub fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Queues `job` (which should hold its request's [`Ticket`]).
    pub fn submit(&self, job: Job) {
        // The workers outlive the sender, so this cannot fail.
        let _ = self.sender.send(job);
    }
}

/// A worker: runs jobs until the pool closes. A panicking job is caught,
/// so the worker, and the server, carry on.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            receiver.recv()
        };
        match job {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_workers_plus_queue() {
        let pool = Pool::new(2, 1, 1 << 20).unwrap();
        let tickets: Vec<Ticket> = (0..3).map(|_| pool.admit().unwrap()).collect();
        assert!(pool.admit().is_none());
        assert_eq!(pool.in_flight(), 3);
        drop(tickets);
        assert_eq!(pool.in_flight(), 0);
        assert!(pool.admit().is_some());
    }

    #[test]
    fn survives_a_panicking_job() {
        let pool = Pool::new(1, 0, 1 << 20).unwrap();
        pool.submit(Box::new(|| panic!("boom")));
        let (tx, rx) = channel();
        pool.submit(Box::new(move || tx.send(7).unwrap()));
        assert_eq!(rx.recv().unwrap(), 7);
    }
}

//! The bounded queue between request handlers and the batcher thread.
//!
//! Capacity counts signatures (an aggregate job weighs its number of keys), not requests:
//! it bounds the work the server has promised to do, hence the latency of what it accepts.
//! Engine batches are cut by their entries instead (`Job::batch_items`): a fast aggregate,
//! whatever its number of keys, is one item of a batch once the batcher has summed them.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::fold::FastAggregate;
use super::{Caller, RequestError};
use crate::codec::ItemError;
use crate::codec::{PublicKey, Signature};
use crate::engine::{verify_each, BisectStats, Engine, EngineError, ItemVerdict, SignedItem};
use crate::suite::Suite;

/// Decoded verification work: what an engine is asked, without the way the answer goes back.
pub enum Job {
    /// Independent signatures: one verdict each.
    Items {
        suite: Suite,
        items: Vec<SignedItem>,
    },
    /// One aggregate signature over (key, message) pairs (messages final, distinctness checked).
    Aggregate {
        suite: Suite,
        public_keys: Vec<PublicKey>,
        messages: Vec<Vec<u8>>,
        // Boxed: a G2 point would make every queued job as large as this variant.
        signature: Box<Signature>,
    },
    /// One aggregate signature by many keys over one message (POP). The key sum (up to
    /// `max_items` point additions) is made by the batcher, or the interactive lane, never on
    /// the HTTP event loop; the batcher then verifies it as one item of a batch (`fold`).
    FastAggregate(FastAggregate),
}

impl Job {
    /// Signatures' worth of engine work.
    pub fn weight(&self) -> usize {
        match self {
            Job::Items { items, .. } => items.len(),
            Job::Aggregate { public_keys, .. }
            | Job::FastAggregate(FastAggregate { public_keys, .. }) => public_keys.len(),
        }
    }

    /// Entries of the engine batch this job takes: what counts against `max_batch_size`. A
    /// fast aggregate is one item (its keys are summed before the batch; the sum costs a small
    /// fraction of an item's check per key: bench/RESULTS.md).
    pub fn batch_items(&self) -> usize {
        match self {
            Job::FastAggregate(_) => 1,
            job => job.weight(),
        }
    }

    /// The verdicts of this job alone on `engine`: one per item, or one for an aggregate.
    pub fn run(&self, engine: &dyn Engine) -> Result<(Vec<ItemVerdict>, BisectStats), EngineError> {
        match self {
            Job::Items { suite, items } => {
                let refs: Vec<&SignedItem> = items.iter().collect();
                verify_each(engine, *suite, &refs)
            }
            Job::Aggregate {
                suite,
                public_keys,
                messages,
                signature,
            } => {
                let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
                let valid = engine.verify_aggregate(*suite, public_keys, &messages, signature)?;
                Ok((vec![aggregate_verdict(valid)], BisectStats::default()))
            }
            Job::FastAggregate(fast) => match fast.fold()? {
                Ok(item) => verify_each(engine, fast.suite, &[&item]),
                Err(error) => Ok((vec![Err(error)], BisectStats::default())),
            },
        }
    }
}

fn aggregate_verdict(valid: bool) -> ItemVerdict {
    valid.then_some(()).ok_or(ItemError::InvalidSignature)
}

/// The answer to a job: its verdicts, or why there are none.
pub type Reply = oneshot::Sender<Result<Vec<ItemVerdict>, RequestError>>;

/// A job with the channel its answer goes back on.
pub struct Work {
    pub job: Job,
    pub reply: Reply,
    pub caller: Caller,
    /// Its client had items fail verification lately: its jobs get engine batches of their
    /// own, so that a failure of theirs never makes honest jobs be checked again.
    pub suspect: bool,
}

impl Work {
    /// Nobody waits for the answer any more: the handler was dropped (request deadline) or
    /// the client closed its connection.
    pub fn is_abandoned(&self) -> bool {
        self.reply.is_closed() || self.caller.is_gone()
    }
}

/// Work with the time it was accepted.
pub struct Queued {
    pub work: Work,
    pub enqueued: Instant,
}

/// Why work was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("queue full")]
    Full,
    #[error("queue closed")]
    Closed,
}

pub struct Queue {
    capacity: usize,
    state: Mutex<State>,
    changed: Condvar,
    /// Exported depth, set under the lock with every change: set outside it, a push and a
    /// pop racing could leave a stale value behind.
    depth_gauge: prometheus::IntGauge,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Queued>,
    /// Signatures waiting (`Job::weight`): what the capacity bounds.
    depth: usize,
    /// Engine batch entries waiting (`Job::batch_items`): what fills a batch.
    items: usize,
    closed: bool,
}

impl Queue {
    pub fn new(capacity: usize, depth_gauge: prometheus::IntGauge) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            depth_gauge,
        }
    }

    /// Accepts work unless that would exceed the capacity. An empty queue accepts any single
    /// job, so a request larger than the capacity is slow rather than never served.
    pub fn try_push(&self, work: Work) -> Result<(), PushError> {
        let weight = work.job.weight();
        let mut state = self.lock();
        if state.closed {
            return Err(PushError::Closed);
        }
        if state.depth > 0 && state.depth + weight > self.capacity {
            return Err(PushError::Full);
        }
        state.depth += weight;
        state.items += work.job.batch_items();
        self.depth_gauge.set(state.depth as i64);
        state.jobs.push_back(Queued {
            work,
            enqueued: Instant::now(),
        });
        self.changed.notify_all();
        Ok(())
    }

    /// Signatures waiting.
    pub fn depth(&self) -> usize {
        self.lock().depth
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Refuses new work; what is queued is still handed out.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The next engine batch: jobs from the front whose batch entries (`Job::batch_items`) sum
    /// to at most `max_batch` (always at least one job). With a `delay`, waits up to that long after the first job
    /// was queued for the batch to fill. `None` once the queue is closed and empty.
    pub fn pop_batch(&self, max_batch: usize, delay: Duration) -> Option<Vec<Queued>> {
        let mut state = self.lock();
        while state.jobs.is_empty() {
            if state.closed {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if !delay.is_zero() {
            let deadline = state.jobs[0].enqueued + delay;
            while !state.closed && state.items < max_batch {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                state = self
                    .changed
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        let mut batch = Vec::new();
        let (mut items, mut weight) = (0, 0);
        while let Some(front) = state.jobs.front() {
            let job = &front.work.job;
            if !batch.is_empty() && items + job.batch_items() > max_batch {
                break;
            }
            items += job.batch_items();
            weight += job.weight();
            batch.extend(state.jobs.pop_front());
        }
        state.items -= items;
        state.depth -= weight;
        self.depth_gauge.set(state.depth as i64);
        Some(batch)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation under this lock completes before it can panic; a poisoned lock is safe.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use blst::min_pk;

    use super::*;
    use crate::codec::{decode_public_key, ItemSignature};

    fn key(seed: u8) -> PublicKey {
        let sk = min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        decode_public_key(crate::suite::Variant::MinPk, &sk.sk_to_pk().compress()).unwrap()
    }

    fn work(job: Job) -> Work {
        Work {
            job,
            reply: oneshot::channel().0,
            caller: Caller::default(),
            suspect: false,
        }
    }

    /// A fast aggregate of `keys` keys (the same key repeated: only the count matters here).
    fn fast_aggregate(keys: usize) -> Job {
        let mut infinity = vec![0u8; 96];
        infinity[0] = 0xc0;
        let variant = crate::suite::Variant::MinPk;
        Job::FastAggregate(FastAggregate {
            suite: Suite::default(),
            public_keys: vec![key(1); keys],
            message: b"m".to_vec(),
            signature: ItemSignature::parse(variant, infinity, false).unwrap(),
        })
    }

    #[test]
    fn a_fast_aggregate_weighs_its_keys_in_the_queue_and_one_item_in_a_batch() {
        let queue = Queue::new(1000, prometheus::IntGauge::new("depth", "depth").unwrap());
        for _ in 0..3 {
            queue.try_push(work(fast_aggregate(100))).unwrap();
        }
        assert_eq!(queue.depth(), 300);
        // Three batch entries fit a batch of 3, though they weigh 300 signatures.
        let batch = queue.pop_batch(3, Duration::ZERO).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(queue.depth(), 0);
        // The capacity still counts keys: 1000 signatures hold ten of them, not eleven.
        for _ in 0..10 {
            queue.try_push(work(fast_aggregate(100))).unwrap();
        }
        assert_eq!(
            queue.try_push(work(fast_aggregate(100))).err(),
            Some(PushError::Full)
        );
    }

    #[test]
    fn a_queue_delay_waits_for_batch_entries_not_keys() {
        let queue = Queue::new(1000, prometheus::IntGauge::new("depth", "depth").unwrap());
        queue.try_push(work(fast_aggregate(100))).unwrap();
        queue.try_push(work(fast_aggregate(100))).unwrap();
        // Two entries of a batch of 4: the delay runs out (200 keys would have ended it).
        let started = Instant::now();
        let batch = queue.pop_batch(4, Duration::from_millis(200)).unwrap();
        assert_eq!(batch.len(), 2);
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}

//! The interactive lane: a thread of its own that decodes and verifies interactive requests one
//! after another, as they arrive, on an engine that computes on that thread
//! (`CpuEngine::on_caller_thread`).
//!
//! Why a thread and not a priority in the bulk queue: a bulk engine batch, once started, holds
//! blst's FIFO thread pool until it ends (tens of milliseconds at 128 items), and anything
//! posted to that pool waits behind it. The lane never touches the pool or the bulk queue, so
//! an interactive request waits only for the interactive requests ahead of it; the cores are
//! shared with the bulk batch by the OS scheduler. Interactive requests are small
//! (`interactive_max_items`), so the bulk engine loses only the slice the lane actually uses.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::RequestError;
use crate::api::wire::Priority;
use crate::metrics::Metrics;

type Task = Box<dyn FnOnce() + Send>;

pub struct Lane {
    /// Most items admitted (queued or being verified) at once.
    capacity: usize,
    admitted: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
    sender: Mutex<Option<mpsc::Sender<Task>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Lane {
    pub fn start(capacity: usize, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let (sender, tasks) = mpsc::channel::<Task>();
        let thread = std::thread::Builder::new()
            .name("tollgate-interactive".into())
            .spawn(move || {
                for task in tasks {
                    task();
                }
            })?;
        Ok(Self {
            capacity,
            admitted: Arc::new(AtomicUsize::new(0)),
            metrics,
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `work` on the lane if `weight` items fit the lane's budget (an idle lane takes any
    /// request), else refuses at once with `QueueFull`. The budget is taken before `work`
    /// decodes anything. A request whose caller has gone by its turn is skipped.
    pub async fn run<T: Send + 'static>(
        &self,
        weight: usize,
        work: impl FnOnce() -> Result<T, RequestError> + Send + 'static,
    ) -> Result<T, RequestError> {
        let ticket = self.admit(weight)?;
        let (reply, answer) = oneshot::channel();
        let metrics = self.metrics.clone();
        let admitted = Instant::now();
        let task: Task = Box::new(move || {
            let _ticket = ticket;
            metrics
                .queue_wait
                .with_label_values(&[Priority::Interactive.name()])
                .observe(admitted.elapsed().as_secs_f64());
            if reply.is_closed() {
                metrics
                    .abandoned
                    .with_label_values(&[Priority::Interactive.name()])
                    .inc();
                return;
            }
            // An engine panic must still answer the request.
            let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
                Err(RequestError::EngineFailure(
                    "interactive verification panicked".into(),
                ))
            });
            let _ = reply.send(result);
        });
        {
            let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            let sender = sender.as_ref().ok_or(RequestError::ShuttingDown)?;
            sender.send(task).map_err(|_| RequestError::ShuttingDown)?;
        }
        answer.await.map_err(|_| RequestError::ShuttingDown)?
    }

    /// Refuses new work, finishes what was admitted, then stops the thread.
    pub fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("interactive lane thread panicked");
            }
        }
    }

    fn admit(&self, weight: usize) -> Result<Ticket, RequestError> {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now == 0 || now + weight <= self.capacity).then_some(now + weight)
            })
            .map_err(|_| RequestError::QueueFull(Priority::Interactive))?;
        Ok(Ticket {
            admitted: self.admitted.clone(),
            weight,
        })
    }
}

/// A share of the lane's budget, given back when the request is done or skipped.
struct Ticket {
    admitted: Arc<AtomicUsize>,
    weight: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admitted.fetch_sub(self.weight, Ordering::AcqRel);
    }
}

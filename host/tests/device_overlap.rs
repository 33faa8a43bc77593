//! The device engine's overlap on the Verilated device: the CPU's Miller loops on the blinded
//! keys run while the device's sum job is still to come, and every verdict stays right when
//! that job then fails or when the batch holds bad items.
//!
//! How the overlap is shown, not assumed: the transport under the driver holds the doorbell of
//! a batch's second device job (the sum Σ rᵢ·σᵢ) until the engine's overlap module logs that
//! its key side is ready (messages hashed, Miller loops run on the blinded keys). An engine
//! that waited for the sum before its Miller loops would never log it in time: the gate gives
//! up after [`GATE_LIMIT`] and the test fails. After the key side was used, the gate can arm a
//! fault for the sum job, so the device fails exactly then.

use crate::common;

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use common::sim_engine::{count, signed_items, sim_engine};
use prometheus::Registry;
use tollgate::engine::device::drivers::abi::regs;
use tollgate::engine::device::drivers::backends::sim::SimTransport;
use tollgate::engine::device::drivers::{
    FaultControl, FaultSpec, FaultyTransport, RegisterAccess, Tap, Tapped, TransportError,
};
use tollgate::engine::device::DeviceEngine;
use tollgate::engine::{Engine, SignedItem};
use tollgate::suite::{Scheme, Suite, Variant};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// How long the gate holds a sum job for the key side (which needs milliseconds once the
/// blinded keys are in).
const GATE_LIMIT: Duration = Duration::from_secs(60);

/// Whether the engine's key side was ready.
#[derive(Default)]
struct KeySide {
    ready: Mutex<bool>,
    changed: Condvar,
}

impl KeySide {
    fn set(&self, ready: bool) {
        *self.ready.lock().unwrap_or_else(PoisonError::into_inner) = ready;
        self.changed.notify_all();
    }

    fn wait(&self, limit: Duration) -> bool {
        let ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        let (ready, _) = self
            .changed
            .wait_timeout_while(ready, limit, |ready| !*ready)
            .unwrap_or_else(PoisonError::into_inner);
        *ready
    }
}

/// Marks the key side ready on the overlap module's event that says so.
struct Watch(Arc<KeySide>);

impl<S: tracing::Subscriber> Layer<S> for Watch {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if metadata.target() == "tollgate::engine::device::overlap"
            && metadata.fields().field("key_terms").is_some()
        {
            self.0.set(true);
        }
    }
}

/// What the gate does at a batch's sum job, and what it saw.
#[derive(Default)]
struct GateState {
    /// Doorbells since the test armed the gate; the gate acts at the second.
    doorbells: Option<u32>,
    /// The fault the sum job gets once the key side is ready.
    fault: Option<FaultSpec>,
    /// Sum jobs released because the key side was ready / because the gate gave up.
    released: u32,
    gave_up: u32,
}

/// The gate in front of the simulator's transport (see the module's comment).
struct Gate {
    state: Arc<Mutex<GateState>>,
    key_side: Arc<KeySide>,
    control: Arc<FaultControl>,
}

impl Gate {
    fn doorbell(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(rung) = state.doorbells.as_mut() else {
            return;
        };
        *rung += 1;
        if *rung < 2 {
            return;
        }
        state.doorbells = None;
        if self.key_side.wait(GATE_LIMIT) {
            state.released += 1;
        } else {
            state.gave_up += 1;
        }
        if let Some(fault) = state.fault.take() {
            self.control.set(fault);
        }
    }
}

impl Tap for Gate {
    fn write32(
        &mut self,
        inner: &mut dyn RegisterAccess,
        addr: u32,
        value: u32,
    ) -> Result<(), TransportError> {
        if addr == regs::SQ_TAIL {
            self.doorbell();
        }
        inner.write32(addr, value)
    }
}

/// A device engine on the gated simulator that sends every batch of 2 or more to the device
/// and never re-verifies a "valid" on the CPU (so each CPU batch check seen is a confirmation
/// or a fallback).
struct Rig {
    engine: DeviceEngine,
    registry: Registry,
    state: Arc<Mutex<GateState>>,
    key_side: Arc<KeySide>,
}

impl Rig {
    fn new() -> Rig {
        let control = FaultControl::new();
        let (state, key_side) = (Arc::default(), Arc::new(KeySide::default()));
        let faulty = FaultyTransport::new(SimTransport::open().unwrap(), control.clone());
        let gate = Gate {
            state: Arc::clone(&state),
            key_side: Arc::clone(&key_side),
            control,
        };
        let (engine, registry) = sim_engine(Box::new(Tapped::new(faulty, gate)));
        Rig {
            engine,
            registry,
            state,
            key_side,
        }
    }

    /// The engine's verdict on `items`, the sum job gated (and given `fault`).
    fn verify(&self, suite: Suite, items: &[SignedItem], fault: Option<&str>) -> bool {
        {
            let mut state = self.state.lock().unwrap();
            state.doorbells = Some(0);
            state.fault = fault.map(|f| f.parse().unwrap());
        }
        self.key_side.set(false);
        let refs: Vec<&SignedItem> = items.iter().collect();
        let subscriber = tracing_subscriber::registry().with(Watch(Arc::clone(&self.key_side)));
        tracing::subscriber::with_default(subscriber, || {
            self.engine.verify_batch(suite, &refs).unwrap().all_valid()
        })
    }

    /// Sum jobs released by a ready key side, and those the gate gave up on.
    fn gate(&self) -> (u32, u32) {
        let state = self.state.lock().unwrap();
        (state.released, state.gave_up)
    }

    /// A counter of the device metrics: `name` with the label value `label`.
    fn count(&self, name: &str, label: &str) -> f64 {
        count(&self.registry, name, Some(label))
    }
}

/// `n` items of `suite` over distinct messages; item `bad` (if any) carries another item's
/// signature.
fn items(suite: Suite, n: u64, bad: Option<usize>) -> Vec<SignedItem> {
    let mut items = signed_items(suite, 100, n, "overlap");
    if let Some(bad) = bad {
        items[bad].signature = items[(bad + 1) % items.len()].signature.clone();
    }
    items
}

const MIN_PK: Suite = Suite::new(Scheme::Pop, Variant::MinPk);
const MIN_SIG: Suite = Suite::new(Scheme::Pop, Variant::MinSig);
const FALLBACKS: &str = "tollgate_fallbacks_total";
const JOBS: &str = "tollgate_device_jobs_total";

#[test]
fn the_miller_loops_run_before_the_device_sums_and_bad_items_are_confirmed() {
    let _simulator = crate::sim_e2e::simulator();
    let rig = Rig::new();
    assert!(rig.verify(MIN_PK, &items(MIN_PK, 12, None), None));
    assert!(rig.verify(MIN_SIG, &items(MIN_SIG, 12, None), None));
    // The device's "invalid" is confirmed on the CPU, which agrees: no disagreement.
    assert!(!rig.verify(MIN_PK, &items(MIN_PK, 12, Some(4)), None));
    assert_eq!(
        rig.gate(),
        (3, 0),
        "sum jobs released by the key side / given up"
    );
    assert_eq!(rig.count(JOBS, "ok"), 6.0);
    for reason in ["timeout", "device_error", "bad_result", "disagreement"] {
        assert_eq!(rig.count(FALLBACKS, reason), 0.0, "{reason}");
    }
    assert!(rig.engine.device_up());
}

#[test]
fn a_sum_job_failing_after_the_keys_were_used_falls_back_to_the_right_verdict() {
    let _simulator = crate::sim_e2e::simulator();
    // The device reports errors on the sum job and its two resubmissions: the escalation runs
    // out and the CPU answers.
    let rig = Rig::new();
    assert!(!rig.verify(MIN_PK, &items(MIN_PK, 12, Some(7)), Some("error,jobs=3")));
    assert_eq!(rig.gate(), (1, 0));
    assert_eq!(rig.count(FALLBACKS, "device_error"), 1.0);
    assert!(!rig.engine.device_up());
    // A corrupted sum is not a point of the curve: the device is condemned, the CPU answers.
    let rig = Rig::new();
    assert!(rig.verify(MIN_SIG, &items(MIN_SIG, 12, None), Some("corrupt,jobs=1")));
    assert_eq!(rig.gate(), (1, 0));
    assert_eq!(rig.count(FALLBACKS, "bad_result"), 1.0);
    assert!(!rig.engine.device_up());
}

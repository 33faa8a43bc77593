//! The device engine: the accelerator computes what its design serves, the CPU (blst) finishes
//! the rest, and the CPU engine stands behind every answer the device cannot give or cannot be
//! trusted with. See `fallback` for the policy.
//!
//! Two paths for batch verification (min_pk; min_sig swaps the groups):
//! - whole (`whole`, min_pk on a design serving the verification opcodes, `tollgate_verify`):
//!   the device decodes the signatures (which the parser left undecoded:
//!   `Engine::decodes_signatures`), hashes to G2, blinds and runs every Miller loop; the CPU
//!   computes hash_to_field, the canary and one final exponentiation per batch;
//! - blinding (min_sig, or the standard design): for blinding scalars rᵢ the device returns
//!   rᵢ·pkᵢ for each item (ScalarMul) and S = Σ rᵢ·σᵢ (MultiScalar); the CPU checks
//!   Π e(rᵢ·pkᵢ, H(mᵢ)) = e(g₁, S), the same equation blst's batch check evaluates.
//!
//! Every device batch carries a secret canary item (`canary`) whose contribution the host
//! predicts, so that well-formed but wrong device answers are caught (on the whole path also
//! a negative canary in every decoding job, which the device must reject); every device "invalid"
//! is confirmed on the CPU, and a blinding-path batch the device fails has its device outputs
//! recomputed on the CPU (`audit`).
//!
//! Aggregate verification of at least `Policy::min_pairs` pairs is a whole-path pass with one
//! signature (`aggregate`); smaller ones, and fast aggregate verification, stay on the CPU.
//!
//! Modules: `engine` (the `Engine` implementation and the blinding path), `whole` (the whole
//! path), `aggregate` (aggregate verification on it), `hash_to_field` (the host's share of hashing on the whole path), `canary` (the
//! batch's canary item), `negative` (the decoding job's negative canary), `audit` (a failed batch's device outputs recomputed), `points` (the
//! glue between blst points and the device's words), `pairing` (the CPU's share of a
//! blinding-path batch check), `overlap` (that share run while the device computes), `health`
//! (the device's lock, job accounting, taking it out of service and the prober that brings it
//! back), `args` (the `tollgate serve` options and opening a transport).

mod aggregate;
mod args;
mod audit;
mod canary;
mod engine;
mod hash_to_field;
mod health;
mod negative;
mod overlap;
mod pairing;
mod points;
mod whole;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tollgate_abi::Opcode;
use tollgate_drivers::Device;
use tracing::warn;

pub use args::{DeviceArgs, DeviceOpenError, Transport};
pub use canary::{gt_pow, Canary, CanaryPoint, LaneCanary, LaneCanaryDraw};
pub use hash_to_field::hash_to_field;
pub use negative::NegativeCanary;
pub use overlap::{overlapped_check, KeysTo, Overlapped};
pub use pairing::{final_check, pairing_check, Blinded, HashedMessages};
pub use points::blinding_scalars;

use super::fallback::{DeviceMetrics, Policy};
use super::CpuEngine;
use crate::codec::PublicKey;

/// The driver the device engine runs on (for benches that drive a device directly).
pub use tollgate_drivers as drivers;

/// Aggregates made by the device whose inputs are kept, so that an "invalid" verdict reached
/// with one of them can be confirmed with the CPU's own sum.
const PROVENANCE_ENTRIES: usize = 32;

/// How long the prober sleeps between checks of its stop flag.
const PROBER_TICK: Duration = Duration::from_millis(20);

/// A device-made aggregate public key and the keys it sums.
type Provenance = VecDeque<(Vec<u8>, Arc<Vec<PublicKey>>)>;

struct Shared {
    device: Mutex<Device>,
    in_service: AtomicBool,
    policy: Policy,
    metrics: DeviceMetrics,
    provenance: Mutex<Provenance>,
    stop: AtomicBool,
}

/// Accelerator first, CPU behind it.
pub struct DeviceEngine {
    cpu: CpuEngine,
    /// The opcodes the device's design serves (its identity's capabilities).
    serves: Vec<Opcode>,
    shared: Arc<Shared>,
    prober: Option<JoinHandle<()>>,
}

impl DeviceEngine {
    /// Takes an opened (identity-checked) device into service and starts its prober.
    pub fn start(device: Device, policy: Policy, metrics: DeviceMetrics) -> DeviceEngine {
        metrics.up.set(1);
        let serves = Opcode::ALL
            .into_iter()
            .filter(|&op| device.identity().supports(op))
            .collect();
        let shared = Arc::new(Shared {
            device: Mutex::new(device),
            in_service: AtomicBool::new(true),
            policy,
            metrics,
            provenance: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
        });
        let prober_state = shared.clone();
        let prober = std::thread::Builder::new()
            .name("device-prober".into())
            .spawn(move || prober_state.probe_loop())
            .map_err(|error| warn!(%error, "no prober thread: a downed device stays down"))
            .ok();
        DeviceEngine {
            cpu: CpuEngine::new(),
            serves,
            shared,
            prober,
        }
    }

    /// Whether the device's design serves every one of `opcodes`.
    fn serves(&self, opcodes: &[Opcode]) -> bool {
        opcodes.iter().all(|op| self.serves.contains(op))
    }

    /// Whether the device is in service now.
    pub fn device_up(&self) -> bool {
        self.shared.in_service.load(Ordering::SeqCst)
    }
}

impl Drop for DeviceEngine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(prober) = self.prober.take() {
            let _ = prober.join();
        }
    }
}

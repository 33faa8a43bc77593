//! A device engine on the Verilated device for the device tests: batches of 2 or more go to
//! the device and no "valid" is re-verified on the CPU (so each CPU batch check is a
//! confirmation or a fallback), and its metrics.

use prometheus::Registry;
use tollgate::codec::{decode_public_key, decode_signature};
use tollgate::engine::device::drivers::abi;
use tollgate::engine::device::drivers::{Device, DeviceConfig, Manifest, RegisterAccess};
use tollgate::engine::device::DeviceEngine;
use tollgate::engine::fallback::{DeviceMetrics, Policy};
use tollgate::engine::SignedItem;
use tollgate::suite::Suite;

/// The engine over `transport` (the simulator's, possibly wrapped) and its metrics' registry.
pub fn sim_engine(transport: Box<dyn RegisterAccess>) -> (DeviceEngine, Registry) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::load(&Manifest::path_in(&root, abi::DESIGN)).unwrap();
    // The simulator pays for every register access: poll as `--backend sim` does.
    let config = DeviceConfig {
        poll_cycles: 256,
        ..DeviceConfig::default()
    };
    let device = Device::open(transport, manifest, config).unwrap();
    let registry = Registry::new();
    let policy = Policy {
        min_batch: 2,
        reverify_fraction: 0.0,
        ..Policy::default()
    };
    let engine = DeviceEngine::start(device, policy, DeviceMetrics::register(&registry).unwrap());
    (engine, registry)
}

/// The sum of the counter `name` in `registry`, over its labels or those with the value
/// `label`.
pub fn count(registry: &Registry, name: &str, label: Option<&str>) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .filter(|m| label.is_none_or(|label| m.label.iter().any(|l| l.value() == label)))
        .map(|m| m.counter.value())
        .sum()
}

/// `n` valid items of `suite` over distinct messages (`"{label} item {i}"`), signed by the
/// keys `first_key`, `first_key + 1`, ….
pub fn signed_items(suite: Suite, first_key: u64, n: u64, label: &str) -> Vec<SignedItem> {
    (0..n)
        .map(|i| {
            let sk = super::key(first_key + i);
            let message = format!("{label} item {i}").into_bytes();
            SignedItem {
                public_key: decode_public_key(suite.variant, &sk.public_key(suite.variant))
                    .unwrap(),
                signature: decode_signature(suite.variant, &sk.sign(suite, &message))
                    .unwrap()
                    .into(),
                message,
            }
        })
        .collect()
}

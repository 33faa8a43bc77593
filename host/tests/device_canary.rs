//! The batch canary on the Verilated device: a device that returns well-formed but wrong
//! values (every scalar read as 1, an item's input replaced by another's, a result bit
//! flipped: the simulator's memory-model faults) never turns the attacker's cancelling pair
//! σ₁ + δ, σ₂ − δ into "valid", every item gets its right verdict, and the fault is caught
//! (by the canary, as a bad point, or by the audit of a failed batch): the device is
//! condemned and the catch counted.

use crate::common;

use blst::{
    blst_p1, blst_p1_add_or_double, blst_p1_affine, blst_p1_cneg, blst_p1_from_affine,
    blst_p1_to_affine, blst_p2, blst_p2_add_or_double, blst_p2_affine, blst_p2_cneg,
    blst_p2_from_affine, blst_p2_to_affine, min_pk, min_sig,
};
use common::key;
use common::sim_engine::{count, signed_items, sim_engine};
use prometheus::Registry;
use tollgate::codec::{decode_signature, Signature};
use tollgate::engine::device::drivers::backends::sim::SimTransport;
use tollgate::engine::device::drivers::{FaultControl, FaultyTransport};
use tollgate::engine::device::DeviceEngine;
use tollgate::engine::{verify_each, SignedItem};
use tollgate::suite::{Scheme, Suite, Variant};

const MIN_PK: Suite = Suite::new(Scheme::Pop, Variant::MinPk);
const MIN_SIG: Suite = Suite::new(Scheme::Pop, Variant::MinSig);
/// The cancelling pair's items.
const PAIR: [usize; 2] = [2, 5];

/// A device engine on the simulator with `fault` armed for every job; batches of 2 or more go
/// to the device and no "valid" is re-verified on the CPU (so only the canary and the CPU's
/// confirmation of an "invalid" stand between a wrong device and a verdict).
struct Rig {
    engine: DeviceEngine,
    registry: Registry,
}

impl Rig {
    fn new(fault: Option<&str>) -> Rig {
        let control = FaultControl::new();
        if let Some(fault) = fault {
            control.set(fault.parse().unwrap());
        }
        let transport = FaultyTransport::new(SimTransport::open().unwrap(), control);
        let (engine, registry) = sim_engine(Box::new(transport));
        Rig { engine, registry }
    }

    /// The sum of the device metric `name` (over its labels, or the one with `label`).
    fn count(&self, name: &str, label: Option<&str>) -> f64 {
        count(&self.registry, name, label)
    }
}

/// `p ± q` in G1 or G2, with blst.
fn shifted(signature: &Signature, delta: &Signature, subtract: bool) -> Signature {
    match (signature, delta) {
        (Signature::G2(sig), Signature::G2(delta)) => {
            let (mut a, mut b, mut sum) =
                (blst_p2::default(), blst_p2::default(), blst_p2::default());
            let mut out = blst_p2_affine::default();
            unsafe {
                blst_p2_from_affine(&mut a, &blst_p2_affine::from(*sig));
                blst_p2_from_affine(&mut b, &blst_p2_affine::from(*delta));
                blst_p2_cneg(&mut b, subtract);
                blst_p2_add_or_double(&mut sum, &a, &b);
                blst_p2_to_affine(&mut out, &sum);
            }
            Signature::G2(min_pk::Signature::from(out))
        }
        (Signature::G1(sig), Signature::G1(delta)) => {
            let (mut a, mut b, mut sum) =
                (blst_p1::default(), blst_p1::default(), blst_p1::default());
            let mut out = blst_p1_affine::default();
            unsafe {
                blst_p1_from_affine(&mut a, &blst_p1_affine::from(*sig));
                blst_p1_from_affine(&mut b, &blst_p1_affine::from(*delta));
                blst_p1_cneg(&mut b, subtract);
                blst_p1_add_or_double(&mut sum, &a, &b);
                blst_p1_to_affine(&mut out, &sum);
            }
            Signature::G1(min_sig::Signature::from(out))
        }
        _ => unreachable!("one variant"),
    }
}

/// 12 items over distinct messages; with `cancelling`, the items of [`PAIR`] carry σ + δ and
/// σ − δ (δ a point of the signature group): both invalid, their sum valid.
fn items(suite: Suite, cancelling: bool) -> Vec<SignedItem> {
    let mut items = signed_items(suite, 300, 12, "canary");
    if cancelling {
        let delta = decode_signature(suite.variant, &key(999).sign(suite, b"delta")).unwrap();
        for (at, subtract) in [(PAIR[0], false), (PAIR[1], true)] {
            let signature = items[at].signature.decoded().unwrap();
            items[at].signature = shifted(&signature, &delta, subtract).into();
        }
    }
    items
}

/// Every verdict right under `fault`, for a valid batch and the cancelling pair; returns the
/// rig for the detection checks.
fn verdicts_under(suite: Suite, fault: &str, cancelling: bool) -> Rig {
    let rig = Rig::new(Some(fault));
    let items = items(suite, cancelling);
    let refs: Vec<&SignedItem> = items.iter().collect();
    let (verdicts, _) = verify_each(&rig.engine, suite, &refs).unwrap();
    let verdicts: Vec<bool> = verdicts.iter().map(Result::is_ok).collect();
    let expected: Vec<bool> = (0..items.len())
        .map(|i| !(cancelling && PAIR.contains(&i)))
        .collect();
    assert_eq!(verdicts, expected, "{fault}, cancelling {cancelling}");
    rig
}

#[test]
fn an_honest_device_carries_the_canary_unnoticed() {
    let _simulator = crate::sim_e2e::simulator();
    for suite in [MIN_PK, MIN_SIG] {
        let rig = Rig::new(None);
        for cancelling in [false, true] {
            let items = items(suite, cancelling);
            let refs: Vec<&SignedItem> = items.iter().collect();
            let (verdicts, _) = verify_each(&rig.engine, suite, &refs).unwrap();
            let verdicts: Vec<bool> = verdicts.iter().map(Result::is_ok).collect();
            let expected: Vec<bool> = (0..12)
                .map(|i| !(cancelling && PAIR.contains(&i)))
                .collect();
            assert_eq!(verdicts, expected);
        }
        assert!(rig.engine.device_up());
        assert_eq!(
            rig.count("tollgate_device_canary_failures_total", None),
            0.0
        );
        assert_eq!(rig.count("tollgate_fallbacks_total", None), 0.0);
    }
}

#[test]
fn ignored_scalars_are_caught_by_the_canary() {
    let _simulator = crate::sim_e2e::simulator();
    for suite in [MIN_PK, MIN_SIG] {
        for cancelling in [false, true] {
            let rig = verdicts_under(suite, "scalars-one", cancelling);
            assert_eq!(
                rig.count("tollgate_device_canary_failures_total", None),
                1.0
            );
            assert_eq!(
                rig.count("tollgate_fallbacks_total", Some("bad_result")),
                1.0
            );
            assert!(!rig.engine.device_up());
        }
    }
}

#[test]
fn a_dropped_item_or_a_flipped_bit_is_caught() {
    let _simulator = crate::sim_e2e::simulator();
    for fault in ["drop-item", "corrupt"] {
        for cancelling in [false, true] {
            let rig = verdicts_under(MIN_PK, fault, cancelling);
            // Caught once: by the canary (when the fault struck it: counted as a bad result
            // too), as a result that is no point, or, the device's check having failed, by the
            // audit of its outputs or the CPU's confirmation (a disagreement).
            let bad_result = rig.count("tollgate_fallbacks_total", Some("bad_result"));
            let disagreement = rig.count("tollgate_fallbacks_total", Some("disagreement"));
            let canary = rig.count("tollgate_device_canary_failures_total", None);
            let context = format!("{fault}, cancelling {cancelling}");
            assert_eq!(bad_result + disagreement, 1.0, "{context}");
            assert!(canary <= bad_result, "{context}");
            assert!(!rig.engine.device_up(), "{fault}, cancelling {cancelling}");
        }
    }
}

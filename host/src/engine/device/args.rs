//! `tollgate serve`'s device options, and opening the device they name.

use std::path::PathBuf;
use std::time::Duration;

use tracing::warn;

use super::super::fallback::{DeviceMetrics, Policy};
use super::DeviceEngine;
use tollgate_drivers::{Device, DeviceError};

/// Where the accelerator is and how to treat it (`tollgate serve` options).
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct DeviceArgs {
    /// The accelerator design: tollgate_verify (whole batch verification on the device) or
    /// tollgate (blinding only). Names the simulated model and the default manifest.
    /// [default: tollgate_verify]
    #[arg(long, env = "TOLLGATE_DEVICE_DESIGN")]
    pub device_design: Option<String>,
    /// Manifest the device's identity must match. [default: bitstreams/<design>/manifest.json
    /// of the source tree this binary was built from]
    #[arg(long, env = "TOLLGATE_DEVICE_MANIFEST")]
    pub device_manifest: Option<PathBuf>,
    /// PCIe board: an address (0000:65:00.0) or vendor:device id. [default: 10ee:7011]
    #[arg(long, env = "TOLLGATE_PCIE_DEVICE")]
    pub pcie_device: Option<String>,
    /// Inject a fault at the device transport: hang, corrupt, error or slow, or (sim) the DMA
    /// faults dma-read, lost, twice or outside, the wrong-answer faults scalars-one,
    /// drop-item, decode-accepts or hash-wrong, with optional ",jobs=N" (only the next N
    /// jobs) and ",delay_us=N" (slow). For testing the fallback.
    #[arg(long, env = "TOLLGATE_INJECT_FAULT")]
    pub inject_fault: Option<tollgate_drivers::FaultSpec>,
    /// Batches smaller than this stay on the CPU. [default: the default max_batch_size, 254,
    /// so that full batches reach the device]
    #[arg(long, env = "TOLLGATE_DEVICE_MIN_BATCH")]
    pub device_min_batch: Option<usize>,
    /// Aggregations of this many points or more go to the device. [default: none — the default
    /// design does not aggregate; on the standard design the device path is level with the CPU
    /// at 1,000 keys and 1.55× faster at 10,000]
    #[arg(long, env = "TOLLGATE_DEVICE_MIN_POINTS")]
    pub device_min_points: Option<usize>,
    /// Aggregate verifications of this many (key, message) pairs or more go to a device of
    /// the whole-verification design. [default: 16, from where the device path costs the
    /// host under a fourth of the CPU engine's time]
    #[arg(long, env = "TOLLGATE_DEVICE_MIN_PAIRS")]
    pub device_min_pairs: Option<usize>,
    /// Fraction of device-backed results recomputed on the CPU. [default: 0.05]
    #[arg(long, env = "TOLLGATE_DEVICE_REVERIFY_FRACTION")]
    pub device_reverify_fraction: Option<f64>,
    /// Milliseconds between probes of a device out of service. [default: 5000]
    #[arg(long, env = "TOLLGATE_DEVICE_PROBE_INTERVAL_MS")]
    pub device_probe_interval_ms: Option<u64>,
    /// Scales every device deadline (a slow simulator host may need more). [default: 1]
    #[arg(long, env = "TOLLGATE_DEVICE_TIMEOUT_SCALE")]
    pub device_timeout_scale: Option<u64>,
}

/// Which transport carries the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The generated RTL under Verilator.
    Sim,
    /// A board through VFIO.
    Pcie,
}

/// Why the device engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeviceOpenError {
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] tollgate_drivers::device::ManifestError),
    /// The simulated device could not be built.
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] tollgate_drivers::backends::sim::SimError),
    /// This binary was built without the Verilator model.
    #[cfg(not(feature = "sim"))]
    #[error(
        "this tollgate was built without the simulated device; build it with the `sim` feature \
         (needs verilator, make and g++): cargo run --release -p tollgate --features sim -- \
         serve --backend sim"
    )]
    SimNotBuilt,
    /// No board, or VFIO refused.
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    Pcie(#[from] tollgate_drivers::backends::pcie::PcieError),
    /// VFIO exists only on Linux.
    #[cfg(not(target_os = "linux"))]
    #[error("the PCIe backend needs Linux's VFIO; this host is not Linux")]
    PcieUnsupported,
    /// The device refused (identity mismatch) or failed its first contact.
    #[error("{0}")]
    Device(#[from] DeviceError),
    /// The metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A device setting is out of range.
    #[error("{0}")]
    Setting(String),
}

impl DeviceArgs {
    /// The design to open: the whole-verification design unless told otherwise.
    fn design(&self) -> &str {
        self.device_design
            .as_deref()
            .unwrap_or(tollgate_abi::VERIFY_DESIGN)
    }

    fn manifest_path(&self) -> PathBuf {
        self.device_manifest.clone().unwrap_or_else(|| {
            tollgate_drivers::Manifest::path_in(
                &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
                self.design(),
            )
        })
    }

    fn policy(&self) -> Result<Policy, DeviceOpenError> {
        let defaults = Policy::default();
        let fraction = self
            .device_reverify_fraction
            .unwrap_or(defaults.reverify_fraction);
        if !(0.0..=1.0).contains(&fraction) {
            return Err(DeviceOpenError::Setting(format!(
                "device_reverify_fraction {fraction} is not within 0..=1"
            )));
        }
        let min_batch = self.device_min_batch.unwrap_or(defaults.min_batch).max(1);
        Ok(Policy {
            min_batch,
            min_points: self.device_min_points.unwrap_or(defaults.min_points).max(1),
            min_pairs: self.device_min_pairs.unwrap_or(defaults.min_pairs).max(1),
            reverify_fraction: fraction,
            probe_interval: self
                .device_probe_interval_ms
                .map_or(defaults.probe_interval, Duration::from_millis),
        })
    }

    fn config(&self, transport: Transport) -> tollgate_drivers::DeviceConfig {
        let base = tollgate_drivers::DeviceConfig::default();
        let scale = self.device_timeout_scale.unwrap_or(1);
        let config = match transport {
            // The simulator pays for every register access: poll less often.
            Transport::Sim => tollgate_drivers::DeviceConfig {
                poll_cycles: 256,
                ..base
            },
            // A board's MMIO: ~1 µs (250 cycles at 250 MHz) per access, and the host's
            // scheduler adds wall-time jitter that a 20k-cycle (80 µs) base would not absorb.
            Transport::Pcie => tollgate_drivers::DeviceConfig {
                base_cycles: 2_500_000,
                ..base
            },
        };
        config.scaled(scale)
    }

    /// Opens the device on `transport`, checks its identity and starts the engine.
    pub fn open(
        &self,
        transport: Transport,
        registry: &prometheus::Registry,
    ) -> Result<DeviceEngine, DeviceOpenError> {
        let manifest = tollgate_drivers::Manifest::load(&self.manifest_path())?;
        let policy = self.policy()?;
        let raw = match transport {
            Transport::Sim => open_sim(self.design())?,
            Transport::Pcie => self.open_pcie()?,
        };
        let transport_box: Box<dyn tollgate_drivers::RegisterAccess> = match self.inject_fault {
            Some(spec) => {
                let control = tollgate_drivers::FaultControl::new();
                control.set(spec);
                warn!(fault = %spec, "fault injection armed at the device transport");
                Box::new(tollgate_drivers::FaultyTransport::new(raw, control))
            }
            None => raw,
        };
        let device = Device::open(transport_box, manifest, self.config(transport))?;
        let metrics = DeviceMetrics::register(registry)?;
        Ok(DeviceEngine::start(device, policy, metrics))
    }

    #[cfg(target_os = "linux")]
    fn open_pcie(&self) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
        use tollgate_drivers::backends::pcie::{Locator, PcieTransport};
        let locator = match &self.pcie_device {
            Some(text) => text.parse()?,
            None => Locator::default(),
        };
        Ok(Box::new(PcieTransport::open(&locator)?))
    }

    #[cfg(not(target_os = "linux"))]
    fn open_pcie(&self) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
        Err(DeviceOpenError::PcieUnsupported)
    }
}

#[cfg(feature = "sim")]
fn open_sim(design: &str) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
    use tollgate_drivers::backends::sim::{memory::LinkModel, SimTransport};
    Ok(Box::new(SimTransport::open_design(
        design,
        LinkModel::default(),
    )?))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_design: &str) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
    Err(DeviceOpenError::SimNotBuilt)
}

#[cfg(test)]
mod tests {
    //! The defaults route a full default batch to the device, whole (issue #9: with default
    //! settings the device never saw a batch when the batch size and the device minimum
    //! disagreed).

    use tollgate_abi::Opcode;

    use super::super::whole::whole_path;
    use super::*;
    use crate::service::ServiceConfig;
    use crate::suite::{Scheme, Suite, Variant};

    #[test]
    fn a_full_default_batch_goes_to_the_device_whole() {
        let args = DeviceArgs::default();
        let policy = args.policy().unwrap();
        let full = ServiceConfig::default().max_batch_size;
        assert_eq!(policy.min_batch, full);
        // The default design is the verification design, which serves the min_pk stages
        // (tollgate_abi: VERIFY_DESIGN serves Opcode::MIN_PK_BATCH).
        assert_eq!(args.design(), tollgate_abi::VERIFY_DESIGN);
        let pop = Suite::new(Scheme::Pop, Variant::MinPk);
        assert!(whole_path(&Opcode::MIN_PK_BATCH, pop));
        // And not for min_sig, nor on a design missing a stage.
        assert!(!whole_path(
            &Opcode::MIN_PK_BATCH,
            Suite::new(Scheme::Pop, Variant::MinSig)
        ));
        assert!(!whole_path(&Opcode::MIN_PK_BATCH[1..], pop));
        // The engine's rule (engine.rs verify_batch): a batch goes whole from min_batch up.
        assert!(full >= policy.min_batch && full - 1 < policy.min_batch);
    }

    #[test]
    fn aggregates_reach_the_device_from_the_measured_threshold_and_fast_ones_do_not() {
        // The default is the measured crossover (fallback.rs, bench/RESULTS.md "Aggregate
        // verification on the device"); a fast aggregate verification is one pair.
        let policy = DeviceArgs::default().policy().unwrap();
        assert_eq!(policy.min_pairs, Policy::default().min_pairs);
        assert!(
            policy.min_pairs > 1,
            "fast aggregate verification would go to the device"
        );
        let set = DeviceArgs {
            device_min_pairs: Some(0),
            ..DeviceArgs::default()
        };
        // 0 would send empty work: every aggregate has a pair.
        assert_eq!(set.policy().unwrap().min_pairs, 1);
    }
}

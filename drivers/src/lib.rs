//! The one interface to a Tollgate accelerator.
//!
//! [`Device`] speaks the job protocol of [`tollgate_abi`] over a [`RegisterAccess`] transport:
//! the Verilator-simulated RTL ([`backends::sim`]) or a board through VFIO ([`backends::pcie`]).
//! Faults are injected at the transport ([`transport::fault`]) so the real driver sees them.

pub mod backends;
pub mod batch;
pub mod codec;
pub mod device;
pub mod transport;

pub use device::{Counters, Device, DeviceConfig, DeviceError, Identity, JobOutput, Manifest};
/// The register map and job formats this driver speaks.
pub use tollgate_abi as abi;
pub use transport::fault::{Fault, FaultControl, FaultSpec, FaultyTransport};
pub use transport::tap::{Tap, Tapped};
pub use transport::{RegisterAccess, TransportError};

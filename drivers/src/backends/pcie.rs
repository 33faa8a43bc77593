//! A board through Linux VFIO: find the function, map BAR0, and do 32-bit MMIO. The protocol
//! above is the one the simulator runs; this file is only the transport.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pci_driver::backends::vfio::VfioPciDevice;
use pci_driver::device::PciDevice;
use pci_driver::regions::{MappedOwningPciRegion, PciRegion, Permissions};
use tollgate_abi::regs;

use crate::transport::{RegisterAccess, TransportError};

const SYSFS_DEVICES: &str = "/sys/bus/pci/devices";

/// Which board to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A PCI address, `domain:bus:device.function` (e.g. `0000:65:00.0`).
    Address(String),
    /// The first function bound to vfio-pci with this vendor:device id.
    Id {
        /// Vendor id.
        vendor: u16,
        /// Device id.
        device: u16,
    },
}

impl Default for Locator {
    fn default() -> Self {
        Locator::Id {
            vendor: tollgate_abi::pci::VENDOR_ID,
            device: tollgate_abi::pci::DEVICE_ID,
        }
    }
}

/// Why a board could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PcieError {
    /// The locator is neither an address nor `vvvv:dddd`.
    #[error("bad PCI locator {0:?}: expected 0000:65:00.0 or 10ee:7011")]
    BadLocator(String),
    /// Nothing matched.
    #[error("no PCI function {0} bound to vfio-pci (see drivers/README.md to bind one)")]
    NotFound(String),
    /// The function exists but is not bound to vfio-pci.
    #[error("{address} is bound to {driver:?}, not vfio-pci (see drivers/README.md)")]
    NotVfio {
        /// The function's address.
        address: String,
        /// Its current driver, if any.
        driver: Option<String>,
    },
    /// BAR0 is missing, too small or not mappable.
    #[error("{address}: BAR0 unusable: {reason}")]
    Bar {
        /// The function's address.
        address: String,
        /// What is wrong.
        reason: String,
    },
    /// VFIO refused.
    #[error("{address}: VFIO: {source}")]
    Vfio {
        /// The function's address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl FromStr for Locator {
    type Err = PcieError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || PcieError::BadLocator(text.to_string());
        if text.contains('.') {
            return Ok(Locator::Address(text.to_string()));
        }
        let (vendor, device) = text.split_once(':').ok_or_else(bad)?;
        Ok(Locator::Id {
            vendor: u16::from_str_radix(vendor, 16).map_err(|_| bad())?,
            device: u16::from_str_radix(device, 16).map_err(|_| bad())?,
        })
    }
}

fn read_hex_id(path: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(path).ok()?;
    u16::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

fn driver_of(function: &Path) -> Option<String> {
    let link = std::fs::read_link(function.join("driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The sysfs directory of the function `locator` names, checked to be bound to vfio-pci.
pub fn find(locator: &Locator) -> Result<PathBuf, PcieError> {
    let path = match locator {
        Locator::Address(address) => {
            let path = Path::new(SYSFS_DEVICES).join(address);
            if !path.exists() {
                return Err(PcieError::NotFound(address.clone()));
            }
            path
        }
        Locator::Id { vendor, device } => {
            let wanted = format!("{vendor:04x}:{device:04x}");
            let entries = std::fs::read_dir(SYSFS_DEVICES)
                .map_err(|_| PcieError::NotFound(wanted.clone()))?;
            let mut matching: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    read_hex_id(&path.join("vendor")) == Some(*vendor)
                        && read_hex_id(&path.join("device")) == Some(*device)
                })
                .collect();
            matching.sort();
            // Prefer a function already given to vfio-pci.
            let bound = matching
                .iter()
                .find(|p| driver_of(p).as_deref() == Some("vfio-pci"));
            match (bound, matching.first()) {
                (Some(path), _) | (None, Some(path)) => path.clone(),
                (None, None) => return Err(PcieError::NotFound(wanted)),
            }
        }
    };
    match driver_of(&path) {
        Some(driver) if driver == "vfio-pci" => Ok(path),
        driver => Err(PcieError::NotVfio {
            address: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            driver,
        }),
    }
}

/// BAR0 of a board, mapped into this process.
pub struct PcieTransport {
    address: String,
    device: VfioPciDevice,
    bar0: MappedOwningPciRegion,
}

impl PcieTransport {
    /// Finds, opens and maps the board.
    pub fn open(locator: &Locator) -> Result<PcieTransport, PcieError> {
        let path = find(locator)?;
        let address = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let vfio = |source| PcieError::Vfio {
            address: address.clone(),
            source,
        };
        let device = VfioPciDevice::open(&path).map_err(vfio)?;
        let bar = |reason: &str| PcieError::Bar {
            address: address.clone(),
            reason: reason.into(),
        };
        let region = device.bar(0).ok_or_else(|| bar("absent"))?;
        if region.len() < regs::SPAN as u64 {
            return Err(bar("smaller than the register map"));
        }
        if !region.is_mappable() {
            return Err(bar("not mappable"));
        }
        let permissions = Permissions::new(true, true).ok_or_else(|| bar("permissions"))?;
        let bar0 = region.map(..regs::SPAN as u64, permissions).map_err(vfio)?;
        device
            .config()
            .command()
            .memory_space_enable()
            .write(true)
            .map_err(vfio)?;
        Ok(PcieTransport {
            address,
            device,
            bar0,
        })
    }

    /// The function's PCI address.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl RegisterAccess for PcieTransport {
    fn read32(&mut self, addr: u32) -> Result<u32, TransportError> {
        Ok(self.bar0.read_le_u32(addr as u64)?)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), TransportError> {
        Ok(self.bar0.write_le_u32(addr as u64, value)?)
    }

    fn idle(&mut self, _cycles: u32, pause: Duration) -> Result<(), TransportError> {
        std::thread::sleep(pause);
        Ok(())
    }

    fn full_reset(&mut self) -> Result<(), TransportError> {
        // Function-level reset clears the command register: turn MMIO decoding back on.
        self.device.reset()?;
        self.device
            .config()
            .command()
            .memory_space_enable()
            .write(true)?;
        Ok(())
    }

    fn cycles(&self) -> Option<u64> {
        None
    }

    fn backend(&self) -> &'static str {
        "pcie"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_parse_addresses_and_ids() {
        assert_eq!(
            "0000:65:00.0".parse::<Locator>().unwrap(),
            Locator::Address("0000:65:00.0".into())
        );
        assert_eq!(
            "10ee:7011".parse::<Locator>().unwrap(),
            Locator::Id {
                vendor: 0x10ee,
                device: 0x7011
            }
        );
        assert!(matches!(
            "xyz".parse::<Locator>(),
            Err(PcieError::BadLocator(_))
        ));
    }

    #[test]
    fn a_missing_board_is_reported_not_opened() {
        let missing = Locator::Address("ffff:ff:1f.7".into());
        assert!(matches!(
            PcieTransport::open(&missing),
            Err(PcieError::NotFound(_))
        ));
    }
}

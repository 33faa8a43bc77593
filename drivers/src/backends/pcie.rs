//! A board through Linux VFIO: find the function, map BAR0 and do 32-bit MMIO, and give the
//! device its DMA region: page-aligned host memory mapped into the function's IOMMU domain
//! (VFIO_IOMMU_MAP_DMA pins the pages). The device reaches that region and nothing else. The
//! rings and the job protocol above are the ones the simulator runs; this file is only the
//! transport.

use std::alloc::Layout;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pci_driver::backends::vfio::VfioPciDevice;
use pci_driver::device::PciDevice;
use pci_driver::regions::{MappedOwningPciRegion, PciRegion, Permissions};
use tollgate_abi::regs;

use crate::transport::{check_dma_range, RegisterAccess, TransportError};

/// Bus address the DMA region is mapped at (inside every IOMMU's usual valid ranges; the
/// device only ever sees this address, never a physical one).
const IOVA_BASE: u64 = 0x1_0000_0000;
/// Alignment of the region: a 2 MiB page, so the IOMMU can use large mappings.
const DMA_ALIGN: usize = 2 << 20;

/// Page-aligned, zeroed host memory, mapped for the device while it lives.
struct DmaRegion {
    ptr: *mut u8,
    layout: Layout,
}

impl DmaRegion {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live allocation of `layout.size()` bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the access exclusive on the host side.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in `PcieTransport::dma_map` with this layout; the IOMMU mapping was
        // removed before (see `PcieTransport::unmap_dma`).
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

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
    dma: Option<DmaRegion>,
}

// SAFETY: the DMA region is plain memory owned by the transport; `&mut self` on every access
// keeps the host side single-threaded.
unsafe impl Send for DmaRegion {}

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
            dma: None,
        })
    }

    /// The function's PCI address.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn unmap_dma(&mut self) -> Result<(), TransportError> {
        if let Some(region) = self.dma.take() {
            self.device.iommu().unmap(IOVA_BASE, region.layout.size())?;
        }
        Ok(())
    }

    fn region(&mut self) -> Result<&mut DmaRegion, TransportError> {
        self.dma
            .as_mut()
            .ok_or_else(|| TransportError::Io(std::io::Error::other("no DMA region is mapped")))
    }
}

impl Drop for PcieTransport {
    fn drop(&mut self) {
        // The device must lose its window before the memory goes back to the allocator.
        if let Err(error) = self.unmap_dma() {
            tracing::error!(%error, "unmapping the DMA region failed; leaking it");
            std::mem::forget(self.dma.take());
        }
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

    fn dma_map(&mut self, bytes: usize) -> Result<u64, TransportError> {
        self.unmap_dma()?;
        let size = bytes.max(1).next_multiple_of(DMA_ALIGN);
        let layout = Layout::from_size_align(size, DMA_ALIGN)
            .map_err(|e| TransportError::Io(std::io::Error::other(e.to_string())))?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(TransportError::Io(std::io::Error::other(
                "allocating the DMA region failed",
            )));
        }
        let region = DmaRegion { ptr, layout };
        // SAFETY: the region stays allocated until it is unmapped (`unmap_dma`, Drop); the
        // kernel pins its pages for the mapping's lifetime.
        unsafe {
            self.device
                .iommu()
                .map(IOVA_BASE, size, ptr, Permissions::ReadWrite)?;
        }
        self.device
            .config()
            .command()
            .bus_master_enable()
            .write(true)?;
        self.dma = Some(region);
        Ok(IOVA_BASE)
    }

    fn dma_fill(
        &mut self,
        offset: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TransportError> {
        let region = self.region()?.bytes_mut();
        check_dma_range(offset, len, region.len())?;
        fill(&mut region[offset..offset + len]);
        // The device must see the data before the doorbell (an MMIO write) that follows.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        Ok(())
    }

    fn dma_read(&mut self, offset: usize, out: &mut [u8]) -> Result<(), TransportError> {
        // Completions are written by the device behind the compiler's back: read volatile.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        let region = self.region()?.bytes();
        check_dma_range(offset, out.len(), region.len())?;
        for (o, byte) in out.iter_mut().zip(&region[offset..]) {
            // SAFETY: `byte` is a valid reference into the live region.
            *o = unsafe { std::ptr::read_volatile(byte) };
        }
        Ok(())
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

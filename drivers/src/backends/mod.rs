//! Transports: how one 32-bit register access reaches a device.

#[cfg(target_os = "linux")]
pub mod pcie;
#[cfg(feature = "sim")]
pub mod sim;

//! Transports: how one 32-bit register access reaches a device.

#[cfg(target_os = "linux")]
pub mod pcie;
pub mod sim;

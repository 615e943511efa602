//! The `board` backend: the accelerator on a Zynq UltraScale+ board under Linux, through UIO
//! (registers, interrupt) and u-dma-buf (DRAM). [`layout`] names the devices below a
//! configurable root, so tests and the board emulator run the same code on plain files;
//! [`relocate`] moves programs to the buffer's physical address and bounds every access;
//! [`load`] programs the PL; [`emulator`] (with the `verilator` feature) serves the RTL behind
//! such files. The device itself is Linux only.

#[cfg(target_os = "linux")]
mod device;
#[cfg(all(target_os = "linux", feature = "verilator"))]
pub mod emulator;
pub mod layout;
pub mod load;
#[cfg(target_os = "linux")]
pub mod mapping;
pub mod relocate;
#[cfg(target_os = "linux")]
pub mod udmabuf;
#[cfg(target_os = "linux")]
pub mod uio;

#[cfg(target_os = "linux")]
pub use device::{check_programmed, dump_registers, BoardDevice, BoardOptions, WaitMode};
#[cfg(target_os = "linux")]
pub use udmabuf::CacheMode;

#[cfg(all(test, target_os = "linux"))]
mod tests;

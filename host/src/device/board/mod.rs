//! The `board` backend: the accelerator on a Zynq UltraScale+ board under Linux, through UIO
//! (registers, interrupt) and u-dma-buf (DRAM). [`layout`] names the devices below a
//! configurable root, so tests and the board emulator run the same code on plain files.

pub mod layout;

//! The C ABI of the harness (`csrc/vsim_abi.h`, mirrored field by field) and the table of the
//! models `build.rs` linked in.

use std::os::raw::{c_char, c_void};

/// `VSIM_ABI_VERSION` of `csrc/vsim_abi.h`.
pub(crate) const ABI_VERSION: u32 = 1;

/// `VsimStats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stats {
    pub read_bursts: u64,
    pub read_beats: u64,
    pub write_bursts: u64,
    pub write_beats: u64,
    pub read_errors: u64,
    pub write_errors: u64,
}

/// `VsimVtable`: the entry points of one configuration's harness.
#[repr(C)]
pub(crate) struct Vtable {
    pub abi_version: u32,
    pub vtable_bytes: u32,
    pub data_bits: u32,
    pub reserved: u32,
    pub create: unsafe extern "C" fn(*mut u8, usize) -> *mut c_void,
    pub destroy: unsafe extern "C" fn(*mut c_void),
    pub reset: unsafe extern "C" fn(*mut c_void, u32),
    pub step: unsafe extern "C" fn(*mut c_void, u64),
    pub cycle: unsafe extern "C" fn(*mut c_void) -> u64,
    pub axil_write: unsafe extern "C" fn(*mut c_void, u32, u32, u64) -> i32,
    pub axil_read: unsafe extern "C" fn(*mut c_void, u32, *mut u32, u64) -> i32,
    pub set_read_latency: unsafe extern "C" fn(*mut c_void, u32),
    pub set_write_latency: unsafe extern "C" fn(*mut c_void, u32),
    pub set_backpressure: unsafe extern "C" fn(*mut c_void, u64, u32),
    pub trace_open: unsafe extern "C" fn(*mut c_void, *const c_char) -> i32,
    pub trace_close: unsafe extern "C" fn(*mut c_void),
    pub stats: unsafe extern "C" fn(*mut c_void, *mut Stats),
    pub violations: unsafe extern "C" fn(*mut c_void, *mut c_char, usize) -> u64,
}

/// One linked model.
pub(crate) struct Model {
    /// Name from `VITACCEL_SIM_CONFIGS`.
    pub name: &'static str,
    /// CONFIG_HASH of its configuration.
    pub hash: u32,
    /// AXI4 master data width.
    pub data_bits: usize,
    /// Its configuration as JSON.
    pub config_json: &'static str,
    /// Seconds of the build that produced it: Verilog generation, Verilator, C++.
    pub build_seconds: [f64; 3],
    /// The harness's entry point.
    pub vtable: unsafe extern "C" fn() -> *const Vtable,
}

include!(concat!(env!("OUT_DIR"), "/models.rs"));

//! The one interface to every accelerator backend: the golden instruction-set simulator, the
//! Verilator model of the RTL, the same RTL in Icarus Verilog ([`icarus`], a cross-check of the
//! simulator) and a board ([`board`]: Linux UIO + u-dma-buf). The same [`Program`] runs on all
//! of them.

pub mod board;
pub mod golden;
pub mod icarus;
#[cfg(feature = "verilator")]
pub mod verilator;

/// The backends built into this crate: `golden` always, `verilator` with the cargo feature of
/// that name (default on; without it nothing here needs Verilator).
pub const BACKENDS: &[&str] = if cfg!(feature = "verilator") { &["golden", "verilator"] } else { &["golden"] };

use crate::program::Program;
use serde::Serialize;
use spec::regmap::{self, error_code, status};
use spec::AccelConfig;
use std::time::Duration;

/// Device failures.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The hardware was built from a different configuration than the host expects.
    #[error("CONFIG_HASH mismatch: device reports {device:#010x}, host config has {host:#010x}")]
    ConfigMismatch {
        /// Device value.
        device: u32,
        /// Expected value.
        host: u32,
    },
    /// The device did not finish in time.
    #[error("device timeout after {0:?} (still busy)")]
    Timeout(Duration),
    /// The device stopped with STATUS.ERROR.
    #[error("device error {code} ({name}) at instruction {insn}")]
    Execution {
        /// ERROR_CODE.
        code: u32,
        /// Its meaning.
        name: &'static str,
        /// ERROR_INSN.
        insn: u32,
    },
    /// An access outside the device memory.
    #[error("memory access {addr:#x}+{len} outside the device memory of {size} bytes")]
    OutOfMemory {
        /// Address.
        addr: u64,
        /// Length.
        len: usize,
        /// Memory size.
        size: usize,
    },
    /// A backend-specific failure (simulator build missing, OS error, ...).
    #[error("{0}")]
    Backend(String),
}

/// Figures of one run, read from the device's counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunStats {
    /// Cycles from START to DONE.
    pub cycles: u64,
    /// Cycles in which a row entered the systolic array.
    pub active_cycles: u64,
    /// Instructions completed.
    pub insns: u32,
    /// Cycles each unit (DMA, GEMM, vector) held an instruction: DMA_BUSY, GEMM_BUSY, VEC_BUSY.
    pub unit_busy: [u64; 3],
    /// Wall time of the run on the host.
    pub wall_seconds: f64,
}

/// An accelerator: memory, registers, start, wait.
pub trait Device {
    /// The configuration the host believes the device has.
    fn config(&self) -> &AccelConfig;
    /// Backend name (`golden`, `verilator`, `board`).
    fn name(&self) -> &'static str;
    /// Write device memory.
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Read device memory.
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError>;
    /// Write a 32-bit register.
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError>;
    /// Read a 32-bit register.
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError>;
    /// Wait until STATUS.BUSY clears, at most `timeout` of host time.
    fn wait_idle(&mut self, timeout: Duration) -> Result<(), DeviceError>;
}

/// Name of an ERROR_CODE value.
pub fn error_name(code: u32) -> &'static str {
    match code {
        error_code::NONE => "none",
        error_code::BAD_OPCODE => "bad opcode",
        error_code::BAD_FIELD => "bad field",
        error_code::AXI_ERROR => "AXI error response",
        error_code::BANK_CONFLICT => "scratchpad bank conflict",
        _ => "unknown",
    }
}

/// Refuse to run on hardware built from another configuration.
pub fn check_config(dev: &mut dyn Device) -> Result<(), DeviceError> {
    let host = dev.config().hash();
    let device = dev.read_reg(regmap::CONFIG_HASH.offset)?;
    if device != host {
        return Err(DeviceError::ConfigMismatch { device, host });
    }
    Ok(())
}

/// Load `prog` into `dev`, run it to completion and return the counters. Checks CONFIG_HASH
/// first and turns STATUS.ERROR into [`DeviceError::Execution`].
pub fn run(dev: &mut dyn Device, prog: &Program, timeout: Duration) -> Result<RunStats, DeviceError> {
    let t0 = std::time::Instant::now();
    load(dev, prog)?;
    let mut st = execute(dev, prog, timeout)?;
    st.wall_seconds = t0.elapsed().as_secs_f64();
    Ok(st)
}

/// Check CONFIG_HASH and write `prog`'s segments and instructions into device memory.
pub fn load(dev: &mut dyn Device, prog: &Program) -> Result<(), DeviceError> {
    check_config(dev)?;
    for s in &prog.segments {
        dev.write_mem(s.addr, &s.bytes)?;
    }
    dev.write_mem(prog.insn_base, &prog.insn_bytes())
}

/// Start an already [`load`]ed `prog` and wait for it (its inputs may have been rewritten since).
pub fn execute(dev: &mut dyn Device, prog: &Program, timeout: Duration) -> Result<RunStats, DeviceError> {
    let t0 = std::time::Instant::now();
    dev.write_reg(regmap::INSN_BASE_LO.offset, prog.insn_base as u32)?;
    dev.write_reg(regmap::INSN_BASE_HI.offset, (prog.insn_base >> 32) as u32)?;
    dev.write_reg(regmap::INSN_COUNT.offset, prog.insns.len() as u32)?;
    dev.write_reg(regmap::LIVE_TOKENS.offset, prog.live_tokens as u32)?;
    dev.write_reg(regmap::CTRL.offset, 1)?;
    dev.wait_idle(timeout)?;
    let st = dev.read_reg(regmap::STATUS.offset)?;
    if st & status::ERROR != 0 {
        let code = dev.read_reg(regmap::ERROR_CODE.offset)?;
        let insn = dev.read_reg(regmap::ERROR_INSN.offset)?;
        return Err(DeviceError::Execution { code, name: error_name(code), insn });
    }
    if st & status::DONE == 0 {
        return Err(DeviceError::Backend(format!("device idle without DONE (STATUS = {st:#x})")));
    }
    let rd64 = |dev: &mut dyn Device, lo: u32, hi: u32| -> Result<u64, DeviceError> {
        Ok(dev.read_reg(lo)? as u64 | (dev.read_reg(hi)? as u64) << 32)
    };
    Ok(RunStats {
        cycles: rd64(dev, regmap::CYCLES_LO.offset, regmap::CYCLES_HI.offset)?,
        active_cycles: rd64(dev, regmap::ACTIVE_LO.offset, regmap::ACTIVE_HI.offset)?,
        insns: dev.read_reg(regmap::INSN_DONE.offset)?,
        unit_busy: [
            dev.read_reg(regmap::DMA_BUSY.offset)? as u64,
            dev.read_reg(regmap::GEMM_BUSY.offset)? as u64,
            dev.read_reg(regmap::VEC_BUSY.offset)? as u64,
        ],
        wall_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Read every output region of `prog` (row padding removed).
pub fn read_outputs(dev: &mut dyn Device, prog: &Program) -> Result<Vec<ndarray::Array2<u8>>, DeviceError> {
    prog.outputs
        .iter()
        .map(|o| {
            let bytes = dev.read_mem(o.addr, o.rows * o.row_bytes)?;
            Ok(crate::program::unpack_rows(&bytes, o.rows, o.row_bytes, o.cols))
        })
        .collect()
}

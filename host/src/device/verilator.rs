//! The `verilator` backend: the generated RTL, cycle-accurate in Verilator (`sim` crate), driven
//! through its AXI4-Lite port like a board.

use super::{Device, DeviceError};
use sim::Sim;
use spec::AccelConfig;
use std::path::Path;
use std::time::{Duration, Instant};

/// The RTL simulator as a device.
pub struct VerilatorDevice {
    sim: Sim,
    cfg: AccelConfig,
    /// Simulated cycles spent in the last `wait_idle`.
    pub last_run_cycles: u64,
}

impl VerilatorDevice {
    /// The Verilator model built for `cfg`, with `mem_bytes` of DRAM; reset and ready.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> Result<Self, DeviceError> {
        let mut sim = Sim::new(cfg, mem_bytes).map_err(|e| DeviceError::Backend(e.to_string()))?;
        sim.reset();
        Ok(VerilatorDevice { sim, cfg: cfg.clone(), last_run_cycles: 0 })
    }

    /// The underlying simulator (latency, back-pressure, waveforms).
    pub fn sim(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// Write a VCD waveform of everything that follows.
    pub fn trace_to(&mut self, path: &Path) -> Result<(), DeviceError> {
        self.sim.trace_to(path).map_err(|e| DeviceError::Backend(e.to_string()))
    }

    fn check_range(&self, addr: u64, len: usize) -> Result<(), DeviceError> {
        let size = self.sim.mem().len();
        if addr.checked_add(len as u64).is_none_or(|end| end > size as u64) {
            return Err(DeviceError::OutOfMemory { addr, len, size });
        }
        Ok(())
    }
}

impl Device for VerilatorDevice {
    fn config(&self) -> &AccelConfig {
        &self.cfg
    }
    fn name(&self) -> &'static str {
        "verilator"
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check_range(addr, data.len())?;
        self.sim.mem_mut()[addr as usize..addr as usize + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        self.check_range(addr, len)?;
        Ok(self.sim.mem()[addr as usize..addr as usize + len].to_vec())
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        self.sim.axil_write(offset, value);
        Ok(())
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        Ok(self.sim.axil_read(offset))
    }
    fn wait_idle(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        // Simulated cycles are bounded by wall time: step in slices and give up on the host timeout.
        let t0 = Instant::now();
        let mut total = 0u64;
        loop {
            match self.sim.run_until_idle(1 << 20) {
                Ok(c) => {
                    self.last_run_cycles = total + c;
                    return Ok(());
                }
                Err(sim::SimError::Timeout { .. }) => {
                    total += 1 << 20;
                    if t0.elapsed() > timeout {
                        return Err(DeviceError::Timeout(timeout));
                    }
                }
                Err(e) => return Err(DeviceError::Backend(e.to_string())),
            }
        }
    }
}

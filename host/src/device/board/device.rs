//! [`BoardDevice`]: the [`Device`] trait on UIO registers and a u-dma-buf.

use super::layout::{Layout, UDMABUF_NAME, UIO_NAME};
use super::relocate::relocate;
use super::udmabuf::{CacheMode, Udmabuf};
use super::uio::Uio;
use crate::device::{Device, DeviceError};
use spec::regmap::{self, status, Access};
use spec::AccelConfig;
use std::time::{Duration, Instant};

/// How `wait_idle` learns that the accelerator finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WaitMode {
    /// Read STATUS every `poll_interval` (works everywhere, including the board emulator).
    #[default]
    Poll,
    /// Sleep on the UIO interrupt (needs the top's `irq` wired to pl_ps_irq0), STATUS re-read
    /// on each wake-up and at least every 100 ms.
    Interrupt,
}

/// Options of a board device.
#[derive(Clone, Copy, Debug)]
pub struct BoardOptions {
    /// Cached buffer with explicit syncs, or uncached.
    pub cache: CacheMode,
    /// Polling or interrupt.
    pub wait: WaitMode,
    /// Time between STATUS reads when polling.
    pub poll_interval: Duration,
}

impl Default for BoardOptions {
    fn default() -> Self {
        BoardOptions { cache: CacheMode::Cached, wait: WaitMode::Poll, poll_interval: Duration::from_micros(50) }
    }
}

/// The registers the host programs and the board backend keeps for relocation at START.
#[derive(Clone, Copy, Debug, Default)]
struct Launch {
    insn_base: u64,
    insn_count: u32,
    live_tokens: u16,
}

/// The accelerator on a board: registers through UIO, DRAM through u-dma-buf, exclusive.
///
/// Device addresses are offsets into the u-dma-buf, as programs are compiled; at START the
/// instructions are relocated by the buffer's physical address into a copy at the top of the
/// buffer (`board::relocate`), and INSN_BASE points the accelerator at that copy. Reads of
/// INSN_BASE return what the host wrote.
pub struct BoardDevice {
    cfg: AccelConfig,
    uio: Uio,
    buf: Udmabuf,
    opts: BoardOptions,
    launch: Launch,
    /// End of the highest range the host wrote: the relocated copy must stay above it.
    high_water: u64,
}

impl BoardDevice {
    /// Open the board below `layout`: the PL must be programmed (FPGA manager `operating`),
    /// the UIO device named [`UIO_NAME`] must map the register window, and no other process
    /// may hold it ("device busy").
    pub fn open(layout: &Layout, cfg: &AccelConfig, opts: BoardOptions) -> Result<Self, DeviceError> {
        check_programmed(layout)?;
        let uio = Uio::open(layout, UIO_NAME, regmap::WINDOW_BYTES as u64, true).map_err(DeviceError::Backend)?;
        lock(&uio)?;
        let buf = Udmabuf::open(layout, UDMABUF_NAME, opts.cache).map_err(DeviceError::Backend)?;
        Ok(BoardDevice { cfg: cfg.clone(), uio, buf, opts, launch: Launch::default(), high_water: 0 })
    }

    /// The u-dma-buf.
    pub fn buffer(&self) -> &Udmabuf {
        &self.buf
    }

    /// The UIO device.
    pub fn uio(&self) -> &Uio {
        &self.uio
    }

    /// Every register by name with its value, one per line.
    pub fn dump(&self) -> String {
        dump_registers(|off| self.uio.read(off))
    }

    /// CONFIG_HASH check, relocation of the instructions into the top of the buffer, START.
    fn start(&mut self) -> Result<(), DeviceError> {
        let device = self.hw_read(regmap::CONFIG_HASH.offset)?;
        if device != self.cfg.hash() {
            return Err(DeviceError::ConfigMismatch { device, host: self.cfg.hash() });
        }
        let Launch { insn_base, insn_count, live_tokens } = self.launch;
        let len = insn_count as usize * spec::isa::INSN_BYTES;
        let program = self.read_mem(insn_base, len)?;
        let copy_at = (self.buf.size.saturating_sub(len as u64)) & !63;
        if copy_at < self.high_water || (len as u64) > self.buf.size {
            return Err(DeviceError::Backend(format!(
                "u-dma-buf too small: the program uses {} bytes and its relocated instructions {len} more, the buffer \
                 has {} (regenerate the overlay with `vitaccel bitstream --model`)",
                self.high_water, self.buf.size
            )));
        }
        let moved = relocate(&program, self.buf.phys, copy_at, live_tokens, &self.cfg)?;
        self.buf.write(copy_at, &moved).map_err(DeviceError::Backend)?;
        let base = self.buf.phys + copy_at;
        self.hw_write(regmap::INSN_BASE_LO.offset, base as u32)?;
        self.hw_write(regmap::INSN_BASE_HI.offset, (base >> 32) as u32)?;
        self.hw_write(regmap::CTRL.offset, 1)
    }

    fn hw_read(&self, offset: u32) -> Result<u32, DeviceError> {
        self.uio
            .read(offset)
            .ok_or_else(|| DeviceError::Backend(format!("register offset {offset:#x} outside the UIO map")))
    }

    fn hw_write(&self, offset: u32, value: u32) -> Result<(), DeviceError> {
        self.uio
            .write(offset, value)
            .ok_or_else(|| DeviceError::Backend(format!("register offset {offset:#x} outside the UIO map")))
    }

    fn out_of_memory(&self, addr: u64, len: usize) -> DeviceError {
        DeviceError::OutOfMemory { addr, len, size: self.buf.size as usize }
    }
}

impl Device for BoardDevice {
    fn config(&self) -> &AccelConfig {
        &self.cfg
    }
    fn name(&self) -> &'static str {
        "board"
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.buf
            .write(addr, data)
            .map_err(DeviceError::Backend)?
            .ok_or_else(|| self.out_of_memory(addr, data.len()))?;
        self.high_water = self.high_water.max(addr + data.len() as u64);
        Ok(())
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        self.buf.read(addr, len).map_err(DeviceError::Backend)?.ok_or_else(|| self.out_of_memory(addr, len))
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        let reg = register(offset)?;
        if reg.access == Access::RO {
            return Err(DeviceError::Backend(format!("register {} ({offset:#x}) is read-only", reg.name)));
        }
        let l = &mut self.launch;
        match offset {
            o if o == regmap::INSN_BASE_LO.offset => l.insn_base = (l.insn_base & !0xffff_ffff) | value as u64,
            o if o == regmap::INSN_BASE_HI.offset => l.insn_base = (l.insn_base & 0xffff_ffff) | (value as u64) << 32,
            o if o == regmap::CTRL.offset && value & 1 != 0 => return self.start(),
            o => {
                if o == regmap::INSN_COUNT.offset {
                    l.insn_count = value;
                } else if o == regmap::LIVE_TOKENS.offset {
                    l.live_tokens = value as u16;
                }
                self.hw_write(o, value)?;
            }
        }
        Ok(())
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        register(offset)?;
        match offset {
            o if o == regmap::INSN_BASE_LO.offset => Ok(self.launch.insn_base as u32),
            o if o == regmap::INSN_BASE_HI.offset => Ok((self.launch.insn_base >> 32) as u32),
            o => self.hw_read(o),
        }
    }
    fn wait_idle(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        let t0 = Instant::now();
        loop {
            // START is taken once CTRL reads 0 again: at once on the hardware (CTRL is W1, reads
            // 0), later behind anything that latches the write first (the board emulator). Read
            // before STATUS, so a STATUS from before START is never taken for the run's.
            let start_pending = self.hw_read(regmap::CTRL.offset)? & 1 != 0;
            if !start_pending && self.hw_read(regmap::STATUS.offset)? & status::BUSY == 0 {
                std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
                return Ok(());
            }
            let left = timeout.saturating_sub(t0.elapsed());
            if left.is_zero() {
                let why = if start_pending { "START not taken: CTRL still 1" } else { "STATUS.BUSY still set" };
                return Err(DeviceError::Backend(format!(
                    "device timeout after {timeout:?} ({why}); registers:\n{}",
                    self.dump()
                )));
            }
            match self.opts.wait {
                WaitMode::Poll => std::thread::sleep(self.opts.poll_interval.min(left)),
                WaitMode::Interrupt => {
                    self.uio.wait_interrupt(left.min(Duration::from_millis(100))).map_err(|e| {
                        DeviceError::Backend(format!("waiting for the interrupt on {}: {e}", self.uio.dev.display()))
                    })?;
                }
            }
        }
    }
}

/// The register at `offset` of `spec::regmap`, or an error: the backend touches nothing else.
fn register(offset: u32) -> Result<&'static regmap::Register, DeviceError> {
    regmap::by_offset(offset)
        .ok_or_else(|| DeviceError::Backend(format!("no register at offset {offset:#x} in the register map")))
}

/// Refuse a board whose PL is not programmed: touching the register window then stalls the
/// interconnect. Only checked where the FPGA manager reports a state.
pub fn check_programmed(layout: &Layout) -> Result<(), DeviceError> {
    let p = layout.fpga_manager().join("state");
    match std::fs::read_to_string(&p) {
        Ok(state) if state.trim() != "operating" => Err(DeviceError::Backend(format!(
            "the PL is not programmed ({} reads `{}`): load the bitstream first (`vitaccel board load`)",
            p.display(),
            state.trim()
        ))),
        _ => Ok(()),
    }
}

/// Exclusive use: a non-blocking `flock` on the UIO device, held while the file is open.
fn lock(uio: &Uio) -> Result<(), DeviceError> {
    use rustix::fs::{flock, FlockOperation};
    flock(uio.file(), FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            DeviceError::Backend(format!("device busy: {} is in use by another process", uio.dev.display()))
        } else {
            DeviceError::Backend(format!("locking {}: {e}", uio.dev.display()))
        }
    })
}

/// Every register of the map by name, `NAME = 0xvalue`, STATUS and ERROR_CODE decoded;
/// `read` gives a register's value (`None`: unreadable).
pub fn dump_registers(read: impl Fn(u32) -> Option<u32>) -> String {
    let mut s = String::new();
    for r in regmap::REGISTERS {
        let Some(v) = read(r.offset) else {
            s += &format!("  {:<12} (unreadable)\n", r.name);
            continue;
        };
        let note = if r.offset == regmap::STATUS.offset {
            let bits: Vec<&str> = [(status::BUSY, "BUSY"), (status::DONE, "DONE"), (status::ERROR, "ERROR")]
                .iter()
                .filter(|(b, _)| v & b != 0)
                .map(|(_, n)| *n)
                .collect();
            format!("  ({})", if bits.is_empty() { "idle".to_string() } else { bits.join(" ") })
        } else if r.offset == regmap::ERROR_CODE.offset {
            format!("  ({})", crate::device::error_name(v))
        } else {
            String::new()
        };
        s += &format!("  {:<12} = {v:#010x}{note}\n", r.name);
    }
    s
}

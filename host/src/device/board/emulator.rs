//! The board emulator: the Verilator model of the RTL behind the same device files a board
//! has, so the board backend runs unchanged against it (`vitaccel board emulate --root DIR`).
//!
//! Below the root it creates what the overlay and the kernel drivers create on a board (names
//! from [`super::layout`]): the UIO device (`name`, `maps/map0/{addr,size}`, and `/dev/uio0`, a
//! file standing for the register window), the u-dma-buf (`/dev/udmabuf0`, a file standing for
//! the buffer, with `phys_addr` 0 so relocation is the identity, `size` and the `sync_*`
//! attributes), and an FPGA manager reporting `operating`. It then maps both files and polls
//! the register window: a write of CTRL.START copies the buffer into the model's DRAM, writes
//! the host's RW registers and START into the RTL, publishes STATUS (BUSY) and clears CTRL
//! (CTRL reads 0, as on the hardware: the backend takes that as START accepted), simulates to
//! idle, copies the DRAM back and publishes every register the RTL reports, STATUS last.
//! [`READY_FILE`] appears when it serves; it stops on the `stop` flag or when that file (or
//! the root) is removed.

use super::layout::{Layout, REG_BASE, UDMABUF_NAME, UIO_NAME};
use super::mapping::Mapping;
use spec::regmap::{self, Access};
use spec::AccelConfig;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// File below the root holding the emulator's process id, written once it serves.
pub const READY_FILE: &str = "emulator.pid";

/// Cycles simulated between two looks at the stop flag and the root during a run.
const RUN_SLICE_CYCLES: u64 = 1 << 16;

/// Longest sleep between two reads of CTRL: the poll interval doubles while nothing happens,
/// up to this, and drops back after each run (an idle emulator costs next to no CPU; a START
/// after a long pause waits at most this long to be seen).
const MAX_IDLE_SLEEP: Duration = Duration::from_micros(250);

/// How often the emulator checks that its root still exists while idle.
const ROOT_CHECK: Duration = Duration::from_millis(100);

/// Options of the emulator.
#[derive(Clone, Copy, Debug)]
pub struct EmulatorOptions {
    /// Bytes of the emulated u-dma-buf (and of the model's DRAM).
    pub buffer_bytes: u64,
    /// Fault injection: accept START but never finish (STATUS stays BUSY).
    pub hang: bool,
    /// Time between two reads of CTRL right after a run (it grows while idle, up to 250 µs).
    pub poll_interval: Duration,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions { buffer_bytes: 64 << 20, hang: false, poll_interval: Duration::from_micros(20) }
    }
}

/// A running emulator: the model and the two mapped files.
pub struct Emulator {
    layout: Layout,
    sim: sim::Sim,
    regs: Mapping,
    buf: Mapping,
    opts: EmulatorOptions,
}

impl Emulator {
    /// Create the device files below `root` (made if missing) and the model of `cfg`.
    pub fn create(root: &Path, cfg: &AccelConfig, opts: EmulatorOptions) -> Result<Emulator, String> {
        let layout = Layout::new(root);
        let sim = sim::Sim::new(cfg, opts.buffer_bytes as usize).map_err(|e| e.to_string())?;
        let uio = layout.uio_class().join("uio0");
        put(&uio.join("name"), &format!("{UIO_NAME}\n"))?;
        put(&uio.join("maps/map0/addr"), &format!("{REG_BASE:#018x}\n"))?;
        put(&uio.join("maps/map0/size"), &format!("{:#018x}\n", regmap::WINDOW_BYTES))?;
        let udmabuf = layout.udmabuf_sysfs(UDMABUF_NAME);
        put(&udmabuf.join("phys_addr"), "0x0000000000000000\n")?;
        put(&udmabuf.join("size"), &format!("{}\n", opts.buffer_bytes))?;
        for attr in ["sync_offset", "sync_size", "sync_direction", "sync_for_cpu", "sync_for_device"] {
            put(&udmabuf.join(attr), "0\n")?;
        }
        put(&layout.fpga_manager().join("state"), "operating\n")?;
        let regs = map_file(&layout.dev("uio0"), regmap::WINDOW_BYTES as u64)?;
        let buf = map_file(&layout.dev(UDMABUF_NAME), opts.buffer_bytes)?;
        let mut emu = Emulator { layout, sim, regs, buf, opts };
        emu.publish_registers();
        Ok(emu)
    }

    /// The device files' root.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// Serve START requests until `stop` is set or the ready file disappears. Writes the ready
    /// file first and removes it on the way out.
    pub fn serve(&mut self, stop: &AtomicBool) -> Result<(), String> {
        let ready = self.root().join(READY_FILE);
        let tmp = self.root().join(format!("{READY_FILE}.tmp"));
        put(&tmp, &format!("{}\n", std::process::id()))?;
        std::fs::rename(&tmp, &ready).map_err(|e| format!("{}: {e}", ready.display()))?;
        let mut checked = Instant::now();
        let mut idle_sleep = self.opts.poll_interval;
        while !stop.load(Ordering::Relaxed) {
            if checked.elapsed() >= ROOT_CHECK {
                if !ready.exists() {
                    return Ok(());
                }
                checked = Instant::now();
            }
            if self.reg(regmap::CTRL.offset) & 1 != 0 {
                self.start()?;
                if !self.opts.hang {
                    self.run_to_idle(&|| stop.load(Ordering::Relaxed) || !ready.exists());
                }
                idle_sleep = self.opts.poll_interval;
            } else {
                std::thread::sleep(idle_sleep);
                idle_sleep = (idle_sleep * 2).min(MAX_IDLE_SLEEP);
            }
        }
        std::fs::remove_file(&ready).ok();
        Ok(())
    }

    /// START: the buffer into the model's DRAM, the host's RW registers and START into the
    /// RTL, its registers (STATUS BUSY) out, then CTRL cleared: START accepted.
    fn start(&mut self) -> Result<(), String> {
        fence(Ordering::SeqCst);
        self.buf.copy_out_into(0, self.sim.mem_mut()).ok_or("buffer mapping smaller than the model's DRAM")?;
        for r in regmap::REGISTERS.iter().filter(|r| r.access == Access::RW) {
            let value = self.reg(r.offset);
            self.sim.axil_write(r.offset, value);
        }
        self.sim.axil_write(regmap::CTRL.offset, 1);
        self.publish_registers();
        fence(Ordering::SeqCst);
        self.regs.write_u32(regmap::CTRL.offset as u64, 0);
        Ok(())
    }

    /// Simulate until STATUS.BUSY clears, then the DRAM back into the buffer and the registers
    /// out, STATUS last; or nothing once `give_up` says so (asked between slices of cycles).
    fn run_to_idle(&mut self, give_up: &dyn Fn() -> bool) {
        loop {
            match self.sim.run_until_idle(RUN_SLICE_CYCLES) {
                Ok(_) => break,
                Err(sim::SimError::Timeout { .. }) if !give_up() => continue,
                Err(_) => return,
            }
        }
        self.buf.copy_in(0, self.sim.mem());
        fence(Ordering::SeqCst);
        self.publish_registers();
    }

    /// Every register as the RTL reports it (the RW ones too: the selectors lower LIVE_TOKENS)
    /// into the window, STATUS last; CTRL is the host's.
    fn publish_registers(&mut self) {
        let reported = [regmap::CTRL.offset, regmap::STATUS.offset];
        for r in regmap::REGISTERS.iter().filter(|r| !reported.contains(&r.offset)) {
            let value = self.sim.axil_read(r.offset);
            self.regs.write_u32(r.offset as u64, value);
        }
        let value = self.sim.axil_read(regmap::STATUS.offset);
        fence(Ordering::SeqCst);
        self.regs.write_u32(regmap::STATUS.offset as u64, value);
    }

    fn reg(&self, offset: u32) -> u32 {
        self.regs.read_u32(offset as u64).expect("the window holds every register")
    }
}

/// Write `text` to `path`, creating its folder.
fn put(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A zeroed file of `len` bytes at `path`, mapped shared.
fn map_file(path: &PathBuf, len: u64) -> Result<Mapping, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_len(len).map_err(|e| format!("{}: {e}", path.display()))?;
    Mapping::new(&file, len as usize, 0, true).map_err(|e| format!("mapping {}: {e}", path.display()))
}

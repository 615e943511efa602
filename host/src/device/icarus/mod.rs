//! The `icarus` backend: the generated Verilog in Icarus Verilog (`iverilog -g2012` + `vvp`), a
//! second, event-driven simulator of the same RTL. Verilator and Icarus differ where Verilog is
//! fragile (X propagation, initial values, blocking/non-blocking races), so equal outputs and
//! equal counters on both say the RTL does not depend on the simulator.
//!
//! An [`IcarusModel`] is the Verilog plus a bench (`testbench`) compiled once per configuration
//! and cached; an [`IcarusDevice`] is one `vvp` process of it, alive as long as the device, so
//! every [`Device`] call means what it means on the Verilator backend: the bench ports the
//! Verilator harness (`sim/csrc/harness.h`) line for line (clocking, AXI4-Lite master, DRAM
//! model with the `spec::timing::dram` figures, reset and STATUS polling), and the host sends
//! it the same calls. The DRAM bytes stay here, in a `Vec`: the bench asks for each beat it
//! presents and reports each beat it stores.
//!
//! Icarus has four-valued logic and Verilator has not: a byte the core stores with X or Z bits
//! (a never-written RAM word, say) is kept here as *unknown* ([`IcarusDevice::unknown_bytes`]),
//! reads back as 0 through [`Device::read_mem`] and goes back to the core as X if it reads it.
//!
//! Protocol, one line each way (numbers in hex unless noted):
//! * host -> bench: `X cycles` reset, `W offset value timeout` and `R offset timeout` register
//!   transactions, `I timeout` run until STATUS.BUSY clears, `N cycles` step, `T read_latency
//!   write_latency`, `P seed percent` back-pressure, `C` cycle count, `Q` quit;
//! * bench -> host: the reply (`K`, `B resp`, `D value resp`, `I elapsed status timed_out`,
//!   `C cycle`, decimal where not a bus value), `M addr` (answer with the beat at `addr`),
//!   `S addr data strobes` (store), `E message` (the bench stopped: X on the bus, overflow).

mod model;
mod testbench;

pub use model::{fill_rams, hoist_clock_copies, ClockFanout, IcarusModel, RamPowerUp};

use super::{Device, DeviceError};
use spec::regmap;
use spec::AccelConfig;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Cycles the bench holds `aresetn` low in a reset (as `sim::RESET_CYCLES`).
pub const RESET_CYCLES: u32 = 4;

/// Cycles an AXI4-Lite transaction may take before the slave counts as hung (as
/// `sim::AXIL_TIMEOUT_CYCLES`).
pub const AXIL_TIMEOUT_CYCLES: u64 = 1000;

/// Cycles between the first two STATUS polls of a wait (as `sim::Sim::run_until_idle`).
pub const FIRST_POLL_CYCLES: u64 = 8;

/// Most cycles between two STATUS polls of a wait (as `sim::POLL_CYCLES`).
pub const POLL_CYCLES: u64 = 256;

/// Cycles per wait command; the host checks its wall-clock timeout between them (as the
/// Verilator backend's slices).
const WAIT_SLICE_CYCLES: u64 = 1 << 20;

/// Wall time a command other than a wait may take (an AXI4-Lite transaction or a reset: a few
/// thousand cycles at most).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// The RTL in Icarus Verilog as a device.
pub struct IcarusDevice {
    cfg: AccelConfig,
    mem: Vec<u8>,
    /// Per DRAM byte: last stored by the core with X or Z bits.
    unknown: Vec<bool>,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr_path: std::path::PathBuf,
    /// Other output of `vvp` (warnings), last lines.
    log: Vec<String>,
    /// Simulated cycles spent in the last `wait_idle`.
    pub last_run_cycles: u64,
}

impl IcarusDevice {
    /// A `vvp` process of `model` with `mem_bytes` of zeroed DRAM, reset and checked like the
    /// Verilator backend's (reset, CONFIG_HASH read, reset).
    pub fn new(model: &IcarusModel, mem_bytes: usize) -> Result<Self, DeviceError> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let stderr_path = std::env::temp_dir().join(format!(
            "vitaccel-icarus-{}-{}.stderr",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| DeviceError::Backend(format!("{}: {e}", stderr_path.display())))?;
        let mut child = Command::new("vvp")
            .arg("-n")
            .arg(model.vvp())
            .arg(format!("+mem_bytes={mem_bytes}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| DeviceError::Backend(format!("cannot run vvp ({e}); scripts/setup.sh installs Icarus")))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut dev = IcarusDevice {
            cfg: model.config().clone(),
            mem: vec![0; mem_bytes],
            unknown: vec![false; mem_bytes],
            child,
            stdin,
            lines,
            stderr_path,
            log: Vec::new(),
            last_run_cycles: 0,
        };
        dev.reset()?;
        let hash = dev.read_reg(regmap::CONFIG_HASH.offset)?;
        if hash != dev.cfg.hash() {
            return Err(DeviceError::ConfigMismatch { device: hash, host: dev.cfg.hash() });
        }
        dev.reset()?;
        Ok(dev)
    }

    /// Hold reset for [`RESET_CYCLES`] cycles, then two cycles out of reset; in-flight DRAM
    /// transactions are dropped, the DRAM content is kept.
    pub fn reset(&mut self) -> Result<(), DeviceError> {
        self.command(&format!("X {RESET_CYCLES:x}"), "K", COMMAND_TIMEOUT).map(drop)
    }

    /// DRAM read latency and write response latency in cycles (0 behaves as 1), for bursts
    /// accepted from now on.
    pub fn set_latency(&mut self, read: u32, write: u32) -> Result<(), DeviceError> {
        self.command(&format!("T {read:x} {write:x}"), "K", COMMAND_TIMEOUT).map(drop)
    }

    /// Pseudo-random back-pressure, the same sequence as `sim::Sim::set_backpressure`.
    pub fn set_backpressure(&mut self, seed: u64, percent: u32) -> Result<(), DeviceError> {
        assert!(percent < 100, "back-pressure of {percent} % would stall forever");
        self.command(&format!("P {seed:x} {percent:x}"), "K", COMMAND_TIMEOUT).map(drop)
    }

    /// Clock cycles simulated since the process started.
    pub fn cycle(&mut self) -> Result<u64, DeviceError> {
        let reply = self.command("C", "C", COMMAND_TIMEOUT)?;
        reply.first().and_then(|c| c.parse().ok()).ok_or_else(|| self.fail("bad cycle count"))
    }

    /// Which of the `len` DRAM bytes at `addr` the core last stored with X or Z bits (Icarus
    /// only: Verilator has no such values); [`Device::read_mem`] returns them as 0.
    pub fn unknown_bytes(&self, addr: u64, len: usize) -> Result<Vec<bool>, DeviceError> {
        self.check_range(addr, len)?;
        Ok(self.unknown[addr as usize..addr as usize + len].to_vec())
    }

    fn check_range(&self, addr: u64, len: usize) -> Result<(), DeviceError> {
        let size = self.mem.len();
        if addr.checked_add(len as u64).is_none_or(|end| end > size as u64) {
            return Err(DeviceError::OutOfMemory { addr, len, size });
        }
        Ok(())
    }

    /// A backend error with `what` and the end of `vvp`'s error output.
    fn fail(&self, what: &str) -> DeviceError {
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let tail =
            |s: &str| s.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        DeviceError::Backend(format!(
            "icarus: {what}\nvvp output: {}\nvvp errors: {}",
            self.log.iter().rev().take(10).rev().cloned().collect::<Vec<_>>().join("\n"),
            tail(&stderr)
        ))
    }

    /// Send `cmd` and serve the bench's memory requests until the reply tagged `tag`; its
    /// fields. Gives up (killing `vvp`) after `timeout` of wall time.
    fn command(&mut self, cmd: &str, tag: &str, timeout: Duration) -> Result<Vec<String>, DeviceError> {
        let deadline = Instant::now() + timeout;
        writeln!(self.stdin, "{cmd}").and_then(|_| self.stdin.flush()).map_err(|e| self.fail(&format!("{e}")))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    self.child.kill().ok();
                    return Err(DeviceError::Timeout(timeout));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(self.fail(&format!("vvp exited ({status}) during `{cmd}`")));
                }
            };
            let mut fields = line.split_whitespace();
            match fields.next() {
                Some("M") => self.serve_read(&line)?,
                Some("S") => self.serve_store(&line)?,
                Some("E") => return Err(self.fail(&format!("the bench stopped: {}", &line[1..]))),
                Some(t) if t == tag => return Ok(fields.map(str::to_string).collect()),
                _ => {
                    self.log.push(line.clone());
                    if self.log.len() > 100 {
                        self.log.remove(0);
                    }
                }
            }
        }
    }

    /// Answer `M addr` with the beat at `addr`, most significant byte first (`xx` for unknown
    /// bytes).
    fn serve_read(&mut self, line: &str) -> Result<(), DeviceError> {
        let wb = self.cfg.axi_data_bits() / 8;
        let addr = line.split_whitespace().nth(1).and_then(|a| u64::from_str_radix(a, 16).ok());
        let Some(addr) = addr.filter(|a| a.checked_add(wb as u64).is_some_and(|e| e <= self.mem.len() as u64)) else {
            return Err(self.fail(&format!("bad memory read request `{line}`")));
        };
        let at = addr as usize..addr as usize + wb;
        let hex: String = self.mem[at.clone()]
            .iter()
            .zip(&self.unknown[at])
            .rev()
            .map(|(b, &x)| if x { "xx".to_string() } else { format!("{b:02x}") })
            .collect();
        writeln!(self.stdin, "{hex}").and_then(|_| self.stdin.flush()).map_err(|e| self.fail(&format!("{e}")))
    }

    /// Apply `S addr data strobes` (a data byte with X or Z digits stores an unknown byte).
    fn serve_store(&mut self, line: &str) -> Result<(), DeviceError> {
        let wb = self.cfg.axi_data_bits() / 8;
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = (f.len() == 4).then(|| {
            let addr = u64::from_str_radix(f[1], 16).ok().filter(|a| a + wb as u64 <= self.mem.len() as u64)?;
            let data = hex_bytes(f[2], wb);
            let strb: Vec<u8> = hex_bytes(f[3], wb.div_ceil(8)).into_iter().collect::<Option<_>>()?;
            Some((addr as usize, data, strb))
        });
        let Some(Some((addr, data, strb))) = parsed else {
            return Err(self.fail(&format!("bad store from the core (address or strobes with X or Z bits?): `{line}`")));
        };
        for (i, byte) in data.iter().enumerate() {
            if strb[i / 8] >> (i % 8) & 1 != 0 {
                self.mem[addr + i] = byte.unwrap_or(0);
                self.unknown[addr + i] = byte.is_none();
            }
        }
        Ok(())
    }
}

/// The `n` bytes of a hex number, least significant first (`None`: a byte with X or Z digits).
fn hex_bytes(hex: &str, n: usize) -> Vec<Option<u8>> {
    let digits: Vec<Option<u8>> = hex.chars().rev().map(|c| c.to_digit(16).map(|d| d as u8)).collect();
    let digit = |i: usize| digits.get(i).copied().unwrap_or(Some(0));
    (0..n).map(|i| Some(digit(2 * i)? | digit(2 * i + 1)? << 4)).collect()
}

impl Device for IcarusDevice {
    fn config(&self) -> &AccelConfig {
        &self.cfg
    }
    fn name(&self) -> &'static str {
        "icarus"
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check_range(addr, data.len())?;
        self.mem[addr as usize..addr as usize + data.len()].copy_from_slice(data);
        self.unknown[addr as usize..addr as usize + data.len()].fill(false);
        Ok(())
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        self.check_range(addr, len)?;
        Ok(self.mem[addr as usize..addr as usize + len].to_vec())
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        let r = self.command(&format!("W {offset:x} {value:x} {AXIL_TIMEOUT_CYCLES:x}"), "B", COMMAND_TIMEOUT)?;
        match r.first().map(String::as_str) {
            Some("0") => Ok(()),
            resp => Err(self.fail(&format!("AXI4-Lite write of {value:#x} to {offset:#x}: response {resp:?}"))),
        }
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        let r = self.command(&format!("R {offset:x} {AXIL_TIMEOUT_CYCLES:x}"), "D", COMMAND_TIMEOUT)?;
        match (r.first().map(|v| u32::from_str_radix(v, 16)), r.get(1).map(String::as_str)) {
            (Some(Ok(v)), Some("0")) => Ok(v),
            _ => Err(self.fail(&format!("AXI4-Lite read of {offset:#x}: {r:?} (X or Z bits?)"))),
        }
    }
    fn wait_idle(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        let deadline = Instant::now() + timeout;
        let mut total = 0u64;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self.command(&format!("I {WAIT_SLICE_CYCLES:x}"), "I", left)?;
            let elapsed: Option<u64> = r.first().and_then(|c| c.parse().ok());
            match (elapsed, r.get(2).map(String::as_str)) {
                (Some(c), Some("0")) => {
                    self.last_run_cycles = total + c;
                    return Ok(());
                }
                (Some(c), Some("1")) => total += c,
                _ => return Err(self.fail(&format!("bad wait reply {r:?}"))),
            }
            if Instant::now() > deadline {
                return Err(DeviceError::Timeout(timeout));
            }
        }
    }
}

impl Drop for IcarusDevice {
    fn drop(&mut self) {
        let quit = writeln!(self.stdin, "Q").and_then(|_| self.stdin.flush());
        let t0 = Instant::now();
        while quit.is_ok() && t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
        std::fs::remove_file(&self.stderr_path).ok();
    }
}

//! `sim`: the accelerator's generated Verilog, simulated cycle-accurately in Verilator and driven
//! from Rust. The only crate of the workspace with C++.
//!
//! `build.rs` generates the Verilog of `vitaccel_top` with `hdl::top_verilog` for every
//! configuration listed in [`configs::CONFIGS_ENV`] (default: the `small` and `default`
//! presets), verilates it and compiles it with the C++ harness (`csrc/harness.h`). The models
//! are cached in `target/`: changing Rust code never rebuilds them, changing `hdl` rebuilds only
//! the models whose Verilog changed.
//!
//! A [`Sim`] is one running model plus:
//! * a **DRAM model** serving the AXI4 master from a byte buffer ([`Sim::mem`]; DRAM byte address
//!   `a` is `mem()[a]`). Reads: up to `spec::timing::dram::MAX_READ_BURSTS` (8) bursts
//!   outstanding, the first beat
//!   [`Sim::set_read_latency`] cycles after the AR handshake, then one beat per cycle. Writes: AW
//!   and W accepted independently (W may run ahead), WSTRB honoured, B [`Sim::set_write_latency`]
//!   cycles after the last beat. A beat outside the buffer answers SLVERR (reads return zeros,
//!   writes change nothing). Optional pseudo-random back-pressure ([`Sim::set_backpressure`]).
//!   It also checks the master's side of the protocol ([`Sim::protocol_violations`]).
//! * an **AXI4-Lite master** for the register map ([`Sim::axil_write`], [`Sim::axil_read`]);
//! * optional **VCD tracing** ([`Sim::trace_to`]).
//!
//! Time only advances inside [`Sim::step`], [`Sim::reset`], the AXI4-Lite transactions and
//! [`Sim::run_until_idle`]; the DRAM model runs in every cycle of each.
//!
//! ```no_run
//! use spec::regmap::{CTRL, INSN_BASE_HI, INSN_BASE_LO, INSN_COUNT};
//! let cfg = spec::AccelConfig::small();
//! let mut sim = sim::Sim::new(&cfg, 1 << 20)?;
//! // ... place instructions at DRAM address 0x1000 via sim.mem_mut() ...
//! sim.axil_write(INSN_BASE_LO.offset, 0x1000);
//! sim.axil_write(INSN_BASE_HI.offset, 0);
//! sim.axil_write(INSN_COUNT.offset, 1);
//! sim.axil_write(CTRL.offset, 1);
//! let cycles = sim.run_until_idle(1_000_000)?;
//! # Ok::<(), sim::SimError>(())
//! ```

#![warn(missing_docs)]

pub mod configs;
mod ffi;

use spec::regmap::{self, status};
use spec::AccelConfig;
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

/// Cycles from an AR handshake to the first R beat after [`Sim::new`]
/// (`spec::timing::dram::READ_LATENCY`, which the cycle model assumes).
pub const DEFAULT_READ_LATENCY: u32 = spec::timing::dram::READ_LATENCY as u32;

/// Cycles from the last W beat of a burst to its B response after [`Sim::new`]
/// (`spec::timing::dram::WRITE_LATENCY`).
pub const DEFAULT_WRITE_LATENCY: u32 = spec::timing::dram::WRITE_LATENCY as u32;

/// Cycles [`Sim::reset`] holds `aresetn` low.
pub const RESET_CYCLES: u32 = 4;

/// Bytes of the AXI4-Lite address space (12-bit `s_axi_awaddr`/`s_axi_araddr`).
pub const AXIL_WINDOW: u32 = 4096;

/// Cycles an AXI4-Lite transaction may take before the harness declares the slave hung.
pub const AXIL_TIMEOUT_CYCLES: u64 = 1000;

/// Most cycles [`Sim::run_until_idle`] simulates between two STATUS polls (it starts at 8 and
/// doubles, so short runs are seen finishing promptly).
pub const POLL_CYCLES: u64 = 256;

/// What can go wrong driving a model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No model was built for the requested configuration.
    #[error(
        "no Verilator model is built for this configuration (CONFIG_HASH {hash:#010x}); built: {built}. \
         To add one, list it in {env} (a preset name from sim/src/configs.rs, or name=path/to/config.toml \
         relative to the workspace root) and rebuild, e.g. `{env}={example} cargo test -p sim`",
        env = configs::CONFIGS_ENV
    )]
    NoModel {
        /// CONFIG_HASH of the requested configuration.
        hash: u32,
        /// The built models, `name (hash)`, comma-separated.
        built: String,
        /// A value of the environment variable that would add the configuration.
        example: String,
    },
    /// The built model reports another CONFIG_HASH than its configuration (a stale build).
    #[error("the model answers CONFIG_HASH {found:#010x}, expected {expected:#010x}: rebuild the sim crate")]
    HashMismatch {
        /// CONFIG_HASH of the configuration.
        expected: u32,
        /// CONFIG_HASH register of the model.
        found: u32,
    },
    /// The accelerator stayed busy past the timeout.
    #[error("the accelerator is still busy after {cycles} cycles (STATUS = {status:#x})")]
    Timeout {
        /// Cycles simulated before giving up.
        cycles: u64,
        /// Last STATUS value read.
        status: u32,
    },
    /// The VCD file could not be created.
    #[error("cannot open the VCD file {}", path.display())]
    Trace {
        /// The file.
        path: PathBuf,
    },
}

/// A model that can be simulated: its name in [`configs::CONFIGS_ENV`] and its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltModel {
    /// Model name.
    pub name: &'static str,
    /// Its configuration.
    pub config: AccelConfig,
    /// Wall seconds of the build that produced it: Verilog generation, Verilator, C++ (`-O2`).
    pub build_seconds: [f64; 3],
}

/// Every model linked into this build, in [`configs::CONFIGS_ENV`] order.
pub fn built_models() -> Vec<BuiltModel> {
    ffi::MODELS
        .iter()
        .map(|m| BuiltModel {
            name: m.name,
            config: serde_json::from_str(m.config_json).expect("build.rs serialized this config"),
            build_seconds: m.build_seconds,
        })
        .collect()
}

/// Traffic served by the DRAM model since [`Sim::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Read bursts accepted (AR handshakes).
    pub read_bursts: u64,
    /// Read beats delivered (R handshakes).
    pub read_beats: u64,
    /// Write bursts accepted (AW handshakes).
    pub write_bursts: u64,
    /// Write beats accepted (W handshakes).
    pub write_beats: u64,
    /// Read beats answered SLVERR (outside the buffer).
    pub read_errors: u64,
    /// Write bursts answered SLVERR (a beat outside the buffer).
    pub write_errors: u64,
}

/// One simulated accelerator with its DRAM model and AXI4-Lite master.
pub struct Sim {
    handle: NonNull<c_void>,
    vt: &'static ffi::Vtable,
    /// The DRAM buffer, a leaked `Box<[u8]>` owned by `Sim`; the harness holds the same pointer,
    /// so no `Box` (whose uniqueness a `&mut` would assert) exists while it lives.
    mem: NonNull<u8>,
    mem_len: usize,
    cfg: AccelConfig,
    name: &'static str,
}

// SAFETY: the harness is a plain heap object (a single-threaded Verilated model, its context, the
// DRAM buffer) with no thread affinity; every access goes through `&mut self` or reads through
// `&self` that the harness never mutates concurrently, so moving it between threads is sound.
unsafe impl Send for Sim {}

impl Sim {
    /// A model of `cfg` (chosen among the built models by [`AccelConfig::hash`]) with a zeroed DRAM
    /// buffer of `mem_bytes` bytes, reset and checked: its CONFIG_HASH register must equal
    /// `cfg.hash()`.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> Result<Sim, SimError> {
        let hash = cfg.hash();
        let Some(model) = ffi::MODELS.iter().find(|m| m.hash == hash) else {
            let built: Vec<String> = ffi::MODELS.iter().map(|m| format!("{} ({:#010x})", m.name, m.hash)).collect();
            let names: Vec<&str> = ffi::MODELS.iter().map(|m| m.name).collect();
            return Err(SimError::NoModel {
                hash,
                built: built.join(", "),
                example: format!("{},mine=mine.toml", names.join(",")),
            });
        };
        // SAFETY: the entry point returns a pointer to a static table.
        let vt: &'static ffi::Vtable = unsafe { &*(model.vtable)() };
        assert!(
            vt.abi_version == ffi::ABI_VERSION
                && vt.vtable_bytes as usize == std::mem::size_of::<ffi::Vtable>()
                && vt.data_bits as usize == model.data_bits
                && model.data_bits == cfg.axi_data_bits(),
            "harness ABI mismatch for model `{}`: csrc/vsim_abi.h and src/ffi.rs disagree",
            model.name
        );
        let mem = Box::into_raw(vec![0u8; mem_bytes].into_boxed_slice()) as *mut u8;
        // SAFETY: `mem` is valid for `mem_bytes` bytes until `Drop`, which destroys the harness first.
        let raw = unsafe { (vt.create)(mem, mem_bytes) };
        let mut sim = Sim {
            handle: NonNull::new(raw).expect("the harness allocates"),
            vt,
            mem: NonNull::new(mem).expect("Box pointers are non-null"),
            mem_len: mem_bytes,
            cfg: cfg.clone(),
            name: model.name,
        };
        sim.set_read_latency(DEFAULT_READ_LATENCY);
        sim.set_write_latency(DEFAULT_WRITE_LATENCY);
        sim.reset();
        let found = sim.axil_read(regmap::CONFIG_HASH.offset);
        if found != hash {
            return Err(SimError::HashMismatch { expected: hash, found });
        }
        Ok(sim)
    }

    fn h(&self) -> *mut c_void {
        self.handle.as_ptr()
    }

    /// The configuration being simulated.
    pub fn config(&self) -> &AccelConfig {
        &self.cfg
    }

    /// Name of the built model (from [`configs::CONFIGS_ENV`]).
    pub fn model_name(&self) -> &'static str {
        self.name
    }

    /// Hold `aresetn` low for [`RESET_CYCLES`] cycles, then run two cycles out of reset (the
    /// core sees reset one cycle late). In-flight DRAM transactions are dropped; the DRAM
    /// content, the knobs and the cycle counter are kept.
    pub fn reset(&mut self) {
        // SAFETY: `handle` is a live harness (for every FFI call below too).
        unsafe { (self.vt.reset)(self.h(), RESET_CYCLES) }
    }

    /// Simulate `cycles` clock cycles.
    pub fn step(&mut self, cycles: u64) {
        unsafe { (self.vt.step)(self.h(), cycles) }
    }

    /// Clock cycles simulated since [`Sim::new`] (reset and AXI4-Lite cycles included).
    pub fn cycle(&self) -> u64 {
        unsafe { (self.vt.cycle)(self.h()) }
    }

    /// Write the 32-bit register at byte `offset` (AW and W together, all byte strobes, then B);
    /// returns after the B handshake.
    ///
    /// # Panics
    /// If `offset` is outside the 4 KiB register window, or the slave does not complete within
    /// [`AXIL_TIMEOUT_CYCLES`] or answers other than OKAY (both hardware bugs).
    pub fn axil_write(&mut self, offset: u32, value: u32) {
        assert!(offset < AXIL_WINDOW, "register offset {offset:#x} outside the {AXIL_WINDOW}-byte AXI4-Lite window");
        let r = unsafe { (self.vt.axil_write)(self.h(), offset, value, AXIL_TIMEOUT_CYCLES) };
        assert!(
            r >= 0,
            "AXI4-Lite write of {value:#x} to {offset:#x}: no response within {AXIL_TIMEOUT_CYCLES} cycles"
        );
        assert_eq!(r, 0, "AXI4-Lite write of {value:#x} to {offset:#x}: BRESP {r}");
    }

    /// Read the 32-bit register at byte `offset` (AR, then R).
    ///
    /// # Panics
    /// As [`Sim::axil_write`].
    pub fn axil_read(&mut self, offset: u32) -> u32 {
        assert!(offset < AXIL_WINDOW, "register offset {offset:#x} outside the {AXIL_WINDOW}-byte AXI4-Lite window");
        let mut v = 0u32;
        let r = unsafe { (self.vt.axil_read)(self.h(), offset, &mut v, AXIL_TIMEOUT_CYCLES) };
        assert!(r >= 0, "AXI4-Lite read of {offset:#x}: no response within {AXIL_TIMEOUT_CYCLES} cycles");
        assert_eq!(r, 0, "AXI4-Lite read of {offset:#x}: RRESP {r}");
        v
    }

    /// The DRAM buffer (byte `a` is DRAM address `a`).
    pub fn mem(&self) -> &[u8] {
        // SAFETY: `mem` points to `mem_len` initialized bytes owned by `self`; the harness only
        // touches them inside `&mut self` calls.
        unsafe { std::slice::from_raw_parts(self.mem.as_ptr(), self.mem_len) }
    }

    /// The DRAM buffer, writable (to place instructions, weights and activations).
    pub fn mem_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `mem`, and `&mut self` excludes every other access.
        unsafe { std::slice::from_raw_parts_mut(self.mem.as_ptr(), self.mem_len) }
    }

    /// Cycles from an AR handshake to the first beat of its burst (0 behaves as 1). Applies to
    /// bursts accepted from now on. Default [`DEFAULT_READ_LATENCY`].
    pub fn set_read_latency(&mut self, cycles: u32) {
        unsafe { (self.vt.set_read_latency)(self.h(), cycles) }
    }

    /// Cycles from the last W beat of a burst to its B response (0 behaves as 1). Default
    /// [`DEFAULT_WRITE_LATENCY`].
    pub fn set_write_latency(&mut self, cycles: u32) {
        unsafe { (self.vt.set_write_latency)(self.h(), cycles) }
    }

    /// Pseudo-random back-pressure: in every cycle, each of ARREADY, AWREADY, WREADY is dropped
    /// and each new R or B beat is held back with probability `percent`/100 (a valid beat, once
    /// shown, stays until taken, as AXI requires). The sequence depends only on `seed` and the
    /// cycles simulated from this call. `percent = 0` turns it off.
    ///
    /// # Panics
    /// If `percent >= 100` (nothing would ever move).
    pub fn set_backpressure(&mut self, seed: u64, percent: u32) {
        assert!(percent < 100, "back-pressure of {percent} % would stall forever");
        unsafe { (self.vt.set_backpressure)(self.h(), seed, percent) }
    }

    /// Start writing a VCD waveform of every signal to `path` (replacing a trace in progress).
    /// Each cycle is 10 time units, `aclk` rising at 5.
    pub fn trace_to(&mut self, path: impl AsRef<Path>) -> Result<(), SimError> {
        let path = path.as_ref();
        let err = || SimError::Trace { path: path.to_path_buf() };
        let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| err())?;
        let r = unsafe { (self.vt.trace_open)(self.h(), c.as_ptr()) };
        if r == 0 {
            Ok(())
        } else {
            Err(err())
        }
    }

    /// Finish and close the VCD file, if one is open.
    pub fn stop_trace(&mut self) {
        unsafe { (self.vt.trace_close)(self.h()) }
    }

    /// Simulate until STATUS.BUSY reads clear, polling STATUS over AXI4-Lite (at once, then
    /// after 8, 16, ... up to [`POLL_CYCLES`] cycles). Starts nothing: write CTRL first.
    /// Returns the cycles simulated, polls included (an upper bound of the run's length, whose
    /// exact count is in CYCLES_LO/HI), or [`SimError::Timeout`] once `timeout_cycles` have passed.
    pub fn run_until_idle(&mut self, timeout_cycles: u64) -> Result<u64, SimError> {
        let start = self.cycle();
        let mut interval = 8;
        loop {
            let st = self.axil_read(regmap::STATUS.offset);
            let elapsed = self.cycle() - start;
            if st & status::BUSY == 0 {
                return Ok(elapsed);
            }
            if elapsed >= timeout_cycles {
                return Err(SimError::Timeout { cycles: elapsed, status: st });
            }
            self.step(interval.min(timeout_cycles - elapsed));
            interval = (interval * 2).min(POLL_CYCLES);
        }
    }

    /// DRAM traffic since [`Sim::new`].
    pub fn mem_stats(&self) -> MemStats {
        let mut s = ffi::Stats::default();
        unsafe { (self.vt.stats)(self.h(), &mut s) };
        MemStats {
            read_bursts: s.read_bursts,
            read_beats: s.read_beats,
            write_bursts: s.write_bursts,
            write_beats: s.write_beats,
            read_errors: s.read_errors,
            write_errors: s.write_errors,
        }
    }

    /// AXI4 protocol violations by the accelerator's master seen so far, described (count and the
    /// first one), or `None`. Checked: INCR bursts of the bus width, beat-aligned, not crossing
    /// 4 KiB; AR/AW/W valid and payload held until ready; WLAST on exactly the last beat.
    pub fn protocol_violations(&self) -> Option<String> {
        let mut buf = [0u8; 512];
        let n = unsafe { (self.vt.violations)(self.h(), buf.as_mut_ptr().cast(), buf.len()) };
        (n > 0).then(|| {
            let msg = std::ffi::CStr::from_bytes_until_nul(&buf).map(|c| c.to_string_lossy().into_owned());
            format!("{n} AXI protocol violation(s) by the accelerator's master; first: {}", msg.unwrap_or_default())
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // SAFETY: the harness is destroyed before the buffer it points into is freed; `mem` came
        // from `Box::into_raw` of a `mem_len`-byte slice.
        unsafe {
            (self.vt.destroy)(self.h());
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.mem.as_ptr(), self.mem_len)));
        }
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("model", &self.name)
            .field("cycle", &self.cycle())
            .field("mem_bytes", &self.mem_len)
            .finish()
    }
}

//! The backends the suite runs on, and the macro that runs a test on each of them.
//!
//! The list of backends is [`on_every_backend!`]: the golden ISA simulator always, the
//! Verilator model of the RTL when the `verilator` feature is on (the default), on Linux
//! with it the emulated board (the board backend against `vitaccel board emulate`), and the
//! same RTL in Icarus Verilog with the feature `icarus-suite` (heavy tier). Adding a
//! backend is a [`Backend`] constant, a [`TestDevice`] implementation for its device, and one
//! line in that macro.

use host::device::golden::GoldenDevice;
use host::device::icarus::{ClockFanout, IcarusDevice, IcarusModel, RamPowerUp};
use host::device::Device;
use spec::AccelConfig;
use std::collections::HashMap;
use std::sync::Mutex;

/// A device under test: the [`Device`] interface plus the test-only knobs a backend may have.
pub trait TestDevice: Device {
    /// Set the DRAM read latency (cycles) and random AXI back-pressure (`percent` of cycles,
    /// from `seed`); `false` when this backend does not model memory timing (it then runs at
    /// the cycle model's default latency, without back-pressure).
    fn set_memory_timing(&mut self, _read_latency: u32, _seed: u64, _percent: u32) -> bool {
        false
    }

    /// AXI protocol violations seen so far, on a backend that watches its bus.
    fn protocol_violations(&mut self) -> Option<String> {
        None
    }
}

impl TestDevice for GoldenDevice {}

#[cfg(feature = "verilator")]
impl TestDevice for host::device::verilator::VerilatorDevice {
    fn set_memory_timing(&mut self, read_latency: u32, seed: u64, percent: u32) -> bool {
        self.sim().set_read_latency(read_latency);
        self.sim().set_backpressure(seed, percent);
        true
    }

    fn protocol_violations(&mut self) -> Option<String> {
        self.sim().protocol_violations()
    }
}

impl TestDevice for IcarusDevice {
    fn set_memory_timing(&mut self, read_latency: u32, seed: u64, percent: u32) -> bool {
        self.set_latency(read_latency, spec::timing::dram::WRITE_LATENCY as u32).expect("icarus bench");
        self.set_backpressure(seed, percent).expect("icarus bench");
        true
    }
}

/// The Icarus program of `cfg`'s generated Verilog with RAMs powering up as `rams`
/// (generated and compiled once per test binary; the compiled program is cached in the target
/// directory across runs).
pub fn icarus_model(cfg: &AccelConfig, fanout: ClockFanout, rams: RamPowerUp) -> IcarusModel {
    type Models = Vec<(u32, ClockFanout, RamPowerUp, IcarusModel)>;
    static MODELS: Mutex<Models> = Mutex::new(Vec::new());
    static VERILOG: Mutex<Option<HashMap<u32, String>>> = Mutex::new(None);
    let mut models = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((.., m)) = models.iter().find(|(h, f, r, _)| *h == cfg.hash() && *f == fanout && *r == rams) {
        return m.clone();
    }
    let verilog = VERILOG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .entry(cfg.hash())
        .or_insert_with(|| hdl::top_verilog(cfg).expect("a valid configuration"))
        .clone();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let m = IcarusModel::compile(cfg, &verilog, fanout, rams, cache).expect("Icarus compiles the generated Verilog");
    eprintln!(
        "icarus: {fanout:?} {rams:?} model of {:#010x} compiled in {:.1} s (0: cached)",
        cfg.hash(),
        m.compile_seconds
    );
    models.push((cfg.hash(), fanout, rams, m.clone()));
    m
}

/// A backend the suite runs on.
pub struct Backend {
    /// Its name, as in the test paths (`models::verilator::...`) and in failure messages.
    pub name: &'static str,
    /// Whether its CYCLES counter is measured on a cycle-accurate model of the hardware (the
    /// cycle model is checked against it) rather than computed by the cycle model itself.
    pub measures_cycles: bool,
    /// How many of the fixture's test images its tests run unless `VITACCEL_COSIM_IMAGES` says
    /// otherwise (`None`: every one).
    default_fixture_images: Option<usize>,
    /// Whether the host refuses an instruction whose DRAM access leaves the device memory
    /// before START (the board backend's relocation) rather than the device answering with an
    /// AXI error.
    pub checks_dram_on_host: bool,
    /// At most this many cases per property test unless `PROPTEST_CASES` says otherwise
    /// (`None`: each test's own default): for a backend that starts a process per case.
    default_max_cases: Option<u32>,
    /// A reset device for a configuration with the given bytes of DRAM.
    open: fn(&AccelConfig, usize) -> Box<dyn TestDevice>,
}

impl Backend {
    /// A reset device for `cfg` with `mem_bytes` of DRAM.
    pub fn open(&self, cfg: &AccelConfig, mem_bytes: usize) -> Box<dyn TestDevice> {
        (self.open)(cfg, mem_bytes)
    }

    /// Whether this is the golden ISA simulator, the reference other backends are compared with.
    pub fn is_reference(&self) -> bool {
        std::ptr::eq(self, &GOLDEN)
    }

    /// How many of `all` fixture test images to run here: every one on a fast backend; on a slow
    /// one `VITACCEL_COSIM_IMAGES` (the heavy tier sets it) or its default.
    pub fn fixture_images(&self, all: usize) -> usize {
        let Some(default) = self.default_fixture_images else { return all };
        let set = std::env::var("VITACCEL_COSIM_IMAGES").ok().and_then(|v| v.parse().ok());
        set.unwrap_or(default).min(all)
    }

    /// Cases of a property test whose default count is `default`: `PROPTEST_CASES` when set
    /// (the heavy tier), else `default`, capped on a backend with a case limit.
    pub fn cases(&self, default: u32) -> u32 {
        match std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()) {
            Some(n) => n,
            None => self.default_max_cases.map_or(default, |max| default.min(max)),
        }
    }
}

/// The golden instruction-set simulator: the reference, always built.
pub static GOLDEN: Backend = Backend {
    name: "golden_isa",
    measures_cycles: false,
    checks_dram_on_host: false,
    default_fixture_images: None,
    default_max_cases: None,
    open: |cfg, mem| Box::new(GoldenDevice::new(cfg, mem)),
};

/// The Verilator model of the generated RTL.
#[cfg(feature = "verilator")]
pub static VERILATOR: Backend = Backend {
    name: "verilator",
    measures_cycles: true,
    checks_dram_on_host: false,
    default_fixture_images: Some(8),
    default_max_cases: None,
    open: |cfg, mem| {
        let dev = host::device::verilator::VerilatorDevice::new(cfg, mem);
        Box::new(dev.expect("the Verilator model of this configuration is built"))
    },
};

#[cfg(all(feature = "verilator", target_os = "linux"))]
impl TestDevice for crate::emulated::EmulatedBoard {}

/// The board backend, unchanged, against `vitaccel board emulate` (the Verilator model in
/// another process, behind files standing for the UIO window and the u-dma-buf): one emulator
/// process per device, so few cases by default.
#[cfg(all(feature = "verilator", target_os = "linux"))]
pub static EMULATED_BOARD: Backend = Backend {
    name: "emulated_board",
    measures_cycles: true,
    checks_dram_on_host: true,
    default_fixture_images: Some(2),
    default_max_cases: Some(3),
    open: |cfg, mem| Box::new(crate::emulated::EmulatedBoard::new(cfg, mem)),
};

/// The generated Verilog in Icarus Verilog (one `vvp` process per device, a few hundred cycles
/// per second): few cases and images unless the environment says.
#[cfg(feature = "icarus-suite")]
pub static ICARUS: Backend = Backend {
    name: "icarus",
    measures_cycles: true,
    checks_dram_on_host: false,
    default_fixture_images: Some(1),
    default_max_cases: Some(2),
    open: |cfg, mem| {
        let model = icarus_model(cfg, ClockFanout::Hoisted, RamPowerUp::Zero);
        Box::new(IcarusDevice::new(&model, mem).expect("the Icarus bench starts"))
    },
};

/// Expands the items once per built backend, in a module named for the backend (so a test
/// `fixture` in `models` runs as `models::golden_isa::fixture` and `models::verilator::fixture`),
/// with `$b` bound to that [`Backend`]. Write the test bodies as calls of functions of the
/// enclosing module that take the backend: the items see that module through `use super::*`,
/// so a test must not share a name with the function it calls.
///
/// This is the one list of backends.
macro_rules! on_every_backend {
    ($b:ident => { $($items:tt)* }) => {
        on_every_backend!(@each $b [$($items)*]
            golden_isa: crate::common::GOLDEN, all();
            verilator: crate::common::VERILATOR, feature = "verilator";
            emulated_board: crate::common::EMULATED_BOARD, all(feature = "verilator", target_os = "linux");
            icarus: crate::common::ICARUS, feature = "icarus-suite";
        );
    };
    (@each $b:ident $items:tt $($name:ident: $backend:path, $cfg:meta;)*) => {
        $(
            #[cfg($cfg)]
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[allow(dead_code)]
                static $b: &crate::common::Backend = &$backend;
                on_every_backend!(@items $items);
            }
        )*
    };
    (@items [$($items:tt)*]) => { $($items)* };
}

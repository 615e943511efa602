//! `vitaccel run`: compile a workload, run it on a backend, check it bit for bit against the
//! golden model and report cycles and PE utilization.

use anyhow::{bail, Result};
use golden::synth::Rng;
use host::compile::{chain_reference, compile_chain};
use host::device::golden::GoldenDevice;
#[cfg(feature = "verilator")]
use host::device::verilator::VerilatorDevice;
use host::device::{self, Device};
use host::testkit::{random_i8, random_linear};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod model;
pub mod shard;
pub mod summary;
mod workers;

/// Backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum Backend {
    /// The instruction-set simulator on the golden model's kernels.
    Golden,
    /// The generated RTL in Verilator.
    Verilator,
    /// The bitstream on a Zynq UltraScale+ board (UIO + u-dma-buf; `vitaccel board load` first).
    Board,
}

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Where to run.
    #[arg(long, value_enum, default_value = "golden")]
    backend: Backend,
    /// Accelerator config (TOML/JSON); default 16x16 otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A whole model (quantized, or float with --calib) to run on every image of --images;
    /// without it a chain of random linear layers runs (--chain).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Image set for --model (labels enable accuracy).
    #[arg(long)]
    images: Option<PathBuf>,
    /// Calibration set: quantize a float --model in memory (float accuracy is reported too).
    #[arg(long)]
    calib: Option<PathBuf>,
    /// Run only the first N images of --images.
    #[arg(long)]
    limit: Option<usize>,
    /// With --model: device instances running images in parallel (one model per thread); default:
    /// the cores (`board`: 1, its only device). The report does not depend on it.
    #[arg(long, requires = "model")]
    jobs: Option<std::num::NonZeroUsize>,
    /// With --model: run only shard K of N (K counts from 0) of the images (after --limit):
    /// contiguous blocks, images K*T/N .. (K+1)*T/N of T. Merge the JSON reports with `vitaccel merge`.
    #[arg(long, requires = "model", value_name = "K/N")]
    shard: Option<shard::Shard>,
    /// A chain of random linear layers: M,K,N1[,N2...] (M token rows, K inputs, then layer widths).
    #[arg(long, value_delimiter = ',', default_value = "197,192,768,192")]
    chain: Vec<usize>,
    /// Seed of the random weights and inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Host-side timeout.
    #[arg(long, default_value_t = 600)]
    timeout_s: u64,
    /// Write a VCD waveform (verilator backend).
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// With --model: skip the model's token selectors (every token stays live).
    #[arg(long)]
    no_prune: bool,
    /// Board backend: root of the board's /sys and /dev; default $VITACCEL_SYSFS_ROOT, else /.
    #[arg(long)]
    sysfs_root: Option<PathBuf>,
    /// Board backend: map the u-dma-buf uncached (O_SYNC) instead of cached with explicit syncs.
    #[arg(long)]
    uncached: bool,
    /// Board backend: wait on the UIO interrupt instead of polling STATUS (needs a top with `irq`).
    #[arg(long)]
    irq: bool,
}

/// How to open the board backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct BoardArgs<'a> {
    /// Root of /sys and /dev.
    pub sysfs_root: Option<&'a Path>,
    /// Uncached u-dma-buf.
    pub uncached: bool,
    /// Interrupt wait.
    pub irq: bool,
}

impl Args {
    fn board(&self) -> BoardArgs<'_> {
        BoardArgs { sysfs_root: self.sysfs_root.as_deref(), uncached: self.uncached, irq: self.irq }
    }
}

/// Result of one run.
#[derive(Serialize)]
pub struct RunReport {
    /// Backend.
    pub backend: Backend,
    /// Array size.
    pub array: (usize, usize),
    /// Layer shapes (M, K, N).
    pub layers: Vec<(usize, usize, usize)>,
    /// Device counters.
    pub stats: device::RunStats,
    /// Cycles predicted by the analytic model.
    pub model_cycles: u64,
    /// `(stats.cycles - model) / model` in percent.
    pub model_error_percent: f64,
    /// Multiply-accumulates of the workload.
    pub macs: u64,
    /// `macs / (PEs * cycles)` in percent.
    pub utilization_percent: f64,
    /// Result equals the golden model exactly.
    pub bit_exact: bool,
}

/// Open a backend with `mem` bytes of device memory (the board as `board` says).
pub fn open(backend: Backend, cfg: &spec::AccelConfig, mem: usize, board: BoardArgs) -> Result<Box<dyn Device>> {
    Ok(match backend {
        Backend::Golden => Box::new(GoldenDevice::new(cfg, mem)),
        Backend::Board => open_board(cfg, mem, board)?,
        #[cfg(feature = "verilator")]
        Backend::Verilator => Box::new(VerilatorDevice::new(cfg, mem)?),
        #[cfg(not(feature = "verilator"))]
        Backend::Verilator => bail!(super::NO_VERILATOR),
    })
}

/// The board, if its u-dma-buf holds `mem` bytes.
#[cfg(target_os = "linux")]
fn open_board(cfg: &spec::AccelConfig, mem: usize, board: BoardArgs) -> Result<Box<dyn Device>> {
    use host::device::board::{layout::Layout, BoardDevice, BoardOptions, CacheMode, WaitMode};
    let opts = BoardOptions {
        cache: if board.uncached { CacheMode::Uncached } else { CacheMode::Cached },
        wait: if board.irq { WaitMode::Interrupt } else { WaitMode::Poll },
        ..BoardOptions::default()
    };
    let dev = BoardDevice::open(&Layout::from_env(board.sysfs_root), cfg, opts)?;
    if dev.buffer().size < mem as u64 {
        bail!(
            "the board's u-dma-buf has {} bytes, the program needs {mem}: regenerate the overlay with \
             `vitaccel bitstream --model`",
            dev.buffer().size
        );
    }
    Ok(Box::new(dev))
}

/// The board backend is Linux only.
#[cfg(not(target_os = "linux"))]
fn open_board(_: &spec::AccelConfig, _: usize, board: BoardArgs) -> Result<Box<dyn Device>> {
    let _ = (board.sysfs_root, board.uncached, board.irq);
    bail!("the board backend needs Linux (UIO, u-dma-buf)")
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    if a.model.is_some() {
        return model::run_model(a);
    }
    let cfg = super::config(a.config.as_deref())?;
    if a.chain.len() < 3 {
        bail!("--chain needs M,K and at least one layer width");
    }
    if let Some(i) = a.chain.iter().position(|&d| d == 0) {
        bail!(
            "--chain {:?}: entry {i} is 0; every size (token rows, inputs, layer widths) must be at least 1",
            a.chain
        );
    }
    let (m, dims) = (a.chain[0], &a.chain[1..]);
    let mut rng = Rng::new(a.seed);
    let layers: Vec<_> = dims.windows(2).map(|d| random_linear(&mut rng, d[0], d[1])).collect();
    let x = random_i8(&mut rng, m, dims[0]);
    let prog = compile_chain(&layers, &x, &cfg)?;
    let mut dev: Box<dyn Device> = match (&a.vcd, a.backend) {
        #[cfg(feature = "verilator")]
        (Some(vcd), Backend::Verilator) => {
            let mut v = VerilatorDevice::new(&cfg, prog.dram_bytes as usize)?;
            v.trace_to(vcd)?;
            Box::new(v)
        }
        #[cfg(not(feature = "verilator"))]
        (Some(_), Backend::Verilator) => bail!(super::NO_VERILATOR),
        (Some(_), Backend::Golden | Backend::Board) => bail!("--vcd needs the verilator backend"),
        (None, b) => open(b, &cfg, prog.dram_bytes as usize, a.board())?,
    };
    let stats = device::run(dev.as_mut(), &prog, Duration::from_secs(a.timeout_s))?;
    let got = device::read_outputs(dev.as_mut(), &prog)?.remove(0);
    let want = chain_reference(&layers, &x).mapv(|v| v as u8);
    let bit_exact = got == want;
    let model = host::cycle_model::CycleModel::new(&cfg);
    let model_cycles = model.program(&prog.insns).0;
    let macs: u64 = layers.iter().map(|l| (m * l.in_dim() * l.out_dim()) as u64).sum();
    let report = RunReport {
        backend: a.backend,
        array: (cfg.array_rows, cfg.array_cols),
        layers: layers.iter().map(|l| (m, l.in_dim(), l.out_dim())).collect(),
        model_cycles,
        model_error_percent: 100.0 * (stats.cycles as f64 - model_cycles as f64) / model_cycles as f64,
        macs,
        utilization_percent: 100.0 * macs as f64 / (cfg.pes() as f64 * stats.cycles as f64),
        bit_exact,
        stats,
    };
    println!("{:?} backend, {}x{} array, chain {:?}:", report.backend, cfg.array_rows, cfg.array_cols, report.layers);
    println!(
        "  {} cycles (model {}, {:+.2} %), {} active, {} instructions, wall {:.3} s",
        report.stats.cycles,
        report.model_cycles,
        report.model_error_percent,
        report.stats.active_cycles,
        report.stats.insns,
        report.stats.wall_seconds
    );
    println!("  {} MACs, PE utilization {:.2} %", report.macs, report.utilization_percent);
    println!("  output {} the golden model", if bit_exact { "EQUALS" } else { "DIFFERS FROM" });
    if let Some(p) = &a.json {
        super::write_json(p, &report)?;
    }
    if !bit_exact {
        bail!("bit-exactness check failed");
    }
    Ok(())
}

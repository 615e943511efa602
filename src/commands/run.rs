//! `vitaccel run`: compile a workload, run it on a backend, check it bit for bit against the
//! golden model and report cycles and PE utilization.

use anyhow::{bail, Result};
use golden::synth::Rng;
use host::compile::{chain_reference, compile_chain};
use host::device::golden::GoldenDevice;
use host::device::verilator::VerilatorDevice;
use host::device::{self, Device};
use host::testkit::{random_i8, random_linear};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Backend {
    /// The instruction-set simulator on the golden model's kernels.
    Golden,
    /// The generated RTL in Verilator.
    Verilator,
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

/// Open a backend.
pub fn open(backend: Backend, cfg: &spec::AccelConfig, mem: usize) -> Result<Box<dyn Device>> {
    Ok(match backend {
        Backend::Golden => Box::new(GoldenDevice::new(cfg, mem)),
        Backend::Verilator => Box::new(VerilatorDevice::new(cfg, mem)?),
    })
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    if a.chain.len() < 3 {
        bail!("--chain needs M,K and at least one layer width");
    }
    let (m, dims) = (a.chain[0], &a.chain[1..]);
    let mut rng = Rng::new(a.seed);
    let layers: Vec<_> = dims.windows(2).map(|d| random_linear(&mut rng, d[0], d[1])).collect();
    let x = random_i8(&mut rng, m, dims[0]);
    let prog = compile_chain(&layers, &x, &cfg)?;
    let mut dev: Box<dyn Device> = match (&a.vcd, a.backend) {
        (Some(vcd), Backend::Verilator) => {
            let mut v = VerilatorDevice::new(&cfg, prog.dram_bytes as usize)?;
            v.trace_to(vcd)?;
            Box::new(v)
        }
        (Some(_), Backend::Golden) => bail!("--vcd needs the verilator backend"),
        (None, b) => open(b, &cfg, prog.dram_bytes as usize)?,
    };
    let stats = device::run(dev.as_mut(), &prog, Duration::from_secs(a.timeout_s))?;
    let got = device::read_outputs(dev.as_mut(), &prog)?.remove(0);
    let want = chain_reference(&layers, &x).mapv(|v| v as u8);
    let bit_exact = got == want;
    let model = host::cycle_model::CycleModel::new(&cfg);
    let model_cycles: u64 = prog.insns.iter().map(|i| model.insn(i).0).sum();
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

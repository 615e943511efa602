//! `vitaccel bench gemm`: the GEMM engine on the RTL, one linear layer after another.

use super::common;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `vitaccel bench gemm` (its help text is on `bench::What::Gemm`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// M,K,N1[,N2...]: DeiT-Tiny's MLP by default.
    #[arg(long, value_delimiter = ',', default_value = "197,192,768,192")]
    pub chain: Vec<usize>,
    /// Accelerator config (default 16x16).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// JSON output.
    #[arg(long, default_value = "out/bench/gemm.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let args = format!(" --chain {}{}", common::list_arg(&self.chain), common::config_arg(self.config.as_deref()));
        common::command_line("gemm", &args, &self.json)
    }
}

/// Figures of one layer.
#[derive(Serialize, Deserialize)]
pub struct LayerFigures {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub cycles: u64,
    pub model_cycles: u64,
    pub model_error_percent: f64,
    pub utilization_percent: f64,
}

/// `gemm.json`.
#[derive(Serialize, Deserialize)]
pub struct GemmBench {
    pub array: (usize, usize),
    pub layers: Vec<LayerFigures>,
    pub total_cycles: u64,
    pub gemm_cycles: u64,
    pub macs: u64,
    pub gemm_utilization_percent: f64,
    pub program_utilization_percent: f64,
    pub bit_exact: bool,
    pub simulated_cycles_per_second: f64,
    pub simulation_wall_seconds: f64,
    pub verilator_build_seconds: (f64, f64, f64),
    pub projected_ms_at_clock: f64,
    pub clock_mhz: f64,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let cfg = common::config(a.config.as_deref())?;
    anyhow::ensure!(a.chain.len() >= 3, "--chain needs M,K and at least one width");
    let mut r = measure_rtl(&a.chain, &cfg)?;
    r.command = a.command_line();
    print(&r, &a.chain);
    common::save_json(&a.json, &r)?;
    anyhow::ensure!(r.bit_exact, "RTL output differs from the golden model");
    Ok(())
}

/// Run the chain on the RTL, each instruction alone for its own cycle count (needs Verilator).
/// Without the Verilator backend there is no RTL to measure.
#[cfg(not(feature = "verilator"))]
fn measure_rtl(_chain: &[usize], _cfg: &spec::AccelConfig) -> Result<GemmBench> {
    anyhow::bail!(crate::commands::NO_VERILATOR)
}

#[cfg(feature = "verilator")]
fn measure_rtl(chain: &[usize], cfg: &spec::AccelConfig) -> Result<GemmBench> {
    use common::{latency_ms, utilization_percent};
    use host::device::{run as run_program, Device};
    use std::time::Instant;
    let m = chain[0];
    let mut rng = golden::synth::Rng::new(1);
    let layers: Vec<_> = chain[1..].windows(2).map(|d| host::testkit::random_linear(&mut rng, d[0], d[1])).collect();
    let x = host::testkit::random_i8(&mut rng, m, chain[1]);
    let prog = host::compile::compile_chain(&layers, &x, cfg)?;
    let mut dev = common::rtl_device(cfg, &prog)?;
    let model = host::cycle_model::CycleModel::new(cfg);
    let t0 = Instant::now();
    let c0 = dev.sim().cycle();
    let (mut total, mut figures) = (0u64, Vec::new());
    for (i, insn) in prog.insns.iter().enumerate() {
        let st = run_program(&mut dev as &mut dyn Device, &prog.alone(i), common::RTL_TIMEOUT)?;
        total += st.cycles;
        if let spec::isa::Op::Gemm(g) = insn.op {
            let predicted = model.insn(insn).0;
            let macs = g.m as u64 * g.k as u64 * g.n as u64;
            figures.push(LayerFigures {
                m: g.m as usize,
                k: g.k as usize,
                n: g.n as usize,
                cycles: st.cycles,
                model_cycles: predicted,
                model_error_percent: 100.0 * (st.cycles as f64 - predicted as f64) / predicted as f64,
                utilization_percent: utilization_percent(macs, cfg.pes(), st.cycles),
            });
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let sim_cycles = dev.sim().cycle() - c0;
    let got = host::device::read_outputs(&mut dev as &mut dyn Device, &prog)?.remove(0);
    let bit_exact = got == host::compile::chain_reference(&layers, &x).mapv(|v| v as u8);
    let macs: u64 = figures.iter().map(|f| (f.m * f.k * f.n) as u64).sum();
    let gemm_cycles: u64 = figures.iter().map(|f| f.cycles).sum();
    let build = sim::built_models()
        .into_iter()
        .find(|b| &b.config == cfg)
        .map(|b| (b.build_seconds[0], b.build_seconds[1], b.build_seconds[2]))
        .unwrap_or_default();
    Ok(GemmBench {
        array: (cfg.array_rows, cfg.array_cols),
        layers: figures,
        total_cycles: total,
        gemm_cycles,
        macs,
        gemm_utilization_percent: utilization_percent(macs, cfg.pes(), gemm_cycles),
        program_utilization_percent: utilization_percent(macs, cfg.pes(), total),
        bit_exact,
        simulated_cycles_per_second: sim_cycles as f64 / wall,
        simulation_wall_seconds: wall,
        verilator_build_seconds: build,
        projected_ms_at_clock: latency_ms(total, cfg.clock_mhz),
        clock_mhz: cfg.clock_mhz,
        command: String::new(),
    })
}

fn print(r: &GemmBench, chain: &[usize]) {
    println!("GEMM engine on the RTL ({}x{} array), chain {:?}:", r.array.0, r.array.1, chain);
    for l in &r.layers {
        println!(
            "  {:>4} x {:>4} -> {:>4}: {:>8} cycles (model {:>8}, {:+.2} %), PE utilization {:.2} %",
            l.m, l.k, l.n, l.cycles, l.model_cycles, l.model_error_percent, l.utilization_percent
        );
    }
    println!(
        "  GEMMs {} cycles, PE utilization {:.2} % (target >= 85 %); whole program {} cycles ({:.2} % incl. LOAD/STORE)",
        r.gemm_cycles, r.gemm_utilization_percent, r.total_cycles, r.program_utilization_percent
    );
    println!("  output {} the golden model", if r.bit_exact { "EQUALS" } else { "DIFFERS FROM" });
    println!(
        "  simulated {:.0} cycles/s ({:.2} s wall); {:.3} ms at {} MHz",
        r.simulated_cycles_per_second, r.simulation_wall_seconds, r.projected_ms_at_clock, r.clock_mhz
    );
    let b = r.verilator_build_seconds;
    println!(
        "  Verilator model build (from the sim crate's build): generate {:.2} s, verilator {:.2} s, g++ -O2 {:.1} s",
        b.0, b.1, b.2
    );
}

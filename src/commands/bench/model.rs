//! `vitaccel bench model`: a whole synthetic model on the RTL, and its projection to other
//! array sizes with the cycle model.

use super::common::{self, latency_ms, utilization_percent};
use super::plot;
use crate::commands::synth::Shape;
use anyhow::Result;
use golden::ForwardOptions;
use host::cycle_model::CycleModel;
use host::device::golden::schedule;
use host::model_compile::{compile_model, ModelOptions};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `vitaccel bench model` (its help text is on `bench::What::Model`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Shape.
    #[arg(long, value_enum, default_value = "deit-tiny")]
    pub shape: Shape,
    /// Accelerator config to simulate (default 16x16).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Configs to project with the cycle model.
    #[arg(long, value_delimiter = ',', default_value = "configs/32x32.toml,configs/64x32.toml")]
    pub project: Vec<PathBuf>,
    /// JSON output (the plot goes beside it, as .png and .svg).
    #[arg(long, default_value = "out/bench/model.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let project: Vec<_> = self.project.iter().map(|p| p.display().to_string()).collect();
        let args = format!(
            " --shape {}{} --project {}",
            common::shape_arg(self.shape),
            common::config_arg(self.config.as_deref()),
            project.join(",")
        );
        common::command_line("model", &args, &self.json)
    }
}

/// `model.json`: figures of one whole-model run.
#[derive(Serialize, Deserialize)]
pub struct ModelBench {
    pub shape: String,
    pub array: (usize, usize),
    pub clock_mhz: f64,
    pub instructions: usize,
    pub macs: u64,
    pub rtl_cycles: u64,
    pub rtl_active_cycles: u64,
    pub rtl_unit_busy_cycles: [u64; 3],
    pub utilization_percent: f64,
    pub latency_ms: f64,
    pub bit_exact: bool,
    pub model_cycles: u64,
    pub model_error_percent: f64,
    /// Unit busy cycles by layer type (cycle model), GEMM types on the GEMM unit.
    pub cycles_by_layer: Vec<(String, u64)>,
    pub verilator_seconds: f64,
    pub simulated_cycles_per_second: f64,
    pub projections: Vec<Projection>,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
}

/// The cycle model's figures for another config.
#[derive(Serialize, Deserialize)]
pub struct Projection {
    pub config: String,
    pub array: (usize, usize),
    pub clock_mhz: f64,
    pub cycles: u64,
    pub latency_ms: f64,
    pub utilization_percent: f64,
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let cfg = common::config(a.config.as_deref())?;
    let sh = a.shape.shape(&[]);
    let (im, imgs) = common::synthetic(&sh)?;
    let macs = sh.macs_dense() as u64;
    let cm = compile_model(&im, &cfg, ModelOptions::default())?;
    let (run, wall) = common::run_image_rtl(&cfg, &cm, &im, &imgs[0])?;
    let want = im.forward(&imgs[0], &ForwardOptions { prune: false }, None);
    let bit_exact = run.logits == want.logits;
    let model = CycleModel::new(&cfg);
    let sched = schedule(&model, &cm.program.insns);
    let by = common::cycles_by_layer(&model, &cm.program.insns, &cm.layer_of);
    let cycles = run.stats.cycles;
    let mut projections = vec![];
    for p in &a.project {
        let pc = spec::AccelConfig::load(p)?;
        let pcm = compile_model(&im, &pc, ModelOptions::default())?;
        let s = schedule(&CycleModel::new(&pc), &pcm.program.insns);
        projections.push(Projection {
            config: p.display().to_string(),
            array: (pc.array_rows, pc.array_cols),
            clock_mhz: pc.clock_mhz,
            cycles: s.cycles,
            latency_ms: latency_ms(s.cycles, pc.clock_mhz),
            utilization_percent: utilization_percent(macs, pc.pes(), s.cycles),
        });
    }
    let r = ModelBench {
        shape: format!("{:?}", a.shape),
        array: (cfg.array_rows, cfg.array_cols),
        clock_mhz: cfg.clock_mhz,
        instructions: cm.program.insns.len(),
        macs,
        rtl_cycles: cycles,
        rtl_active_cycles: run.stats.active_cycles,
        rtl_unit_busy_cycles: run.stats.unit_busy,
        utilization_percent: utilization_percent(macs, cfg.pes(), cycles),
        latency_ms: latency_ms(cycles, cfg.clock_mhz),
        bit_exact,
        model_cycles: sched.cycles,
        model_error_percent: 100.0 * (sched.cycles as f64 - cycles as f64) / cycles as f64,
        cycles_by_layer: by.into_iter().collect(),
        verilator_seconds: wall,
        simulated_cycles_per_second: cycles as f64 / wall,
        projections,
        command: a.command_line(),
    };
    print(&r);
    common::save_json(&a.json, &r)?;
    let files = plot::save_bars(&chart(&r), &common::plot_stem(&a.json))?;
    println!("  plotted {}", plot::names(&files));
    anyhow::ensure!(bit_exact, "RTL logits differ from the golden model");
    Ok(())
}

fn print(r: &ModelBench) {
    println!(
        "{} on the RTL ({}x{} array, {} instructions, no token pruning):",
        r.shape, r.array.0, r.array.1, r.instructions
    );
    println!(
        "  {} cycles ({:.3} ms at {} MHz), {} MACs, PE utilization {:.2} %, logits {} golden",
        r.rtl_cycles,
        r.latency_ms,
        r.clock_mhz,
        r.macs,
        r.utilization_percent,
        if r.bit_exact { "EQUAL" } else { "DIFFER FROM" }
    );
    println!(
        "  unit busy cycles: DMA {}, GEMM {}, vector {}",
        r.rtl_unit_busy_cycles[0], r.rtl_unit_busy_cycles[1], r.rtl_unit_busy_cycles[2]
    );
    println!("  cycle model {} ({:+.2} % vs RTL); unit cycles by layer type:", r.model_cycles, r.model_error_percent);
    for (k, v) in &r.cycles_by_layer {
        println!("    {k:<11} {v:>10}");
    }
    println!("  Verilator: {:.1} s wall, {:.0} simulated cycles/s", r.verilator_seconds, r.simulated_cycles_per_second);
    for p in &r.projections {
        println!(
            "  projected {}x{} ({}): {} cycles, {:.3} ms at {} MHz, utilization {:.2} %",
            p.array.0, p.array.1, p.config, p.cycles, p.latency_ms, p.clock_mhz, p.utilization_percent
        );
    }
}

/// Unit busy cycles by layer type, largest first.
fn chart(r: &ModelBench) -> plot::BarChart {
    plot::BarChart {
        title: format!("{} on {}x{}: unit busy cycles by layer type", r.shape, r.array.0, r.array.1),
        value_label: "unit busy cycles (thousands)".into(),
        category_label: "layer type".into(),
        bars: {
            let mut bars: Vec<_> = r.cycles_by_layer.iter().map(|(k, v)| (k.clone(), *v as f64 / 1e3)).collect();
            bars.sort_by(|a, b| b.1.total_cmp(&a.1));
            bars
        },
    }
}

//! `vitaccel bench`: benchmarks that print and save figures (never timed tests).

use crate::commands::synth::Shape;
use anyhow::Result;
use golden::synth::{random_images, random_model};
use golden::ForwardOptions;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// GEMM engine on the RTL (Verilator): a chain of linear layers, per-layer cycles, PE
    /// utilization, model agreement, simulation speed and the Verilator build time.
    Gemm {
        /// M,K,N1[,N2...]: DeiT-Tiny's MLP by default.
        #[arg(long, value_delimiter = ',', default_value = "197,192,768,192")]
        chain: Vec<usize>,
        /// Accelerator config (default 16x16).
        #[arg(long)]
        config: Option<PathBuf>,
        /// JSON output.
        #[arg(long, default_value = "out/bench/gemm.json")]
        json: PathBuf,
    },
    /// Integer golden-model inference time on a synthetic model.
    Golden {
        /// Shape.
        #[arg(long, value_enum, default_value = "deit-tiny")]
        shape: Shape,
        /// Timed images.
        #[arg(long, default_value_t = 5)]
        images: usize,
        /// 0-based selector positions (empty: none).
        #[arg(long, value_delimiter = ',', default_value = "3,6,9")]
        selectors: Vec<usize>,
        /// JSON output.
        #[arg(long, default_value = "out/bench/golden.json")]
        json: PathBuf,
    },
}

#[derive(Serialize)]
struct GoldenBench {
    shape: String,
    params: usize,
    macs_dense: usize,
    images: usize,
    mean_live_tokens: Vec<f64>,
    int_seconds_per_image: f64,
    int_gmacs_per_second: f64,
    int_dense_seconds_per_image: f64,
    int_dense_gmacs_per_second: f64,
    float_seconds_per_image: f64,
    quantize_seconds: f64,
    threads: usize,
    profile: &'static str,
}

#[derive(Serialize)]
struct LayerFigures {
    m: usize,
    k: usize,
    n: usize,
    cycles: u64,
    model_cycles: u64,
    model_error_percent: f64,
    utilization_percent: f64,
}

#[derive(Serialize)]
struct GemmBench {
    array: (usize, usize),
    layers: Vec<LayerFigures>,
    total_cycles: u64,
    gemm_cycles: u64,
    macs: u64,
    gemm_utilization_percent: f64,
    program_utilization_percent: f64,
    bit_exact: bool,
    simulated_cycles_per_second: f64,
    simulation_wall_seconds: f64,
    verilator_build_seconds: (f64, f64, f64),
    projected_ms_at_clock: f64,
    clock_mhz: f64,
}

fn bench_gemm(chain: &[usize], config: Option<&std::path::Path>, json: &std::path::Path) -> Result<()> {
    use host::device::{run as run_program, verilator::VerilatorDevice, Device};
    use host::program::Program;
    use spec::isa::Insn;
    let cfg = super::config(config)?;
    anyhow::ensure!(chain.len() >= 3, "--chain needs M,K and at least one width");
    let m = chain[0];
    let mut rng = golden::synth::Rng::new(1);
    let layers: Vec<_> = chain[1..].windows(2).map(|d| host::testkit::random_linear(&mut rng, d[0], d[1])).collect();
    let x = host::testkit::random_i8(&mut rng, m, chain[1]);
    let prog = host::compile::compile_chain(&layers, &x, &cfg)?;
    let mut dev = VerilatorDevice::new(&cfg, prog.dram_bytes as usize)?;
    let model = host::cycle_model::CycleModel::new(&cfg);
    let t0 = Instant::now();
    let c0 = dev.sim().cycle();
    let (mut total, mut figures) = (0u64, Vec::new());
    for (i, insn) in prog.insns.iter().enumerate() {
        let single = Program {
            insns: vec![*insn],
            segments: if i == 0 { prog.segments.clone() } else { vec![] },
            ..prog.clone()
        };
        let st = run_program(&mut dev as &mut dyn Device, &single, std::time::Duration::from_secs(3600))?;
        total += st.cycles;
        if let Insn::Gemm(g) = insn {
            let predicted = model.insn(insn).0;
            let macs = g.m as u64 * g.k as u64 * g.n as u64;
            figures.push(LayerFigures {
                m: g.m as usize,
                k: g.k as usize,
                n: g.n as usize,
                cycles: st.cycles,
                model_cycles: predicted,
                model_error_percent: 100.0 * (st.cycles as f64 - predicted as f64) / predicted as f64,
                utilization_percent: 100.0 * macs as f64 / (cfg.pes() as f64 * st.cycles as f64),
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
        .find(|b| b.config == cfg)
        .map(|b| (b.build_seconds[0], b.build_seconds[1], b.build_seconds[2]))
        .unwrap_or_default();
    let r = GemmBench {
        array: (cfg.array_rows, cfg.array_cols),
        layers: figures,
        total_cycles: total,
        gemm_cycles,
        macs,
        gemm_utilization_percent: 100.0 * macs as f64 / (cfg.pes() as f64 * gemm_cycles as f64),
        program_utilization_percent: 100.0 * macs as f64 / (cfg.pes() as f64 * total as f64),
        bit_exact,
        simulated_cycles_per_second: sim_cycles as f64 / wall,
        simulation_wall_seconds: wall,
        verilator_build_seconds: build,
        projected_ms_at_clock: total as f64 / (cfg.clock_mhz * 1e3),
        clock_mhz: cfg.clock_mhz,
    };
    println!("GEMM engine on the RTL ({}x{} array), chain {:?}:", cfg.array_rows, cfg.array_cols, chain);
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
    println!("  output {} the golden model", if bit_exact { "EQUALS" } else { "DIFFERS FROM" });
    println!(
        "  simulated {:.0} cycles/s ({:.2} s wall); {:.3} ms at {} MHz",
        r.simulated_cycles_per_second, wall, r.projected_ms_at_clock, cfg.clock_mhz
    );
    println!(
        "  Verilator model build (from the sim crate's build): generate {:.2} s, verilator {:.2} s, g++ -O2 {:.1} s",
        build.0, build.1, build.2
    );
    super::write_json(json, &r)?;
    println!("  saved {}", json.display());
    anyhow::ensure!(bit_exact, "RTL output differs from the golden model");
    Ok(())
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    match a.what {
        What::Gemm { chain, config, json } => bench_gemm(&chain, config.as_deref(), &json),
        What::Golden { shape, images, selectors, json } => {
            let sh = shape.shape(&selectors);
            let fm = random_model(&sh, 0, 0.0);
            let imgs = random_images(&sh, images.max(1) + 2, 1);
            let t = Instant::now();
            let (im, _, _) = super::quantize::calibrate_and_quantize(&fm, &imgs[images..])?;
            let quantize_seconds = t.elapsed().as_secs_f64();
            let opts = ForwardOptions::default();
            im.forward(&imgs[0], &opts, None); // warm-up
            let t = Instant::now();
            let outs: Vec<_> = imgs[..images].iter().map(|img| im.forward(img, &opts, None)).collect();
            let int_s = t.elapsed().as_secs_f64() / images as f64;
            let dense = ForwardOptions { prune: false };
            let t = Instant::now();
            imgs[..images].iter().for_each(|img| drop(im.forward(img, &dense, None)));
            let dense_s = t.elapsed().as_secs_f64() / images as f64;
            let t = Instant::now();
            fm.forward(&imgs[0], &opts, None);
            let float_s = t.elapsed().as_secs_f64();
            let macs = outs.iter().map(|o| sh.macs(&o.live) as f64).sum::<f64>() / images as f64;
            let mean_live = (0..sh.blocks.len())
                .map(|b| outs.iter().map(|o| o.live[b] as f64).sum::<f64>() / images as f64)
                .collect();
            let r = GoldenBench {
                shape: format!("{shape:?}"),
                params: sh.params(),
                macs_dense: sh.macs_dense(),
                images,
                mean_live_tokens: mean_live,
                int_seconds_per_image: int_s,
                int_gmacs_per_second: macs / int_s / 1e9,
                int_dense_seconds_per_image: dense_s,
                int_dense_gmacs_per_second: sh.macs_dense() as f64 / dense_s / 1e9,
                float_seconds_per_image: float_s,
                quantize_seconds,
                threads: 1,
                profile: if cfg!(debug_assertions) { "debug" } else { "release" },
            };
            println!(
                "golden integer inference, {:?} ({} params, {:.3} GMACs dense):",
                shape,
                r.params,
                r.macs_dense as f64 / 1e9
            );
            println!(
                "  all tokens: {:.3} s per image ({:.2} GMAC/s, single thread, {} build), target < 1 s",
                dense_s, r.int_dense_gmacs_per_second, r.profile
            );
            println!("  with the selectors' pruning: {:.3} s per image ({:.2} GMAC/s)", int_s, r.int_gmacs_per_second);
            println!(
                "  float reference {:.3} s per image; calibration + quantization {:.2} s",
                float_s, quantize_seconds
            );
            println!("  live tokens per block: {:?}", r.mean_live_tokens);
            super::write_json(&json, &r)?;
            println!("  saved {}", json.display());
            Ok(())
        }
    }
}

//! `vitaccel bench`: benchmarks that print and save figures (never timed tests).
#![cfg_attr(not(feature = "verilator"), allow(dead_code, unused_imports))]

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
    /// A whole synthetic model (seeded random weights) on the RTL in Verilator: cycles, cycles
    /// per layer type, PE utilization, bit-exactness, wall time, and projected latency for other
    /// array sizes from the cycle model (validated against the RTL figure).
    Model {
        /// Shape.
        #[arg(long, value_enum, default_value = "deit-tiny")]
        shape: Shape,
        /// Accelerator config to simulate (default 16x16).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Configs to project with the cycle model.
        #[arg(long, value_delimiter = ',', default_value = "configs/32x32.toml,configs/64x32.toml")]
        project: Vec<PathBuf>,
        /// JSON output.
        #[arg(long, default_value = "out/bench/model.json")]
        json: PathBuf,
    },
    /// Cycles against live tokens: a synthetic model compiled with live token counts runs on the
    /// RTL with every block at `keep` x its patch tokens (class/distillation tokens always live):
    /// cycles, cycles per layer type, and their ratio to the first `--keep` run.
    Tokens {
        /// Shape.
        #[arg(long, value_enum, default_value = "deit-tiny")]
        shape: Shape,
        /// Accelerator config to simulate (default 16x16).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Fractions of patch tokens live.
        #[arg(long, value_delimiter = ',', default_value = "1.0,0.7,0.5,0.3")]
        keep: Vec<f64>,
        /// JSON output.
        #[arg(long, default_value = "out/bench/tokens.json")]
        json: PathBuf,
    },
    /// Token pruning on chip: a synthetic model with selectors before `--selectors` runs on the
    /// RTL with each selector tuned (its keep-logit bias) to keep `keep` of the tokens reaching
    /// it, plus SPViT's published per-stage ratios: kept sets and logits against golden, whole
    /// model cycles and speedup over the unpruned program, cycles per block against the
    /// proportional/quadratic expectation, selector cost; JSON and an SVG plot.
    Pruning {
        /// Shape.
        #[arg(long, value_enum, default_value = "deit-tiny")]
        shape: Shape,
        /// Accelerator config to simulate (default 16x16).
        #[arg(long)]
        config: Option<PathBuf>,
        /// 0-based selector positions (SPViT: before blocks 4, 7, 10).
        #[arg(long, value_delimiter = ',', default_value = "3,6,9")]
        selectors: Vec<usize>,
        /// Keep ratio per selector (of the tokens reaching it).
        #[arg(long, value_delimiter = ',', default_value = "1.0,0.7,0.5,0.3")]
        keep: Vec<f64>,
        /// JSON output.
        #[arg(long, default_value = "out/bench/pruning.json")]
        json: PathBuf,
    },
    /// Hardware cost of the token selector engine: Yosys `synth_xilinx` (xc7) of the whole
    /// design and of the engine alone; LUTs, flip-flops, DSP48E1, block RAM and their shares.
    Synth {
        /// Accelerator config: 8x8 with the default token/head limits and small banks, so the
        /// whole-design synthesis takes minutes on two cores.
        #[arg(long, default_value = "configs/synth-8x8.toml")]
        config: PathBuf,
        /// JSON output.
        #[arg(long, default_value = "out/bench/synth.json")]
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

#[cfg(feature = "verilator")]
fn bench_gemm(chain: &[usize], config: Option<&std::path::Path>, json: &std::path::Path) -> Result<()> {
    use host::device::{run as run_program, verilator::VerilatorDevice, Device};
    let cfg = super::config(config)?;
    anyhow::ensure!(chain.len() >= 3, "--chain needs M,K and at least one width");
    let m = chain[0];
    let mut rng = golden::synth::Rng::new(1);
    let layers: Vec<_> = chain[1..].windows(2).map(|d| host::testkit::random_linear(&mut rng, d[0], d[1])).collect();
    let x = host::testkit::random_i8(&mut rng, m, chain[1]);
    let prog = host::compile::compile_chain(&layers, &x, &cfg)?;
    let mut dev = VerilatorDevice::new(&cfg, prog.dram_bytes as usize)?;
    host::device::load(&mut dev, &prog)?;
    let model = host::cycle_model::CycleModel::new(&cfg);
    let t0 = Instant::now();
    let c0 = dev.sim().cycle();
    let (mut total, mut figures) = (0u64, Vec::new());
    for (i, insn) in prog.insns.iter().enumerate() {
        // Each instruction alone, for its own cycle count.
        let st = run_program(&mut dev as &mut dyn Device, &prog.alone(i), std::time::Duration::from_secs(3600))?;
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

/// Figures of one whole-model run.
#[derive(Serialize)]
struct ModelBench {
    shape: String,
    array: (usize, usize),
    clock_mhz: f64,
    instructions: usize,
    macs: u64,
    rtl_cycles: u64,
    rtl_active_cycles: u64,
    rtl_unit_busy_cycles: [u64; 3],
    utilization_percent: f64,
    latency_ms: f64,
    bit_exact: bool,
    model_cycles: u64,
    model_error_percent: f64,
    /// Unit busy cycles by layer type (cycle model), GEMM types on the GEMM unit.
    cycles_by_layer: Vec<(String, u64)>,
    verilator_seconds: f64,
    simulated_cycles_per_second: f64,
    projections: Vec<Projection>,
}

#[derive(Serialize)]
struct Projection {
    config: String,
    array: (usize, usize),
    clock_mhz: f64,
    cycles: u64,
    latency_ms: f64,
    utilization_percent: f64,
}

#[cfg(feature = "verilator")]
fn bench_model(
    shape: Shape,
    config: Option<&std::path::Path>,
    project: &[PathBuf],
    json: &std::path::Path,
) -> Result<()> {
    use host::cycle_model::CycleModel;
    use host::device::golden::schedule;
    use host::device::verilator::VerilatorDevice;
    use host::model_compile::{compile_model, ModelOptions};
    let cfg = super::config(config)?;
    let sh = shape.shape(&[]);
    let (im, imgs) = synthetic(&sh)?;
    let macs = sh.macs_dense() as u64;
    let cm = compile_model(&im, &cfg, ModelOptions::default())?;
    let mut dev = VerilatorDevice::new(&cfg, cm.program.dram_bytes as usize)?;
    host::device::load(&mut dev, &cm.program)?;
    let t = Instant::now();
    let run = cm.run_image(&mut dev, &im.input_patches(&imgs[0]), std::time::Duration::from_secs(3600))?;
    let wall = t.elapsed().as_secs_f64();
    let want = im.forward(&imgs[0], &ForwardOptions { prune: false }, None);
    let bit_exact = run.logits == want.logits;
    let model = CycleModel::new(&cfg);
    let sched = schedule(&model, &cm.program.insns);
    let by = cycles_by_layer(&model, &cm.program.insns, &cm.layer_of);
    let cycles = run.stats.cycles;
    let mut projections = vec![];
    for p in project {
        let pc = spec::AccelConfig::load(p)?;
        let pcm = compile_model(&im, &pc, ModelOptions::default())?;
        let s = schedule(&CycleModel::new(&pc), &pcm.program.insns);
        projections.push(Projection {
            config: p.display().to_string(),
            array: (pc.array_rows, pc.array_cols),
            clock_mhz: pc.clock_mhz,
            cycles: s.cycles,
            latency_ms: s.cycles as f64 / (pc.clock_mhz * 1e3),
            utilization_percent: 100.0 * macs as f64 / (pc.pes() as f64 * s.cycles as f64),
        });
    }
    let r = ModelBench {
        shape: format!("{shape:?}"),
        array: (cfg.array_rows, cfg.array_cols),
        clock_mhz: cfg.clock_mhz,
        instructions: cm.program.insns.len(),
        macs,
        rtl_cycles: cycles,
        rtl_active_cycles: run.stats.active_cycles,
        rtl_unit_busy_cycles: run.stats.unit_busy,
        utilization_percent: 100.0 * macs as f64 / (cfg.pes() as f64 * cycles as f64),
        latency_ms: cycles as f64 / (cfg.clock_mhz * 1e3),
        bit_exact,
        model_cycles: sched.cycles,
        model_error_percent: 100.0 * (sched.cycles as f64 - cycles as f64) / cycles as f64,
        cycles_by_layer: by.into_iter().collect(),
        verilator_seconds: wall,
        simulated_cycles_per_second: cycles as f64 / wall,
        projections,
    };
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
        if bit_exact { "EQUAL" } else { "DIFFER FROM" }
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
    super::ensure_dir(json.parent().unwrap_or(std::path::Path::new(".")))?;
    super::write_json(json, &r)?;
    anyhow::ensure!(bit_exact, "RTL logits differ from the golden model");
    Ok(())
}

/// One live-token count of `bench tokens`.
#[derive(Serialize)]
struct TokensPoint {
    keep: f64,
    live_tokens: usize,
    rtl_cycles: u64,
    model_cycles: u64,
    /// RTL cycles relative to all tokens live.
    cycles_ratio: f64,
    /// Unit busy cycles by layer type (cycle model, exact per instruction) and their ratio to
    /// all tokens live.
    cycles_by_layer: Vec<(String, u64, f64)>,
    bit_exact_with_golden_isa: bool,
    verilator_seconds: f64,
}

#[derive(Serialize)]
struct TokensBench {
    shape: String,
    array: (usize, usize),
    tokens: usize,
    points: Vec<TokensPoint>,
}

#[cfg(feature = "verilator")]
fn bench_tokens(shape: Shape, config: Option<&std::path::Path>, keep: &[f64], json: &std::path::Path) -> Result<()> {
    use host::cycle_model::CycleModel;
    use host::device::golden::{schedule, GoldenDevice};
    use host::device::verilator::VerilatorDevice;
    use host::model_compile::{compile_model, ModelOptions};
    let cfg = super::config(config)?;
    let sh = shape.shape(&[]);
    let (im, imgs) = synthetic(&sh)?;
    let mut cm = compile_model(&im, &cfg, ModelOptions { live_tokens: true, ..ModelOptions::default() })?;
    let (t, prefix) = (sh.tokens(), sh.prefix_tokens());
    let patches = im.input_patches(&imgs[0]);
    let model = CycleModel::new(&cfg);
    let mut points: Vec<TokensPoint> = vec![];
    println!(
        "{shape:?} on the RTL ({}x{} array), every block at the live token count (model {t} tokens):",
        cfg.array_rows, cfg.array_cols
    );
    for &k in keep {
        anyhow::ensure!((0.0..=1.0).contains(&k), "--keep {k}: fractions are in [0, 1]");
        let live = prefix + ((t - prefix) as f64 * k).round() as usize;
        cm.program.live_tokens = live as u16;
        let mut dev = VerilatorDevice::new(&cfg, cm.program.dram_bytes as usize)?;
        host::device::load(&mut dev, &cm.program)?;
        let t0 = Instant::now();
        let run = cm.run_image(&mut dev, &patches, std::time::Duration::from_secs(3600))?;
        let wall = t0.elapsed().as_secs_f64();
        let mut gdev = GoldenDevice::new(&cfg, cm.program.dram_bytes as usize);
        host::device::load(&mut gdev, &cm.program)?;
        let golden_run = cm.run_image(&mut gdev, &patches, std::time::Duration::from_secs(60))?;
        let resolved: Vec<_> = cm.program.insns.iter().map(|i| i.resolve(live as u16)).collect::<Result<_, _>>()?;
        let by = cycles_by_layer(&model, &resolved, &cm.layer_of);
        let full = points.first();
        let ratio = |v: u64, f: Option<u64>| f.map_or(1.0, |f| v as f64 / f as f64);
        let cycles_by_layer = by
            .iter()
            .map(|(name, &v)| {
                let f = full.and_then(|p| p.cycles_by_layer.iter().find(|l| &l.0 == name)).map(|l| l.1);
                (name.clone(), v, ratio(v, f))
            })
            .collect();
        let p = TokensPoint {
            keep: k,
            live_tokens: live,
            rtl_cycles: run.stats.cycles,
            model_cycles: schedule(&model, &resolved).cycles,
            cycles_ratio: ratio(run.stats.cycles, full.map(|p| p.rtl_cycles)),
            cycles_by_layer,
            bit_exact_with_golden_isa: run.logits == golden_run.logits,
            verilator_seconds: wall,
        };
        println!(
            "  keep {:.2}: {:>3} live tokens, {:>9} cycles (x{:.3}; model {}), logits {} the golden ISA, {:.1} s",
            k,
            live,
            p.rtl_cycles,
            p.cycles_ratio,
            p.model_cycles,
            if p.bit_exact_with_golden_isa { "equal" } else { "DIFFER FROM" },
            wall
        );
        let layers: Vec<String> = p.cycles_by_layer.iter().map(|(n, v, r)| format!("{n} {v} (x{r:.3})")).collect();
        println!("      {}", layers.join(", "));
        anyhow::ensure!(
            p.bit_exact_with_golden_isa,
            "RTL logits differ from the golden ISA simulator at {live} tokens"
        );
        points.push(p);
    }
    let r = TokensBench { shape: format!("{shape:?}"), array: (cfg.array_rows, cfg.array_cols), tokens: t, points };
    super::ensure_dir(json.parent().unwrap_or(std::path::Path::new(".")))?;
    super::write_json(json, &r)?;
    let svg = json.with_extension("svg");
    std::fs::write(&svg, tokens_svg(&r))?;
    println!("  saved {} and {}", json.display(), svg.display());
    Ok(())
}

/// Cell counts of one Yosys `synth_xilinx` run.
#[derive(Serialize, Default, Clone, Copy)]
struct Cells {
    cells: u64,
    luts: u64,
    flip_flops: u64,
    dsp48: u64,
    bram: u64,
    carry4: u64,
    seconds: f64,
}

/// Synthesize `verilog` (top module `top`) for xc7 with Yosys and count its cells.
fn yosys_cells(verilog: &str, top: &str) -> Result<Cells> {
    let dir = std::env::temp_dir().join(format!("vitaccel-synth-{top}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("in.v"), verilog)?;
    let t = Instant::now();
    let script = format!("read_verilog in.v; synth_xilinx -family xc7 -top {top} -flatten; tee -q -o stat.txt stat");
    let out = std::process::Command::new("yosys")
        .current_dir(&dir)
        .args(["-q", "-p", &script])
        .output()
        .map_err(|e| anyhow::anyhow!("running yosys (scripts/setup.sh installs it): {e}"))?;
    let stat = std::fs::read_to_string(dir.join("stat.txt")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let mut c = Cells { seconds: t.elapsed().as_secs_f64(), ..Cells::default() };
    for line in stat.lines() {
        let mut it = line.split_whitespace();
        let (Some(name), Some(n)) = (it.next(), it.next()) else { continue };
        let Ok(n) = n.parse::<u64>() else {
            if line.trim_start().starts_with("Number of cells:") {
                c.cells = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0);
            }
            continue;
        };
        match name {
            _ if name.starts_with("LUT") => c.luts += n,
            _ if name.starts_with("FD") => c.flip_flops += n,
            _ if name.starts_with("DSP48") => c.dsp48 += n,
            _ if name.starts_with("RAMB") => c.bram += n,
            "CARRY4" => c.carry4 += n,
            _ => {}
        }
    }
    Ok(c)
}

#[derive(Serialize)]
struct SynthBench {
    config: spec::AccelConfig,
    whole: Cells,
    selector_engine: Cells,
    lut_share_percent: f64,
    flip_flop_share_percent: f64,
    dsp_share_percent: f64,
}

fn bench_synth(config: &std::path::Path, json: &std::path::Path) -> Result<()> {
    let cfg = super::config(Some(config))?;
    println!(
        "Yosys synth_xilinx (xc7, flattened), {}x{} array, {} banks x {} words:",
        cfg.array_rows, cfg.array_cols, cfg.banks, cfg.bank_words
    );
    let sel = yosys_cells(&hdl::selector_verilog(&cfg)?, hdl::SELECTOR_MODULE)?;
    let whole = yosys_cells(&hdl::top_verilog(&cfg)?, hdl::TOP_MODULE)?;
    let share = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    let r = SynthBench {
        config: cfg.clone(),
        whole,
        selector_engine: sel,
        lut_share_percent: share(sel.luts, whole.luts),
        flip_flop_share_percent: share(sel.flip_flops, whole.flip_flops),
        dsp_share_percent: share(sel.dsp48, whole.dsp48),
    };
    for (name, c) in [("whole design", &whole), ("selector engine", &sel)] {
        println!(
            "  {name:<16} {:>8} cells, {:>7} LUTs, {:>7} FFs, {:>5} DSP48E1, {:>4} RAMB, {:>5} CARRY4 ({:.0} s)",
            c.cells, c.luts, c.flip_flops, c.dsp48, c.bram, c.carry4, c.seconds
        );
    }
    println!(
        "  selector engine share: {:.2} % of LUTs, {:.2} % of FFs, {:.2} % of DSP48E1 (HeatViT: +5-8 % LUT, +8-11 % DSP)",
        r.lut_share_percent, r.flip_flop_share_percent, r.dsp_share_percent
    );
    super::ensure_dir(json.parent().unwrap_or(std::path::Path::new(".")))?;
    super::write_json(json, &r)?;
    println!("  saved {}", json.display());
    Ok(())
}

/// The frame of the token plots: a `560 x 400` canvas with `title`, both axes from 0 to 1 with
/// ticks every 0.25 (50-pixel margins) and the x label "live tokens / all tokens".
pub(crate) fn svg_frame(title: &str) -> String {
    let (w, h, m) = (560.0, 400.0, 50.0);
    let x = |f: f64| m + f * (w - 2.0 * m);
    let y = |v: f64| h - m - v * (h - 2.0 * m);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{m}\" y=\"20\" font-size=\"13\">{title}</text>\n"
    );
    s += &format!(
        "<line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{m}\" y1=\"{}\" x2=\"{m}\" y2=\"{}\" stroke=\"black\"/>\n",
        y(0.0), x(1.0), y(0.0), y(0.0), y(1.0)
    );
    for i in 0..=4 {
        let v = i as f64 / 4.0;
        s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v:.2}</text>\n", x(v), y(0.0) + 15.0);
        s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.2}</text>\n", m - 5.0, y(v) + 4.0);
    }
    s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">live tokens / all tokens</text>\n", x(0.5), h - 12.0);
    s
}

/// Relative cycles against the live fraction of the tokens: the whole model (RTL), the linear
/// layers and the attention core (cycle model), with the proportional and quadratic references.
fn tokens_svg(r: &TokensBench) -> String {
    let (w, h, m) = (560.0, 400.0, 50.0);
    let x = |f: f64| m + f * (w - 2.0 * m);
    let y = |v: f64| h - m - v * (h - 2.0 * m);
    let group = |p: &TokensPoint, names: &[&str]| -> u64 {
        p.cycles_by_layer.iter().filter(|l| names.contains(&l.0.as_str())).map(|l| l.1).sum()
    };
    let first = &r.points[0];
    let rel = |p: &TokensPoint, names: &[&str]| group(p, names) as f64 / group(first, names).max(1) as f64;
    let frac = |p: &TokensPoint| p.live_tokens as f64 / first.live_tokens as f64;
    let linear = ["Qkv", "Proj", "Mlp"];
    let attention = ["Scores", "AttnV", "Softmax"];
    type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>, bool);
    let series: Vec<Series> = vec![
        ("live/T (proportional)", "#bbbbbb", (0..=20).map(|i| (i as f64 / 20.0, i as f64 / 20.0)).collect(), true),
        (
            "(live/T)^2 (quadratic)",
            "#dddddd",
            (0..=20).map(|i| (i as f64 / 20.0, (i as f64 / 20.0).powi(2))).collect(),
            true,
        ),
        ("whole model (RTL)", "#000000", r.points.iter().map(|p| (frac(p), p.cycles_ratio)).collect(), false),
        ("QKV + projection + MLP", "#1f77b4", r.points.iter().map(|p| (frac(p), rel(p, &linear))).collect(), false),
        ("scores + P.V + softmax", "#d62728", r.points.iter().map(|p| (frac(p), rel(p, &attention))).collect(), false),
    ];
    let mut s = svg_frame(&format!(
        "{} on {}x{}: cycles vs live tokens (relative to {} tokens)",
        r.shape, r.array.0, r.array.1, first.live_tokens
    ));
    for (i, (name, color, pts, dashed)) in series.iter().enumerate() {
        let path: Vec<String> = pts.iter().map(|&(a, b)| format!("{:.1},{:.1}", x(a), y(b))).collect();
        let dash = if *dashed { " stroke-dasharray=\"4 3\"" } else { "" };
        s += &format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n",
            path.join(" ")
        );
        if !dashed {
            for &(a, b) in pts {
                s += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>\n", x(a), y(b));
            }
        }
        let ly = m + 10.0 + 15.0 * i as f64;
        s += &format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{}\" y=\"{}\">{name}</text>\n",
            m + 10.0,
            m + 30.0,
            m + 35.0,
            ly + 4.0
        );
    }
    s + "</svg>\n"
}

/// A synthetic model of `sh` (seeded random weights) quantized on two random calibration
/// images: the integer model and three images (the test image first).
pub(crate) fn synthetic(sh: &spec::ModelShape) -> Result<(golden::IntModel, Vec<golden::Image>)> {
    let fm = random_model(sh, 0, 0.0);
    let imgs = random_images(sh, 3, 1);
    let (im, _, _) = super::quantize::calibrate_and_quantize(&fm, &imgs[1..])?;
    Ok((im, imgs))
}

/// Unit busy cycles per layer type (the cycle model, exact per instruction).
fn cycles_by_layer(
    model: &host::cycle_model::CycleModel,
    insns: &[spec::isa::Insn],
    kinds: &[host::model_compile::LayerKind],
) -> std::collections::BTreeMap<String, u64> {
    let mut by = std::collections::BTreeMap::new();
    for (insn, kind) in insns.iter().zip(kinds) {
        *by.entry(format!("{kind:?}")).or_default() += model.unit_cycles(insn).0;
    }
    by
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    match a.what {
        #[cfg(feature = "verilator")]
        What::Model { shape, config, project, json } => bench_model(shape, config.as_deref(), &project, &json),
        #[cfg(feature = "verilator")]
        What::Gemm { chain, config, json } => bench_gemm(&chain, config.as_deref(), &json),
        #[cfg(feature = "verilator")]
        What::Tokens { shape, config, keep, json } => bench_tokens(shape, config.as_deref(), &keep, &json),
        What::Synth { config, json } => bench_synth(&config, &json),
        #[cfg(not(feature = "verilator"))]
        What::Model { .. } | What::Gemm { .. } | What::Tokens { .. } | What::Pruning { .. } => {
            anyhow::bail!(super::NO_VERILATOR)
        }
        #[cfg(feature = "verilator")]
        What::Pruning { shape, config, selectors, keep, json } => {
            super::pruning_bench::run(shape, config.as_deref(), &selectors, &keep, &json)
        }
        What::Golden { shape, images, selectors, json } => {
            let sh = shape.shape(&selectors);
            let fm = random_model(&sh, 0, 0.0);
            let imgs = random_images(&sh, images.max(1) + 2, 1);
            // Times calibration and quantization alone, so not `synthetic`.
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

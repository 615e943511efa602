//! Measure RTL cycles (Verilator) against the cycle model, instruction by instruction: every
//! instruction of single-layer programs over a sweep of shapes and of the fixture model's
//! program runs alone (after the ones before it, so the data are the real ones), and its unit's
//! busy counter is compared with `CycleModel::unit_cycles`.
//!
//! `cargo run --release -p host --example calibrate -- [small|default] [--all]`
//! (`--all` prints every instruction, not only the worst of each kind).

use golden::synth::Rng;
use host::compile::compile_chain;
use host::cycle_model::CycleModel;
use host::device::golden::GoldenDevice;
use host::device::verilator::VerilatorDevice;
use host::device::{run, Device};
use host::model_compile::{compile_model, ModelOptions};
use host::program::Program;
use host::testkit::{random_i8, random_linear};
use spec::isa::Op;
use spec::AccelConfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// Per instruction: (kind, description, RTL unit busy, model).
type Row = (String, String, u64, u64);

/// Run `prog`'s instructions one at a time on `dev` and on the golden backend `gold` (both
/// holding its segments); the model's cycles are the golden backend's (SELECT's from its
/// decisions, every other instruction's from `CycleModel::unit_cycles`).
fn measure(dev: &mut VerilatorDevice, gold: &mut GoldenDevice, prog: &Program, out: &mut Vec<Row>) {
    for (i, insn) in prog.insns.iter().enumerate() {
        let st = run(dev as &mut dyn Device, &prog.alone(i), Duration::from_secs(120)).expect("runs");
        run(gold as &mut dyn Device, &prog.alone(i), Duration::from_secs(120)).expect("runs");
        let model = gold.last_run()[0].1;
        // Only the instruction's own unit was busy.
        let busy = st.unit_busy.into_iter().max().unwrap_or(0);
        let (kind, desc) = match &insn.op {
            Op::Load(d) => ("LOAD".to_string(), format!("{} rows x {} words", d.rows, d.words)),
            Op::Store(d) => ("STORE".to_string(), format!("{} rows x {} words", d.rows, d.words)),
            Op::Gemm(g) => (
                format!("GEMM {:?}", host::cycle_model::GemmShape::of(g).b),
                format!("{}x{}x{} {:?}", g.m, g.k, g.n, g.out.mode),
            ),
            Op::LayerNorm(v) => ("LAYERNORM".to_string(), format!("{} rows x {}", v.rows, v.n)),
            Op::Softmax(v) => ("SOFTMAX".to_string(), format!("{} rows x {}", v.rows, v.n)),
            Op::ColMean(v) => ("COLMEAN".to_string(), format!("{} rows x {}", v.rows, v.n)),
            Op::Select(v) => ("SELECT".to_string(), format!("{} rows x {}, {} heads", v.rows, v.n, v.heads)),
        };
        out.push((kind, desc, busy, model));
    }
}

/// An RTL and a golden device holding `prog`.
fn devices(cfg: &AccelConfig, prog: &Program) -> (VerilatorDevice, GoldenDevice) {
    let mut dev = VerilatorDevice::new(cfg, prog.dram_bytes as usize).expect("builds");
    host::device::load(&mut dev, prog).expect("loads");
    let mut gold = GoldenDevice::new(cfg, prog.dram_bytes as usize);
    host::device::load(&mut gold, prog).expect("loads");
    (dev, gold)
}

/// The whole program on the golden backend: the instructions as dispatched and their cycles.
fn gold_whole(
    cfg: &AccelConfig,
    cm: &host::model_compile::CompiledModel,
    patches: &ndarray::Array2<i8>,
) -> (Vec<spec::isa::Insn>, Vec<Option<u64>>) {
    let mut gold = GoldenDevice::new(cfg, cm.program.dram_bytes as usize);
    host::device::load(&mut gold, &cm.program).expect("loads");
    cm.run_image(&mut gold, patches, Duration::from_secs(600)).expect("runs");
    gold.last_run().iter().map(|&(i, c)| (i, Some(c))).unzip()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = if args.iter().any(|a| a == "default") { AccelConfig::default() } else { AccelConfig::small() };
    let all = args.iter().any(|a| a == "--all");
    let mut rows: Vec<Row> = Vec::new();
    let mut rng = Rng::new(7);
    let mut shapes = vec![(1, 1, 1), (1, 8, 8), (2, 9, 3), (5, 20, 12), (8, 64, 64), (16, 32, 8), (31, 100, 70)];
    shapes.extend([
        (32, 4096, 8),
        (1, 4096, 64),
        (3, 300, 1),
        (20, 16, 200),
        (17, 33, 17),
        (64, 64, 64),
        (197, 192, 768),
    ]);
    for (m, k, n) in shapes {
        if m > cfg.max_tokens || k > cfg.max_width || n > cfg.max_width {
            continue;
        }
        let l = random_linear(&mut rng, k, n);
        let x = random_i8(&mut rng, m, k);
        let prog = compile_chain(&[l], &x, &cfg).expect("fits");
        let (mut dev, mut gold) = devices(&cfg, &prog);
        measure(&mut dev, &mut gold, &prog, &mut rows);
    }
    // The fixture model with its selectors on chip: attention (on-chip B), LUT GEMMs, LayerNorm,
    // softmax, COLMEAN, SELECT.
    let (im, test) = host::testkit::fixture_int_model();
    let cm = compile_model(&im, &cfg, ModelOptions { prune: true, ..ModelOptions::default() }).expect("fits");
    let (mut dev, mut gold) = devices(&cfg, &cm.program);
    let patches = cm.patch_bytes(&im.input_patches(&test.images[0]));
    dev.write_mem(cm.patch_addr, &patches).expect("writes");
    gold.write_mem(cm.patch_addr, &patches).expect("writes");
    measure(&mut dev, &mut gold, &cm.program, &mut rows);
    // The whole program at once (on a fresh device): units overlap, the schedule predicts CYCLES.
    let mut dev = VerilatorDevice::new(&cfg, cm.program.dram_bytes as usize).expect("builds");
    host::device::load(&mut dev, &cm.program).expect("loads");
    let whole = cm.run_image(&mut dev, &im.input_patches(&test.images[0]), Duration::from_secs(600)).expect("runs");
    let (ran, given): (Vec<_>, Vec<_>) = gold_whole(&cfg, &cm, &im.input_patches(&test.images[0]));
    let sched = host::device::golden::schedule_with(&CycleModel::new(&cfg), &ran, &given);
    let busy = whole.stats.unit_busy;

    println!("{}x{} array: unit busy cycles, RTL vs model", cfg.array_rows, cfg.array_cols);
    let err = |r: &Row| (r.2 as f64 - r.3 as f64) / r.3 as f64 * 100.0;
    let mut worst: BTreeMap<String, (usize, &Row)> = BTreeMap::new();
    for r in &rows {
        let e = worst.entry(r.0.clone()).or_insert((0, r));
        e.0 += 1;
        if err(r).abs() > err(e.1).abs() {
            e.1 = r;
        }
        if all {
            println!("{:<14} {:<28} {:>8} {:>8} {:>+7.2}%", r.0, r.1, r.2, r.3, err(r));
        }
    }
    println!("{:<14} {:>5}  worst: {:<28} {:>8} {:>8} {:>8}", "kind", "count", "shape", "RTL", "model", "error");
    for (kind, (n, r)) in &worst {
        println!("{kind:<14} {n:>5}  {:<35} {:>8} {:>8} {:>+7.2}%", r.1, r.2, r.3, err(r));
    }
    let pct = |a: u64, b: u64| (a as f64 - b as f64) / b as f64 * 100.0;
    println!(
        "fixture program ({} instructions): CYCLES RTL {} model {} ({:+.2}%); busy DMA/GEMM/VEC RTL {:?} model {:?}",
        cm.program.insns.len(),
        whole.stats.cycles,
        sched.cycles,
        pct(whole.stats.cycles, sched.cycles),
        busy,
        sched.busy
    );
}

//! Measure per-instruction RTL cycles (Verilator) against the analytic cycle model over a sweep of
//! shapes: `cargo run --release -p host --example calibrate -- [small|default]`.

use golden::synth::Rng;
use host::compile::compile_chain;
use host::cycle_model::CycleModel;
use host::device::verilator::VerilatorDevice;
use host::device::{run, Device};
use host::program::Program;
use host::testkit::{random_i8, random_linear};
use spec::AccelConfig;
use std::time::Duration;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "small".into());
    let cfg = if which == "default" { AccelConfig::default() } else { AccelConfig::small() };
    let model = CycleModel::new(&cfg);
    let mut rng = Rng::new(7);
    let mut shapes = vec![(1, 1, 1), (1, 8, 8), (2, 9, 3), (5, 20, 12), (8, 64, 64), (16, 32, 8), (31, 100, 70)];
    shapes.extend([(32, 4096, 8), (3, 300, 1), (20, 16, 200), (17, 33, 17), (64, 64, 64), (197, 192, 768)]);
    println!(
        "{:>5} {:>5} {:>5} | {:>8} {:>8} {:>7} | {:>6} {:>6} | {:>6} {:>6}",
        "M", "K", "N", "gemm", "model", "err%", "load", "model", "store", "model"
    );
    for (m, k, n) in shapes {
        if m > cfg.max_tokens || k > cfg.max_width || n > cfg.max_width {
            continue;
        }
        let l = random_linear(&mut rng, k, n);
        let x = random_i8(&mut rng, m, k);
        let prog = compile_chain(&[l], &x, &cfg).unwrap();
        let mut dev = VerilatorDevice::new(&cfg, prog.dram_bytes as usize).unwrap();
        // Run each instruction as its own program to read its cycles.
        let mut per = Vec::new();
        for (i, insn) in prog.insns.iter().enumerate() {
            let single = Program {
                insns: vec![*insn],
                segments: if i == 0 { prog.segments.clone() } else { vec![] },
                ..prog.clone()
            };
            let st = run(&mut dev as &mut dyn Device, &single, Duration::from_secs(60)).unwrap();
            per.push((st.cycles, model.insn(insn).0));
        }
        let (g, l, s) = (per[1], per[0], per[2]);
        println!(
            "{m:>5} {k:>5} {n:>5} | {:>8} {:>8} {:>+7.2} | {:>6} {:>6} | {:>6} {:>6}",
            g.0,
            g.1,
            100.0 * (g.0 as f64 - g.1 as f64) / g.1 as f64,
            l.0,
            l.1,
            s.0,
            s.1
        );
    }
}

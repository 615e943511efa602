//! `vitaccel bench pruning`: token pruning on chip, measured on the RTL.
//!
//! A synthetic model (seeded random weights) gets selectors before the chosen blocks. For each
//! keep ratio every selector's keep-logit bias is tuned on the golden model (bisection) so that it
//! keeps that fraction of the tokens reaching it; the pruned program then runs on the RTL, its
//! kept sets and logits are checked against golden, and the cycles are compared with the
//! unpruned program on the same RTL. Per block, the unit-busy cycles (exact per instruction,
//! from the golden ISA run at the live counts that actually occurred) are compared with the
//! expectation from the unpruned block: linear layers and LayerNorm scale with `r = live / T`,
//! the attention core (scores, softmax, P.V) with `r^2`.

use super::synth::Shape;
use anyhow::{ensure, Result};
use golden::{ForwardOptions, IntModel};
use host::device::golden::GoldenDevice;
use host::device::verilator::VerilatorDevice;
use host::model_compile::{compile_model, CompiledModel, LayerKind, ModelOptions};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// SPViT's published cumulative keep ratios after the selectors before blocks 4, 7, 10 (of the
/// 196 patch tokens), as per-stage ratios.
const SPVIT_STAGES: [f64; 3] = [0.617, 0.369 / 0.617, 0.137 / 0.369];

/// Layer kinds whose cost grows with the square of the live tokens.
const QUADRATIC: [LayerKind; 3] = [LayerKind::Scores, LayerKind::AttnV, LayerKind::Softmax];

#[derive(Serialize)]
struct BlockFigures {
    block: usize,
    live_tokens: usize,
    /// Unit-busy cycles of the block (its selector excluded).
    cycles: u64,
    /// The same block with every token live.
    dense_cycles: u64,
    ratio: f64,
    /// `(linear part) r + (attention part) r^2` of the dense block, relative.
    expected_ratio: f64,
    /// `ratio / expected_ratio - 1`, percent.
    error_percent: f64,
    /// Unit-busy cycles of the selector before this block, if any.
    selector_cycles: u64,
}

#[derive(Serialize)]
struct PruningPoint {
    label: String,
    /// Target keep ratio per selector.
    keep_per_stage: Vec<f64>,
    /// Live tokens after each selector (as read back from the RTL).
    live_after_selector: Vec<usize>,
    rtl_cycles: u64,
    /// The golden ISA simulator's estimate (exact per instruction).
    model_cycles: u64,
    /// Unpruned RTL cycles / these RTL cycles.
    speedup: f64,
    /// Selector instructions' unit-busy cycles as a share of all unit-busy cycles, percent.
    selector_share_percent: f64,
    kept_and_logits_equal_golden: bool,
    blocks: Vec<BlockFigures>,
    verilator_seconds: f64,
}

#[derive(Serialize)]
struct PruningBench {
    shape: String,
    array: (usize, usize),
    clock_mhz: f64,
    tokens: usize,
    selectors: Vec<usize>,
    dense_rtl_cycles: u64,
    dense_latency_ms: f64,
    points: Vec<PruningPoint>,
    /// Worst `|error_percent|` over the pruned blocks with at least `R` live tokens.
    worst_block_error_percent: f64,
    /// The same below `R` live tokens, where a GEMM tile's weight load (`R` cycles per tile,
    /// whatever the token count) bounds the block: the expectation does not hold there.
    worst_block_error_percent_below_r: f64,
}

/// Tune each selector's keep-logit bias so it keeps `keep[s]` of the tokens reaching it on `img`
/// (prefix tokens always kept; the package token counts as one more live token).
fn tune(im: &mut IntModel, img: &golden::Image, keep: &[f64]) {
    let pre = im.shape.prefix_tokens();
    let opts = ForwardOptions { prune: true };
    for s in 0..im.selectors.len() {
        let block = im.shape.selectors[s].block;
        let len_at = |im: &IntModel| -> (usize, usize) {
            let out = im.forward(img, &opts, None);
            let incoming = if block == 0 { im.shape.tokens() } else { out.live[block - 1] };
            (incoming, out.kept[s].len())
        };
        let set = |im: &mut IntModel, b: i64| im.selectors[s].diff.bias = vec![b as i32; 1];
        set(im, 1 << 28);
        let (incoming, _) = len_at(im);
        let n = incoming - pre;
        let k = (keep[s] * n as f64).round() as usize;
        let target = pre + k + (k < n) as usize;
        // The live count after the selector never falls as the bias rises: the smallest bias
        // reaching the target.
        let (mut lo, mut hi) = (-(1i64 << 28), 1i64 << 28);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            set(im, mid);
            if len_at(im).1 >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        set(im, hi);
    }
}

/// Unit-busy cycles by (block, kind) of the last golden run.
fn busy_by_block(dev: &GoldenDevice, cm: &CompiledModel, blocks: usize) -> Vec<Vec<(LayerKind, u64)>> {
    let mut by = vec![vec![]; blocks];
    for (j, (_, c)) in dev.last_run().iter().enumerate() {
        if let Some(b) = cm.block_of[j] {
            by[b as usize].push((cm.layer_of[j], *c));
        }
    }
    by
}

/// Run `im` (pruned or not) on the RTL and the golden ISA: (RTL cycles, model cycles, kept and
/// logits equal golden, read-back live counts, per-block busy cycles, wall seconds).
type Run = (u64, u64, bool, Vec<usize>, Vec<Vec<(LayerKind, u64)>>, f64);

fn run_once(im: &IntModel, img: &golden::Image, cfg: &spec::AccelConfig, prune: bool) -> Result<Run> {
    let cm = compile_model(im, cfg, ModelOptions { prune, ..ModelOptions::default() })?;
    let patches = im.input_patches(img);
    let mut dev = VerilatorDevice::new(cfg, cm.program.dram_bytes as usize)?;
    host::device::load(&mut dev, &cm.program)?;
    let t0 = Instant::now();
    let rtl = cm.run_image(&mut dev, &patches, Duration::from_secs(3600))?;
    let wall = t0.elapsed().as_secs_f64();
    let mut g = GoldenDevice::new(cfg, cm.program.dram_bytes as usize);
    host::device::load(&mut g, &cm.program)?;
    let gold = cm.run_image(&mut g, &patches, Duration::from_secs(600))?;
    let want = im.forward(img, &ForwardOptions { prune }, None);
    let exact = rtl.logits == want.logits && gold.logits == want.logits && (!prune || rtl.kept == want.kept);
    let live = rtl.kept.iter().map(Vec::len).collect();
    let by = busy_by_block(&g, &cm, im.shape.blocks.len());
    Ok((rtl.stats.cycles, gold.stats.cycles, exact, live, by, wall))
}

/// Run the benchmark.
pub fn run(shape: Shape, config: Option<&Path>, selectors: &[usize], keep: &[f64], json: &Path) -> Result<()> {
    let cfg = super::config(config)?;
    let sh = shape.shape(selectors);
    let (mut im, imgs) = super::bench::synthetic(&sh)?;
    let img = &imgs[0];
    let t = sh.tokens();
    // Selectors in block order (the order of the read-back and of the golden model's `kept`).
    let sel_blocks: Vec<usize> = sh.selectors.iter().map(|s| s.block).collect();
    ensure!(sel_blocks.windows(2).all(|w| w[0] < w[1]), "--selectors: distinct blocks in increasing order");
    println!(
        "{shape:?} on the RTL ({}x{} array), selectors before blocks {:?} (0-based), {t} tokens:",
        cfg.array_rows, cfg.array_cols, selectors
    );
    let (dense_cycles, dense_model, dense_ok, _, dense_by, dense_wall) = run_once(&im, img, &cfg, false)?;
    ensure!(dense_ok, "unpruned: RTL logits differ from golden");
    println!(
        "  unpruned: {dense_cycles} cycles ({:.3} ms at {} MHz; model {dense_model}), {dense_wall:.1} s",
        dense_cycles as f64 / (cfg.clock_mhz * 1e3),
        cfg.clock_mhz
    );
    let mut stages: Vec<(String, Vec<f64>)> =
        keep.iter().map(|&k| (format!("keep {k:.2}"), vec![k; selectors.len()])).collect();
    if selectors.len() == SPVIT_STAGES.len() {
        stages.push(("SPViT ratios".into(), SPVIT_STAGES.to_vec()));
    }
    let mut points = vec![];
    let (mut worst, mut worst_below) = (0f64, 0f64);
    for (label, ks) in stages {
        ensure!(ks.iter().all(|k| (0.0..=1.0).contains(k)), "--keep: fractions are in [0, 1]");
        tune(&mut im, img, &ks);
        let (cycles, model_cycles, exact, live, by, wall) = run_once(&im, img, &cfg, true)?;
        let mut blocks = vec![];
        let total: u64 = by.iter().flatten().map(|(_, c)| c).sum();
        let mut sel_total = 0;
        for (b, (parts, dense)) in by.iter().zip(&dense_by).enumerate() {
            let sum = |v: &[(LayerKind, u64)], f: &dyn Fn(LayerKind) -> bool| -> u64 {
                v.iter().filter(|(k, _)| f(*k)).map(|(_, c)| c).sum()
            };
            let cycles = sum(parts, &|k| k != LayerKind::Selector);
            let selector_cycles = sum(parts, &|k| k == LayerKind::Selector);
            sel_total += selector_cycles;
            let dense_cycles = sum(dense, &|k| k != LayerKind::Selector);
            let quad = sum(dense, &|k| QUADRATIC.contains(&k));
            // Live tokens in block b: after the last selector at or before it.
            let n = sel_blocks.iter().rposition(|&p| p <= b).map_or(t, |s| live[s]);
            let r = n as f64 / t as f64;
            let expected = ((dense_cycles - quad) as f64 * r + quad as f64 * r * r) / dense_cycles as f64;
            let ratio = cycles as f64 / dense_cycles as f64;
            let error_percent = 100.0 * (ratio / expected - 1.0);
            if n < t && n >= cfg.array_rows {
                worst = worst.max(error_percent.abs());
            } else if n < t {
                worst_below = worst_below.max(error_percent.abs());
            }
            blocks.push(BlockFigures {
                block: b,
                live_tokens: n,
                cycles,
                dense_cycles,
                ratio,
                expected_ratio: expected,
                error_percent,
                selector_cycles,
            });
        }
        let p = PruningPoint {
            label: label.clone(),
            keep_per_stage: ks,
            live_after_selector: live,
            rtl_cycles: cycles,
            model_cycles,
            speedup: dense_cycles as f64 / cycles as f64,
            selector_share_percent: 100.0 * sel_total as f64 / total.max(1) as f64,
            kept_and_logits_equal_golden: exact,
            blocks,
            verilator_seconds: wall,
        };
        println!(
            "  {label}: live after selectors {:?}, {} cycles ({:.3} ms; model {}), speedup x{:.2}, selectors {:.1} % \
             of busy cycles, kept sets and logits {} golden, {:.1} s",
            p.live_after_selector,
            p.rtl_cycles,
            p.rtl_cycles as f64 / (cfg.clock_mhz * 1e3),
            p.model_cycles,
            p.speedup,
            p.selector_share_percent,
            if exact { "equal" } else { "DIFFER FROM" },
            wall
        );
        let row: Vec<String> = p
            .blocks
            .iter()
            .map(|b| format!("b{} {}t x{:.3}/{:.3}", b.block, b.live_tokens, b.ratio, b.expected_ratio))
            .collect();
        println!("      per block (tokens, cycles ratio / expected): {}", row.join(", "));
        ensure!(exact, "{label}: the RTL differs from the golden model");
        points.push(p);
    }
    let r = PruningBench {
        shape: format!("{shape:?}"),
        array: (cfg.array_rows, cfg.array_cols),
        clock_mhz: cfg.clock_mhz,
        tokens: t,
        selectors: selectors.to_vec(),
        dense_rtl_cycles: dense_cycles,
        dense_latency_ms: dense_cycles as f64 / (cfg.clock_mhz * 1e3),
        points,
        worst_block_error_percent: worst,
        worst_block_error_percent_below_r: worst_below,
    };
    println!(
        "  pruned blocks, worst deviation from the expected cycles: {worst:.2} % with >= {} live tokens, {worst_below:.2} % \
         below (weight-load bound)",
        cfg.array_rows
    );
    super::ensure_dir(json.parent().unwrap_or(Path::new(".")))?;
    super::write_json(json, &r)?;
    let svg = json.with_extension("svg");
    std::fs::write(&svg, svg_plot(&r))?;
    println!("  saved {} and {}", json.display(), svg.display());
    Ok(())
}

/// Block cycles (relative to the unpruned block) against live tokens / T, every block of every
/// point, with the proportional and quadratic references.
fn svg_plot(r: &PruningBench) -> String {
    let (w, h, m) = (560.0, 400.0, 50.0);
    let x = |f: f64| m + f * (w - 2.0 * m);
    let y = |v: f64| h - m - v * (h - 2.0 * m);
    let colors = ["#000000", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    let mut s = super::bench::svg_frame(&format!(
        "{} on {}x{}: block cycles vs live tokens (on-chip pruning)",
        r.shape, r.array.0, r.array.1
    ));
    for (pw, color) in [(1, "#bbbbbb"), (2, "#dddddd")] {
        let pts: Vec<String> =
            (0..=20).map(|i| i as f64 / 20.0).map(|f| format!("{:.1},{:.1}", x(f), y(f.powi(pw)))).collect();
        s += &format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n",
            pts.join(" ")
        );
    }
    for (i, p) in r.points.iter().enumerate() {
        let color = colors[i % colors.len()];
        for b in &p.blocks {
            let f = b.live_tokens as f64 / r.tokens as f64;
            s += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>\n", x(f), y(b.ratio));
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"none\" stroke=\"{color}\"/>\n",
                x(f),
                y(b.expected_ratio)
            );
        }
        let ly = m + 10.0 + 15.0 * i as f64;
        s += &format!(
            "<circle cx=\"{}\" cy=\"{ly}\" r=\"3\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{} (x{:.2})</text>\n",
            m + 20.0,
            m + 30.0,
            ly + 4.0,
            p.label,
            p.speedup
        );
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\">dots: measured; rings: expected (linear r, attention r^2); dashed: r, r^2</text>\n",
        m + 10.0,
        y(0.0) - 8.0
    );
    s + "</svg>\n"
}

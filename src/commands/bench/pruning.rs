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

use super::common;
use super::plot::{self, Mark, Series, XyChart, GREY, PALETTE};
use crate::commands::synth::Shape;
use anyhow::{ensure, Result};
use golden::{ForwardOptions, IntModel};
use host::device::golden::GoldenDevice;
use host::model_compile::{compile_model, CompiledModel, LayerKind, ModelOptions};
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `vitaccel bench pruning` (its help text is on `bench::What::Pruning`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Shape.
    #[arg(long, value_enum, default_value = "deit-tiny")]
    pub shape: Shape,
    /// Accelerator config to simulate (default 16x16).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// 0-based selector positions (SPViT: before blocks 4, 7, 10).
    #[arg(long, value_delimiter = ',', default_value = "3,6,9")]
    pub selectors: Vec<usize>,
    /// Keep ratio per selector (of the tokens reaching it).
    #[arg(long, value_delimiter = ',', default_value = "1.0,0.7,0.5,0.3")]
    pub keep: Vec<f64>,
    /// JSON output (the plot goes beside it, as .png and .svg).
    #[arg(long, default_value = "out/bench/pruning.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let args = format!(
            " --shape {}{} --selectors {} --keep {}",
            common::shape_arg(self.shape),
            common::config_arg(self.config.as_deref()),
            common::list_arg(&self.selectors),
            common::list_arg(&self.keep)
        );
        common::command_line("pruning", &args, &self.json)
    }
}

/// SPViT's published cumulative keep ratios after the selectors before blocks 4, 7, 10 (of the
/// 196 patch tokens), as per-stage ratios.
const SPVIT_STAGES: [f64; 3] = [0.617, 0.369 / 0.617, 0.137 / 0.369];

/// Layer kinds whose cost grows with the square of the live tokens.
const QUADRATIC: [LayerKind; 3] = [LayerKind::Scores, LayerKind::AttnV, LayerKind::Softmax];

/// One block of one pruned run.
#[derive(Serialize, Deserialize)]
pub struct BlockFigures {
    pub block: usize,
    pub live_tokens: usize,
    /// Unit-busy cycles of the block (its selector excluded).
    pub cycles: u64,
    /// The same block with every token live.
    pub dense_cycles: u64,
    pub ratio: f64,
    /// `(linear part) r + (attention part) r^2` of the dense block, relative.
    pub expected_ratio: f64,
    /// `ratio / expected_ratio - 1`, percent.
    pub error_percent: f64,
    /// Unit-busy cycles of the selector before this block, if any.
    pub selector_cycles: u64,
}

/// One keep setting of the selectors.
#[derive(Serialize, Deserialize)]
pub struct PruningPoint {
    pub label: String,
    /// Target keep ratio per selector.
    pub keep_per_stage: Vec<f64>,
    /// Live tokens after each selector (as read back from the RTL).
    pub live_after_selector: Vec<usize>,
    pub rtl_cycles: u64,
    /// The golden ISA simulator's estimate (exact per instruction).
    pub model_cycles: u64,
    /// Unpruned RTL cycles / these RTL cycles.
    pub speedup: f64,
    /// Selector instructions' unit-busy cycles as a share of all unit-busy cycles, percent.
    pub selector_share_percent: f64,
    pub kept_and_logits_equal_golden: bool,
    pub blocks: Vec<BlockFigures>,
    pub verilator_seconds: f64,
}

/// `pruning.json`.
#[derive(Serialize, Deserialize)]
pub struct PruningBench {
    pub shape: String,
    pub array: (usize, usize),
    pub clock_mhz: f64,
    pub tokens: usize,
    pub selectors: Vec<usize>,
    pub dense_rtl_cycles: u64,
    pub dense_latency_ms: f64,
    pub points: Vec<PruningPoint>,
    /// Worst `|error_percent|` over the pruned blocks with at least `R` live tokens.
    pub worst_block_error_percent: f64,
    /// The same below `R` live tokens, where a GEMM tile's weight load (`R` cycles per tile,
    /// whatever the token count) bounds the block: the expectation does not hold there.
    pub worst_block_error_percent_below_r: f64,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
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
    let (rtl, wall) = common::run_image_rtl(cfg, &cm, im, img)?;
    let mut g = common::golden_device(cfg, &cm.program)?;
    let gold = cm.run_image(&mut g, &patches, common::GOLDEN_TIMEOUT)?;
    let want = im.forward(img, &ForwardOptions { prune }, None);
    let exact = rtl.logits == want.logits && gold.logits == want.logits && (!prune || rtl.kept == want.kept);
    let live = rtl.kept.iter().map(Vec::len).collect();
    let by = busy_by_block(&g, &cm, im.shape.blocks.len());
    Ok((rtl.stats.cycles, gold.stats.cycles, exact, live, by, wall))
}

/// Per-block figures of one pruned run against the unpruned one, and the selectors' busy
/// cycles: `by`/`dense_by` are unit-busy cycles by (block, kind), `live` the live tokens after
/// each selector, `sel_blocks` the selectors' blocks, `t` all tokens.
fn block_figures(
    by: &[Vec<(LayerKind, u64)>],
    dense_by: &[Vec<(LayerKind, u64)>],
    live: &[usize],
    sel_blocks: &[usize],
    t: usize,
) -> (Vec<BlockFigures>, u64) {
    let sum = |v: &[(LayerKind, u64)], f: &dyn Fn(LayerKind) -> bool| -> u64 {
        v.iter().filter(|(k, _)| f(*k)).map(|(_, c)| c).sum()
    };
    let mut sel_total = 0;
    let mut blocks = vec![];
    for (b, (parts, dense)) in by.iter().zip(dense_by).enumerate() {
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
        blocks.push(BlockFigures {
            block: b,
            live_tokens: n,
            cycles,
            dense_cycles,
            ratio,
            expected_ratio: expected,
            error_percent: 100.0 * (ratio / expected - 1.0),
            selector_cycles,
        });
    }
    (blocks, sel_total)
}

/// The keep settings to measure: `keep` at every selector, then SPViT's ratios when there are
/// three selectors.
fn stages(keep: &[f64], selectors: usize) -> Vec<(String, Vec<f64>)> {
    let mut stages: Vec<(String, Vec<f64>)> =
        keep.iter().map(|&k| (format!("keep {k:.2}"), vec![k; selectors])).collect();
    if selectors == SPVIT_STAGES.len() {
        stages.push(("SPViT ratios".into(), SPVIT_STAGES.to_vec()));
    }
    stages
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let cfg = common::config(a.config.as_deref())?;
    let sh = a.shape.shape(&a.selectors);
    let (mut im, imgs) = common::synthetic(&sh)?;
    let img = &imgs[0];
    let t = sh.tokens();
    // Selectors in block order (the order of the read-back and of the golden model's `kept`).
    let sel_blocks: Vec<usize> = sh.selectors.iter().map(|s| s.block).collect();
    ensure!(sel_blocks.windows(2).all(|w| w[0] < w[1]), "--selectors: distinct blocks in increasing order");
    println!(
        "{:?} on the RTL ({}x{} array), selectors before blocks {:?} (0-based), {t} tokens:",
        a.shape, cfg.array_rows, cfg.array_cols, a.selectors
    );
    let (dense_cycles, dense_model, dense_ok, _, dense_by, dense_wall) = run_once(&im, img, &cfg, false)?;
    ensure!(dense_ok, "unpruned: RTL logits differ from golden");
    println!(
        "  unpruned: {dense_cycles} cycles ({:.3} ms at {} MHz; model {dense_model}), {dense_wall:.1} s",
        common::latency_ms(dense_cycles, cfg.clock_mhz),
        cfg.clock_mhz
    );
    let mut points = vec![];
    let (mut worst, mut worst_below) = (0f64, 0f64);
    for (label, ks) in stages(&a.keep, a.selectors.len()) {
        ensure!(ks.iter().all(|k| (0.0..=1.0).contains(k)), "--keep: fractions are in [0, 1]");
        tune(&mut im, img, &ks);
        let (cycles, model_cycles, exact, live, by, wall) = run_once(&im, img, &cfg, true)?;
        let total: u64 = by.iter().flatten().map(|(_, c)| c).sum();
        let (blocks, sel_total) = block_figures(&by, &dense_by, &live, &sel_blocks, t);
        for b in blocks.iter().filter(|b| b.live_tokens < t) {
            if b.live_tokens >= cfg.array_rows {
                worst = worst.max(b.error_percent.abs());
            } else {
                worst_below = worst_below.max(b.error_percent.abs());
            }
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
        print_point(&p, cfg.clock_mhz);
        ensure!(exact, "{label}: the RTL differs from the golden model");
        points.push(p);
    }
    let r = PruningBench {
        shape: format!("{:?}", a.shape),
        array: (cfg.array_rows, cfg.array_cols),
        clock_mhz: cfg.clock_mhz,
        tokens: t,
        selectors: a.selectors.clone(),
        dense_rtl_cycles: dense_cycles,
        dense_latency_ms: common::latency_ms(dense_cycles, cfg.clock_mhz),
        points,
        worst_block_error_percent: worst,
        worst_block_error_percent_below_r: worst_below,
        command: a.command_line(),
    };
    println!(
        "  pruned blocks, worst deviation from the expected cycles: {worst:.2} % with >= {} live tokens, {worst_below:.2} % \
         below (weight-load bound)",
        cfg.array_rows
    );
    common::save_json(&a.json, &r)?;
    let files = plot::save_xy(&chart(&r), &common::plot_stem(&a.json))?;
    println!("  plotted {}", plot::names(&files));
    Ok(())
}

fn print_point(p: &PruningPoint, clock_mhz: f64) {
    println!(
        "  {}: live after selectors {:?}, {} cycles ({:.3} ms; model {}), speedup x{:.2}, selectors {:.1} % \
         of busy cycles, kept sets and logits {} golden, {:.1} s",
        p.label,
        p.live_after_selector,
        p.rtl_cycles,
        common::latency_ms(p.rtl_cycles, clock_mhz),
        p.model_cycles,
        p.speedup,
        p.selector_share_percent,
        if p.kept_and_logits_equal_golden { "equal" } else { "DIFFER FROM" },
        p.verilator_seconds
    );
    let row: Vec<String> = p
        .blocks
        .iter()
        .map(|b| format!("b{} {}t x{:.3}/{:.3}", b.block, b.live_tokens, b.ratio, b.expected_ratio))
        .collect();
    println!("      per block (tokens, cycles ratio / expected): {}", row.join(", "));
}

/// Block cycles (relative to the unpruned block) against live tokens / T, every block of every
/// point (dots measured, rings expected), with the proportional and quadratic references.
pub fn chart(r: &PruningBench) -> XyChart {
    let curve = |f: fn(f64) -> f64| (0..=20).map(|i| i as f64 / 20.0).map(|x| (x, f(x))).collect();
    let mut series = vec![
        Series { label: Some("r = live / all tokens".into()), color: GREY, mark: Mark::Dashed, points: curve(|x| x) },
        Series {
            label: Some("r²".into()),
            color: RGBColor(200, 200, 200),
            mark: Mark::Dashed,
            points: curve(|x| x * x),
        },
        Series {
            label: Some("expected: linear part r + attention part r²".into()),
            color: PALETTE[0],
            mark: Mark::Rings,
            points: vec![],
        },
    ];
    for (i, p) in r.points.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let at = |v: fn(&BlockFigures) -> f64| -> Vec<(f64, f64)> {
            p.blocks.iter().map(|b| (b.live_tokens as f64 / r.tokens as f64, v(b))).collect()
        };
        series.push(Series {
            label: Some(format!("{} (x{:.2}): measured", p.label, p.speedup)),
            color,
            mark: Mark::Dots,
            points: at(|b| b.ratio),
        });
        series.push(Series { label: None, color, mark: Mark::Rings, points: at(|b| b.expected_ratio) });
    }
    XyChart {
        title: format!("{} on {}x{}: block cycles vs live tokens (on-chip pruning)", r.shape, r.array.0, r.array.1),
        x_label: format!("live tokens in the block / {} tokens (fraction)", r.tokens),
        y_label: "block cycles / unpruned block cycles (ratio)".into(),
        x_range: 0.0..1.02,
        y_range: 0.0..1.1,
        series,
    }
}

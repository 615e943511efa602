//! `vitaccel bench tokens`: cycles against the live token count, one program for every count.

use super::common;
use super::plot::{self, Mark, Series, XyChart, GREY, PALETTE};
use crate::commands::synth::Shape;
use anyhow::Result;
use host::cycle_model::CycleModel;
use host::device::golden::schedule;
use host::model_compile::{compile_model, ModelOptions};
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `vitaccel bench tokens` (its help text is on `bench::What::Tokens`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Shape.
    #[arg(long, value_enum, default_value = "deit-tiny")]
    pub shape: Shape,
    /// Accelerator config to simulate (default 16x16).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Fractions of patch tokens live.
    #[arg(long, value_delimiter = ',', default_value = "1.0,0.7,0.5,0.3")]
    pub keep: Vec<f64>,
    /// JSON output (the plot goes beside it, as .png and .svg).
    #[arg(long, default_value = "out/bench/tokens.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let args = format!(
            " --shape {}{} --keep {}",
            common::shape_arg(self.shape),
            common::config_arg(self.config.as_deref()),
            common::list_arg(&self.keep)
        );
        common::command_line("tokens", &args, &self.json)
    }
}

/// One live-token count of `bench tokens`.
#[derive(Serialize, Deserialize)]
pub struct TokensPoint {
    pub keep: f64,
    pub live_tokens: usize,
    pub rtl_cycles: u64,
    pub model_cycles: u64,
    /// RTL cycles relative to all tokens live.
    pub cycles_ratio: f64,
    /// Unit busy cycles by layer type (cycle model, exact per instruction) and their ratio to
    /// all tokens live.
    pub cycles_by_layer: Vec<(String, u64, f64)>,
    pub bit_exact_with_golden_isa: bool,
    pub verilator_seconds: f64,
}

/// `tokens.json`.
#[derive(Serialize, Deserialize)]
pub struct TokensBench {
    pub shape: String,
    pub array: (usize, usize),
    pub tokens: usize,
    pub points: Vec<TokensPoint>,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let cfg = common::config(a.config.as_deref())?;
    let sh = a.shape.shape(&[]);
    let (im, imgs) = common::synthetic(&sh)?;
    let mut cm = compile_model(&im, &cfg, ModelOptions { live_tokens: true, ..ModelOptions::default() })?;
    let (t, prefix) = (sh.tokens(), sh.prefix_tokens());
    let patches = im.input_patches(&imgs[0]);
    let model = CycleModel::new(&cfg);
    let mut points: Vec<TokensPoint> = vec![];
    println!(
        "{:?} on the RTL ({}x{} array), every block at the live token count (model {t} tokens):",
        a.shape, cfg.array_rows, cfg.array_cols
    );
    for &k in &a.keep {
        anyhow::ensure!((0.0..=1.0).contains(&k), "--keep {k}: fractions are in [0, 1]");
        let live = prefix + ((t - prefix) as f64 * k).round() as usize;
        cm.program.live_tokens = live as u16;
        let (rtl, wall) = common::run_image_rtl(&cfg, &cm, &im, &imgs[0])?;
        let (rtl_logits, rtl_cycles) = (rtl.logits, rtl.stats.cycles);
        let gdev = &mut common::golden_device(&cfg, &cm.program)?;
        let golden_run = cm.run_image(gdev, &patches, common::GOLDEN_TIMEOUT)?;
        let resolved: Vec<_> = cm.program.insns.iter().map(|i| i.resolve(live as u16)).collect::<Result<_, _>>()?;
        let by = common::cycles_by_layer(&model, &resolved, &cm.layer_of);
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
            rtl_cycles,
            model_cycles: schedule(&model, &resolved).cycles,
            cycles_ratio: ratio(rtl_cycles, full.map(|p| p.rtl_cycles)),
            cycles_by_layer,
            bit_exact_with_golden_isa: rtl_logits == golden_run.logits,
            verilator_seconds: wall,
        };
        print_point(&p);
        anyhow::ensure!(
            p.bit_exact_with_golden_isa,
            "RTL logits differ from the golden ISA simulator at {live} tokens"
        );
        points.push(p);
    }
    let r = TokensBench {
        shape: format!("{:?}", a.shape),
        array: (cfg.array_rows, cfg.array_cols),
        tokens: t,
        points,
        command: a.command_line(),
    };
    common::save_json(&a.json, &r)?;
    if r.points.is_empty() {
        return Ok(());
    }
    let files = plot::save_xy(&chart(&r), &common::plot_stem(&a.json))?;
    println!("  plotted {}", plot::names(&files));
    Ok(())
}

fn print_point(p: &TokensPoint) {
    println!(
        "  keep {:.2}: {:>3} live tokens, {:>9} cycles (x{:.3}; model {}), logits {} the golden ISA, {:.1} s",
        p.keep,
        p.live_tokens,
        p.rtl_cycles,
        p.cycles_ratio,
        p.model_cycles,
        if p.bit_exact_with_golden_isa { "equal" } else { "DIFFER FROM" },
        p.verilator_seconds
    );
    let layers: Vec<String> = p.cycles_by_layer.iter().map(|(n, v, r)| format!("{n} {v} (x{r:.3})")).collect();
    println!("      {}", layers.join(", "));
}

/// Layer types whose cost is linear in the live tokens.
const LINEAR: [&str; 3] = ["Qkv", "Proj", "Mlp"];
/// Layer types of the attention core (quadratic in the live tokens).
const ATTENTION: [&str; 3] = ["Scores", "AttnV", "Softmax"];

/// Relative cycles against the live fraction of the tokens: the whole model (RTL), the linear
/// layers and the attention core (cycle model), with the proportional and quadratic references.
pub fn chart(r: &TokensBench) -> XyChart {
    let group = |p: &TokensPoint, names: &[&str]| -> u64 {
        p.cycles_by_layer.iter().filter(|l| names.contains(&l.0.as_str())).map(|l| l.1).sum()
    };
    let first = &r.points[0];
    let rel = |p: &TokensPoint, names: &[&str]| group(p, names) as f64 / group(first, names).max(1) as f64;
    let frac = |p: &TokensPoint| p.live_tokens as f64 / first.live_tokens as f64;
    let curve = |f: fn(f64) -> f64| (0..=20).map(|i| i as f64 / 20.0).map(|x| (x, f(x))).collect();
    let measured =
        |label: &str, color, points| Series { label: Some(label.into()), color, mark: Mark::LineDots, points };
    XyChart {
        title: format!("{} on {}x{}: cycles vs live tokens", r.shape, r.array.0, r.array.1),
        x_label: format!("live tokens / {} tokens (fraction)", first.live_tokens),
        y_label: format!("cycles / cycles at {} tokens (ratio)", first.live_tokens),
        x_range: 0.0..1.02,
        y_range: 0.0..1.05,
        series: vec![
            Series { label: Some("r (proportional)".into()), color: GREY, mark: Mark::Dashed, points: curve(|x| x) },
            Series {
                label: Some("r² (quadratic)".into()),
                color: RGBColor(200, 200, 200),
                mark: Mark::Dashed,
                points: curve(|x| x * x),
            },
            measured("whole model (RTL)", PALETTE[0], r.points.iter().map(|p| (frac(p), p.cycles_ratio)).collect()),
            measured(
                "QKV + projection + MLP (cycle model)",
                PALETTE[1],
                r.points.iter().map(|p| (frac(p), rel(p, &LINEAR))).collect(),
            ),
            measured(
                "scores + P·V + softmax (cycle model)",
                PALETTE[2],
                r.points.iter().map(|p| (frac(p), rel(p, &ATTENTION))).collect(),
            ),
        ],
    }
}

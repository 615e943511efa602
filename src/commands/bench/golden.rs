//! `vitaccel bench golden`: integer golden-model inference time (no RTL).

use super::common;
use crate::commands::synth::Shape;
use anyhow::Result;
use golden::synth::{random_images, random_model};
use golden::ForwardOptions;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `vitaccel bench golden` (its help text is on `bench::What::Golden`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Shape.
    #[arg(long, value_enum, default_value = "deit-tiny")]
    pub shape: Shape,
    /// Timed images.
    #[arg(long, default_value_t = 5)]
    pub images: usize,
    /// 0-based selector positions (empty: none).
    #[arg(long, value_delimiter = ',', default_value = "3,6,9")]
    pub selectors: Vec<usize>,
    /// JSON output.
    #[arg(long, default_value = "out/bench/golden.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let args = format!(
            " --shape {} --images {} --selectors {}",
            common::shape_arg(self.shape),
            self.images,
            common::list_arg(&self.selectors)
        );
        common::command_line("golden", &args, &self.json)
    }
}

/// `golden.json`.
#[derive(Serialize, Deserialize)]
pub struct GoldenBench {
    pub shape: String,
    pub params: usize,
    pub macs_dense: usize,
    pub images: usize,
    pub mean_live_tokens: Vec<f64>,
    pub int_seconds_per_image: f64,
    pub int_gmacs_per_second: f64,
    pub int_dense_seconds_per_image: f64,
    pub int_dense_gmacs_per_second: f64,
    pub float_seconds_per_image: f64,
    pub quantize_seconds: f64,
    pub threads: usize,
    pub profile: String,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let images = a.images.max(1);
    let sh = a.shape.shape(&a.selectors);
    let fm = random_model(&sh, 0, 0.0);
    let imgs = random_images(&sh, images + 2, 1);
    // Times calibration and quantization alone, so not `common::synthetic`.
    let t = Instant::now();
    let (im, _, _) = crate::commands::quantize::calibrate_and_quantize(&fm, &imgs[images..])?;
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
    let mean_live =
        (0..sh.blocks.len()).map(|b| outs.iter().map(|o| o.live[b] as f64).sum::<f64>() / images as f64).collect();
    let r = GoldenBench {
        shape: format!("{:?}", a.shape),
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
        profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
        command: a.command_line(),
    };
    print(&r);
    common::save_json(&a.json, &r)
}

fn print(r: &GoldenBench) {
    println!(
        "golden integer inference, {} ({} params, {:.3} GMACs dense):",
        r.shape,
        r.params,
        r.macs_dense as f64 / 1e9
    );
    println!(
        "  all tokens: {:.3} s per image ({:.2} GMAC/s, single thread, {} build), target < 1 s",
        r.int_dense_seconds_per_image, r.int_dense_gmacs_per_second, r.profile
    );
    println!(
        "  with the selectors' pruning: {:.3} s per image ({:.2} GMAC/s)",
        r.int_seconds_per_image, r.int_gmacs_per_second
    );
    println!(
        "  float reference {:.3} s per image; calibration + quantization {:.2} s",
        r.float_seconds_per_image, r.quantize_seconds
    );
    println!("  live tokens per block: {:?}", r.mean_live_tokens);
}

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

/// Run.
pub fn run(a: Args) -> Result<()> {
    match a.what {
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

//! `vitaccel synth`: synthetic models with seeded random weights.

use anyhow::Result;
use golden::synth::{deit_tiny, nvit_t_like, random_images, random_model};
use host::Dataset;
use std::path::PathBuf;

/// Which synthetic shape.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Shape {
    /// DeiT-Tiny (distilled): E=192, 12 x 3 heads of 64, MLP 768, 198 tokens.
    DeitTiny,
    /// NViT-T-like heterogeneous widths, E=256, 198 tokens.
    NvitT,
    /// A tiny DeiT-like model for quick runs: E=32, 4 blocks of 2 heads of 16, MLP 64, 18 tokens
    /// (16 patches of 4x4 pixels), 10 classes.
    Tiny,
}

impl Shape {
    /// The model shape with selectors before the given blocks.
    pub fn shape(self, selectors: &[usize]) -> spec::ModelShape {
        match self {
            Shape::DeitTiny => deit_tiny(selectors),
            Shape::NvitT => nvit_t_like(selectors),
            Shape::Tiny => tiny(selectors),
        }
    }
}

/// The [`Shape::Tiny`] model shape: DeiT-Tiny's structure (distilled, selector heads of half the
/// reduced width) at a size that runs on the RTL in seconds.
fn tiny(selectors: &[usize]) -> spec::ModelShape {
    let mut shape = deit_tiny(selectors);
    let (embed, sel_heads) = (32, 2);
    let d = embed / sel_heads;
    shape.embed = embed;
    shape.blocks = vec![spec::BlockShape { heads: 2, qk: 16, v: 16, mlp: 64 }; 4];
    shape.img_size = 16;
    shape.patch_size = 4;
    shape.num_classes = 10;
    for s in &mut shape.selectors {
        *s = spec::SelectorShape { block: s.block, heads: sel_heads, hidden1: d / 2, hidden2: d / 4, head_hidden: 1 };
    }
    shape
}

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Shape to generate.
    #[arg(value_enum)]
    shape: Shape,
    /// Output model file.
    #[arg(short, long)]
    out: PathBuf,
    /// Weight seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// 0-based blocks to place selectors before (SPViT: 3,6,9).
    #[arg(long, value_delimiter = ',', default_value = "3,6,9")]
    selectors: Vec<usize>,
    /// Added to every selector's keep logit (positive keeps more tokens).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    keep_bias: f32,
    /// Also write this many random images (for calibration/benchmarks) to this file.
    #[arg(long, requires = "images_out")]
    images: Option<usize>,
    /// Where --images go.
    #[arg(long)]
    images_out: Option<PathBuf>,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let shape = a.shape.shape(&a.selectors);
    shape.validate()?;
    let fm = random_model(&shape, a.seed, a.keep_bias);
    host::model_file::save(&fm, &a.out)?;
    println!("wrote {:?} ({} parameters) to {}", a.shape, shape.params(), a.out.display());
    if let (Some(n), Some(p)) = (a.images, &a.images_out) {
        let ds = Dataset { images: random_images(&shape, n, a.seed), labels: None };
        std::fs::write(p, ds.to_bytes())?;
        println!("wrote {n} random images to {}", p.display());
    }
    Ok(())
}

//! Synthetic models with seeded random weights, for shapes no trained checkpoint exists for here
//! (DeiT-Tiny, NViT-T-like) and for property tests over random shapes.

use crate::float::{Block, FloatModel, LayerNorm, Linear, Selector};
use crate::image::Image;
use ndarray::{Array1, Array2};
use spec::{BlockShape, InputSpec, ModelShape, SelectorShape};

/// SplitMix64: a tiny, well-known, seedable generator (reproducible across platforms).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in `[lo, hi]`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// DeiT-Tiny (distilled): E=192, 12 blocks x 3 heads of 64, MLP 768, 224x224 RGB, 16x16 patches
/// (198 tokens). `selectors` are 0-based block positions (SPViT: 3, 6, 9).
pub fn deit_tiny(selectors: &[usize]) -> ModelShape {
    imagenet_shape(192, vec![BlockShape { heads: 3, qk: 64, v: 64, mlp: 768 }; 12], selectors, 3)
}

/// An NViT-T-like heterogeneous shape (E=256; fewer, narrower Q/K heads in later blocks, a wider
/// MLP in the middle, V wider than Q/K). A stand-in with NViT's pruning granularity and trends,
/// not the published NViT-T configuration (not available offline).
pub fn nvit_t_like(selectors: &[usize]) -> ModelShape {
    let heads = [4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2];
    let qk = [32, 32, 32, 32, 24, 24, 24, 24, 16, 16, 16, 16];
    let v = [64, 64, 64, 64, 64, 64, 48, 48, 48, 48, 48, 48];
    let mlp = [512, 640, 768, 896, 896, 896, 768, 768, 640, 512, 384, 256];
    let blocks = (0..12).map(|b| BlockShape { heads: heads[b], qk: qk[b], v: v[b], mlp: mlp[b] }).collect();
    imagenet_shape(256, blocks, selectors, 4)
}

fn imagenet_shape(embed: usize, blocks: Vec<BlockShape>, selectors: &[usize], sel_heads: usize) -> ModelShape {
    let d = embed / sel_heads;
    ModelShape {
        embed,
        blocks,
        img_size: 224,
        patch_size: 16,
        in_chans: 3,
        num_classes: 1000,
        distilled: true,
        selectors: selectors
            .iter()
            .map(|&block| SelectorShape {
                block,
                heads: sel_heads,
                hidden1: d / 2,
                hidden2: d / 4,
                head_hidden: (sel_heads / 2).max(1),
            })
            .collect(),
        attn_scale: 0.125,
        ln_eps: 1e-6,
        input: InputSpec {
            pixel_max: 255,
            pixel_scale: 1.0 / 255.0,
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        },
    }
}

fn linear(rng: &mut Rng, out: usize, inp: usize) -> Linear {
    let sd = 1.0 / (inp as f64).sqrt();
    Linear {
        w: Array2::from_shape_simple_fn((out, inp), || (rng.normal() * sd) as f32),
        b: Array1::from_shape_simple_fn(out, || (rng.normal() * 0.02) as f32),
    }
}

fn layernorm(rng: &mut Rng, n: usize) -> LayerNorm {
    LayerNorm {
        gamma: Array1::from_shape_simple_fn(n, || (1.0 + rng.normal() * 0.1) as f32),
        beta: Array1::from_shape_simple_fn(n, || (rng.normal() * 0.05) as f32),
    }
}

/// A float model of `shape` with seeded random weights (fan-in scaled, so activations stay O(1)).
/// `keep_bias` is added to every selector's keep logit: positive keeps more tokens.
pub fn random_model(shape: &ModelShape, seed: u64, keep_bias: f32) -> FloatModel {
    shape.validate().expect("synthetic shape is valid");
    let mut rng = Rng::new(seed);
    let e = shape.embed;
    let n0 = shape.tokens();
    let small = |rng: &mut Rng, n: usize| Array1::from_shape_simple_fn(n, || (rng.normal() * 0.5) as f32);
    let patch_embed = linear(&mut rng, e, shape.patch_dim());
    let cls_token = small(&mut rng, e);
    let dist_token = shape.distilled.then(|| small(&mut rng, e));
    let pos_embed = Array2::from_shape_simple_fn((n0, e), || (rng.normal() * 0.5) as f32);
    let blocks = shape
        .blocks
        .iter()
        .map(|b| Block {
            norm1: layernorm(&mut rng, e),
            qkv: linear(&mut rng, b.qkv_width(), e),
            token_mask: Array1::from_shape_simple_fn(n0 + 1, || (1.0 + rng.normal() * 0.05) as f32),
            proj: linear(&mut rng, e, b.attn_out_width()),
            norm2: layernorm(&mut rng, e),
            fc1: linear(&mut rng, b.mlp, e),
            fc2: linear(&mut rng, e, b.mlp),
        })
        .collect();
    let selectors = shape
        .selectors
        .iter()
        .map(|s| {
            let d = e / s.heads;
            let mut out3 = linear(&mut rng, 2, s.hidden2);
            out3.b[0] += keep_bias;
            Selector {
                norm: layernorm(&mut rng, d),
                in_proj: linear(&mut rng, d, d),
                out1: linear(&mut rng, s.hidden1, d),
                out2: linear(&mut rng, s.hidden2, s.hidden1),
                out3,
                head_fc1: linear(&mut rng, s.head_hidden, s.heads),
                head_fc2: linear(&mut rng, s.heads, s.head_hidden),
            }
        })
        .collect();
    FloatModel {
        shape: shape.clone(),
        patch_embed,
        cls_token,
        dist_token,
        pos_embed,
        blocks,
        selectors,
        norm: layernorm(&mut rng, e),
        head: linear(&mut rng, shape.num_classes, e),
        head_dist: shape.distilled.then(|| linear(&mut rng, shape.num_classes, e)),
    }
}

/// Seeded random images of the model's input size.
pub fn random_images(shape: &ModelShape, count: usize, seed: u64) -> Vec<Image> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let n = shape.in_chans * shape.img_size * shape.img_size;
    (0..count)
        .map(|_| Image {
            chans: shape.in_chans,
            size: shape.img_size,
            pixels: (0..n).map(|_| rng.range(0, shape.input.pixel_max as usize) as u8).collect(),
        })
        .collect()
}

/// A random small NViT-shaped model shape (for property tests): `blocks` blocks with random
/// heads/QK/V/MLP (multiples of `granule`), random selector positions, random prefix tokens.
pub fn random_shape(rng: &mut Rng, max_blocks: usize, granule: usize) -> ModelShape {
    assert!(granule.is_multiple_of(2), "granule must be even so selector heads have even widths");
    let sel_heads = [1usize, 2, 4][rng.range(0, 2)];
    let embed = sel_heads * granule * rng.range(1, 3);
    let chans = rng.range(1, 3);
    let nblocks = rng.range(1, max_blocks);
    let blocks = (0..nblocks)
        .map(|_| BlockShape {
            heads: rng.range(1, 4),
            qk: granule * rng.range(1, 3),
            v: granule * rng.range(1, 3),
            mlp: granule * rng.range(1, 6),
        })
        .collect();
    let mut selectors = Vec::new();
    for b in 0..nblocks {
        if rng.range(0, 2) == 0 {
            let d = embed / sel_heads;
            selectors.push(SelectorShape {
                block: b,
                heads: sel_heads,
                hidden1: (d / 2).max(1),
                hidden2: (d / 4).max(1),
                head_hidden: (sel_heads / 2).max(1),
            });
        }
    }
    let patch = [1usize, 2][rng.range(0, 1)];
    let img = patch * rng.range(1, 4);
    ModelShape {
        embed,
        blocks,
        img_size: img,
        patch_size: patch,
        in_chans: chans,
        num_classes: rng.range(2, 10),
        distilled: rng.range(0, 1) == 1,
        selectors,
        attn_scale: 0.125,
        ln_eps: 1e-6,
        input: InputSpec { pixel_max: 255, pixel_scale: 1.0 / 255.0, mean: vec![0.5; chans], std: vec![0.25; chans] },
    }
}

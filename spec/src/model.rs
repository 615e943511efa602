//! The model contract: NViT-shaped blocks (per-block heads, Q/K, V and MLP widths) with SPViT token
//! selectors. See `docs/MODEL.md` for the forward pass these shapes describe.

use serde::{Deserialize, Serialize};

/// Shape of one transformer block. All heads of a block share `qk` and `v` (NViT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockShape {
    /// Number of attention heads `h_b`.
    pub heads: usize,
    /// Per-head query/key width `qk_b`.
    pub qk: usize,
    /// Per-head value width `v_b`.
    pub v: usize,
    /// MLP hidden width `m_b`.
    pub mlp: usize,
}

impl BlockShape {
    /// Output width of the fused QKV projection: `h * (2 qk + v)`.
    pub fn qkv_width(&self) -> usize {
        self.heads * (2 * self.qk + self.v)
    }
    /// Width of the concatenated head outputs: `h * v`.
    pub fn attn_out_width(&self) -> usize {
        self.heads * self.v
    }
}

/// Shape of one SPViT token selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectorShape {
    /// 0-based index of the block this selector runs before.
    pub block: usize,
    /// Selector heads `h_s`; each head scores `d = E / h_s` channels with shared weights.
    pub heads: usize,
    /// Width of the first output layer `d1` (`d/2` in SPViT).
    pub hidden1: usize,
    /// Width of the second output layer `d2` (`d/4` in SPViT).
    pub hidden2: usize,
    /// Hidden width of the head-importance branch (`h_s/2` in SPViT).
    pub head_hidden: usize,
}

/// How raw integer pixels become the float input of the patch embedding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Largest raw pixel value (16 for the 8x8 digits, 255 for 8-bit images).
    pub pixel_max: u16,
    /// `x = (pixel * pixel_scale - mean[c]) / std[c]`.
    pub pixel_scale: f64,
    /// Per-channel mean.
    pub mean: Vec<f64>,
    /// Per-channel standard deviation.
    pub std: Vec<f64>,
}

/// Everything about a model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelShape {
    /// Global embedding width `E`.
    pub embed: usize,
    /// Per-block shapes, in order.
    pub blocks: Vec<BlockShape>,
    /// Image side in pixels (square images).
    pub img_size: usize,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// Image channels.
    pub in_chans: usize,
    /// Output classes.
    pub num_classes: usize,
    /// Whether a distillation token and head exist (DeiT/NViT).
    pub distilled: bool,
    /// Token selectors, sorted by block.
    pub selectors: Vec<SelectorShape>,
    /// Attention logit scale (NViT keeps DeiT's 1/8).
    pub attn_scale: f64,
    /// LayerNorm epsilon of the float model.
    pub ln_eps: f64,
    /// Pixel normalisation.
    pub input: InputSpec,
}

/// Upper bound on every single dimension of a model (a guard against corrupt files, not a hardware limit).
pub const MAX_DIM: usize = 1 << 16;

/// Most blocks in a model (a guard against corrupt files; with [`MAX_DIM`] it keeps parameter and
/// multiply-accumulate counts inside 64 bits).
pub const MAX_BLOCKS: usize = 1024;

/// Largest raw pixel value: images are 8-bit and the input LUT has 256 entries.
pub const MAX_PIXEL: u16 = 255;

/// A model shape that violates the model contract itself (independent of any hardware).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid model shape: {0}")]
pub struct ShapeError(pub String);

impl ModelShape {
    /// Patch tokens `P = (img_size / patch_size)^2`.
    pub fn patches(&self) -> usize {
        (self.img_size / self.patch_size).pow(2)
    }
    /// Class (+ distillation) tokens that are never pruned.
    pub fn prefix_tokens(&self) -> usize {
        1 + self.distilled as usize
    }
    /// Tokens entering block 0: `N0 = prefix + P`. Also the original index of a package token.
    pub fn tokens(&self) -> usize {
        self.prefix_tokens() + self.patches()
    }
    /// Most tokens that can ever be live (every selector may add a package token while
    /// dropping at least one token, so the count never exceeds `N0`).
    pub fn max_live_tokens(&self) -> usize {
        self.tokens()
    }
    /// Length of a flattened patch `C * p * p`.
    pub fn patch_dim(&self) -> usize {
        self.in_chans * self.patch_size * self.patch_size
    }
    /// Width of one selector head `d = E / h_s`.
    pub fn selector_dim(&self, s: &SelectorShape) -> usize {
        self.embed / s.heads
    }
    /// The selector placed before block `b`, if any.
    pub fn selector_before(&self, b: usize) -> Option<(usize, &SelectorShape)> {
        self.selectors.iter().enumerate().find(|(_, s)| s.block == b)
    }

    /// Check the contract: positive sizes, divisibility, selector placement.
    pub fn validate(&self) -> Result<(), ShapeError> {
        let err = |m: String| Err(ShapeError(m));
        let dims = [
            ("embed", self.embed),
            ("blocks", self.blocks.len()),
            ("num_classes", self.num_classes),
            ("in_chans", self.in_chans),
            ("img_size", self.img_size),
            ("patch_size", self.patch_size),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, d)| *d == 0) {
            return err(format!("{name} = 0 must be non-zero"));
        }
        // Sanity bounds (far above any real model) keep size arithmetic from overflowing.
        let mut dims = dims.into_iter().chain([("selectors", self.selectors.len())]);
        if let Some((name, d)) = dims.find(|(_, d)| *d > MAX_DIM) {
            return err(format!("{name} = {d} exceeds the sanity bound {MAX_DIM}"));
        }
        if !self.img_size.is_multiple_of(self.patch_size) {
            return err(format!("patch_size = {} must divide img_size = {}", self.patch_size, self.img_size));
        }
        if self.patches() > MAX_DIM {
            return err(format!("{} patches exceed the sanity bound {MAX_DIM}", self.patches()));
        }
        if self.blocks.len() > MAX_BLOCKS {
            return err(format!("blocks = {} exceeds the sanity bound {MAX_BLOCKS}", self.blocks.len()));
        }
        if self.patch_dim() > MAX_DIM {
            return err(format!("patch length in_chans x patch_size^2 = {} exceeds {MAX_DIM}", self.patch_dim()));
        }
        for (b, blk) in self.blocks.iter().enumerate() {
            let widths = [("heads", blk.heads), ("qk", blk.qk), ("v", blk.v), ("mlp", blk.mlp)];
            if let Some((name, _)) = widths.iter().find(|(_, d)| *d == 0) {
                return err(format!("block {b}: {name} = 0 must be non-zero"));
            }
            if let Some((name, d)) = widths.iter().find(|(_, d)| *d > MAX_DIM) {
                return err(format!("block {b}: {name} = {d} exceeds the sanity bound {MAX_DIM}"));
            }
            // Checked on the factors first, so these products cannot overflow.
            if blk.qkv_width() > MAX_DIM {
                return err(format!("block {b}: QKV width h*(2qk+v) = {} exceeds {MAX_DIM}", blk.qkv_width()));
            }
        }
        let mut last = None;
        for (i, s) in self.selectors.iter().enumerate() {
            if s.block >= self.blocks.len() {
                return err(format!("selector {i} placed before block {} of {}", s.block, self.blocks.len()));
            }
            if last.is_some_and(|l| s.block <= l) {
                return err(format!("selectors must be sorted by block, one per block (selector {i})"));
            }
            last = Some(s.block);
            if s.heads == 0 || !self.embed.is_multiple_of(s.heads) || !(self.embed / s.heads).is_multiple_of(2) {
                return err(format!("selector {i}: {} heads must split E={} into even widths", s.heads, self.embed));
            }
            let widths = [("hidden1", s.hidden1), ("hidden2", s.hidden2), ("head_hidden", s.head_hidden)];
            if let Some((name, _)) = widths.iter().find(|(_, d)| *d == 0) {
                return err(format!("selector {i}: {name} = 0 must be non-zero"));
            }
            // All heads of a token run at once: h_s x width is an activation row.
            if let Some((name, d)) =
                widths.iter().find(|(_, d)| !matches!(s.heads.checked_mul(*d), Some(w) if w <= MAX_DIM))
            {
                return err(format!("selector {i}: heads x {name} = {} x {d} exceeds {MAX_DIM}", s.heads));
            }
        }
        self.validate_scalars()
    }

    /// The scalar metadata: every float finite and in its range, the pixel format of the input LUT.
    fn validate_scalars(&self) -> Result<(), ShapeError> {
        let err = |m: String| Err(ShapeError(m));
        let input = &self.input;
        if input.mean.len() != self.in_chans || input.std.len() != self.in_chans {
            return err(format!(
                "input.mean has {} and input.std {} entries, in_chans = {} needs one per channel",
                input.mean.len(),
                input.std.len(),
                self.in_chans
            ));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if let Some((c, s)) = input.std.iter().enumerate().find(|(_, &s)| !positive(s)) {
            return err(format!("input.std[{c}] = {s} must be finite and > 0"));
        }
        if let Some((c, m)) = input.mean.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return err(format!("input.mean[{c}] = {m} must be finite"));
        }
        if !positive(input.pixel_scale) {
            return err(format!("input.pixel_scale = {} must be finite and > 0", input.pixel_scale));
        }
        if !(1..=MAX_PIXEL).contains(&input.pixel_max) {
            return err(format!("input.pixel_max = {} must be in 1..={MAX_PIXEL} (8-bit pixels)", input.pixel_max));
        }
        if !positive(self.attn_scale) {
            return err(format!("attn_scale = {} must be finite and > 0", self.attn_scale));
        }
        if !positive(self.ln_eps) {
            return err(format!("ln_eps = {} must be finite and > 0", self.ln_eps));
        }
        Ok(())
    }

    /// Number of parameters (weights, biases, embeddings, masks, selectors).
    pub fn params(&self) -> usize {
        let e = self.embed;
        let n0 = self.tokens();
        let heads = 1 + self.distilled as usize;
        let mut p = e * self.patch_dim() + e + heads * e + n0 * e;
        for b in &self.blocks {
            p += self.block_params(b);
        }
        p += 2 * e + heads * (self.num_classes * e + self.num_classes);
        for s in &self.selectors {
            let d = self.selector_dim(s);
            p += 2 * d + d * d + d + s.hidden1 * d + s.hidden1 + s.hidden2 * s.hidden1 + s.hidden2 + 2 * s.hidden2 + 2;
            p += s.head_hidden * s.heads + s.head_hidden + s.heads * s.head_hidden + s.heads;
        }
        p
    }

    /// Parameters of one block (LayerNorms, QKV, projection, MLP; token mask excluded).
    pub fn block_params(&self, b: &BlockShape) -> usize {
        let e = self.embed;
        4 * e + (e + 1) * b.qkv_width() + (b.attn_out_width() + 1) * e + (e + 1) * b.mlp + (b.mlp + 1) * e
    }

    /// Multiply-accumulates of block `b` run on `n` live tokens, split by kind.
    pub fn block_macs(&self, b: &BlockShape, n: usize) -> BlockMacs {
        let e = self.embed;
        BlockMacs {
            qkv: n * e * b.qkv_width(),
            attention: b.heads * n * n * (b.qk + b.v),
            proj: n * b.attn_out_width() * e,
            mlp: 2 * n * e * b.mlp,
        }
    }

    /// Multiply-accumulates of selector `s` on `n` live tokens.
    pub fn selector_macs(&self, s: &SelectorShape, n: usize) -> usize {
        let d = self.selector_dim(s);
        s.heads * n * (d * d + d * s.hidden1 + s.hidden1 * s.hidden2 + s.hidden2) + 2 * s.heads * s.head_hidden
    }

    /// Total multiply-accumulates of one inference with `live[b]` tokens entering block `b`
    /// (after that block's selector). Selectors run on the tokens live before them.
    pub fn macs(&self, live: &[usize]) -> usize {
        assert_eq!(live.len(), self.blocks.len());
        let mut total = self.patches() * self.patch_dim() * self.embed;
        let mut n = self.tokens();
        for (b, blk) in self.blocks.iter().enumerate() {
            if let Some((_, s)) = self.selector_before(b) {
                total += self.selector_macs(s, n);
            }
            n = live[b];
            total += self.block_macs(blk, n).total();
        }
        total + (1 + self.distilled as usize) * self.embed * self.num_classes
    }

    /// Multiply-accumulates with every token kept (selectors still run and keep everything).
    pub fn macs_dense(&self) -> usize {
        self.macs(&vec![self.tokens(); self.blocks.len()])
    }

    /// NViT's `dim` structure `{EMB, head[], QK[], V[], MLP[]}` as JSON.
    pub fn nvit_dim(&self) -> serde_json::Value {
        serde_json::json!({
            "EMB": self.embed,
            "head": self.blocks.iter().map(|b| b.heads).collect::<Vec<_>>(),
            "QK": self.blocks.iter().map(|b| b.qk).collect::<Vec<_>>(),
            "V": self.blocks.iter().map(|b| b.v).collect::<Vec<_>>(),
            "MLP": self.blocks.iter().map(|b| b.mlp).collect::<Vec<_>>(),
        })
    }
}

/// Multiply-accumulates of one block by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlockMacs {
    /// QKV projection.
    pub qkv: usize,
    /// `Q K^T` and `softmax V` over all heads.
    pub attention: usize,
    /// Output projection.
    pub proj: usize,
    /// FC1 + FC2.
    pub mlp: usize,
}

impl BlockMacs {
    /// Sum over kinds.
    pub fn total(&self) -> usize {
        self.qkv + self.attention + self.proj + self.mlp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DeiT-Tiny: E=192, 12 blocks x 3 heads of 64, MLP 768, 224/16 patches, distilled.
    pub(crate) fn deit_tiny() -> ModelShape {
        ModelShape {
            embed: 192,
            blocks: vec![BlockShape { heads: 3, qk: 64, v: 64, mlp: 768 }; 12],
            img_size: 224,
            patch_size: 16,
            in_chans: 3,
            num_classes: 1000,
            distilled: true,
            selectors: vec![],
            attn_scale: 0.125,
            ln_eps: 1e-6,
            input: InputSpec { pixel_max: 255, pixel_scale: 1.0 / 255.0, mean: vec![0.5; 3], std: vec![0.5; 3] },
        }
    }

    #[test]
    fn deit_tiny_matches_published_size() {
        let m = deit_tiny();
        m.validate().unwrap();
        assert_eq!(m.tokens(), 198);
        // DeiT-Tiny (distilled) has 5.91 M parameters and ~1.3 GMACs (DeiT paper, Table 1 / timm).
        let p = m.params() as f64 / 1e6;
        assert!((p - 5.91).abs() < 0.02, "params {p} M");
        let g = m.macs_dense() as f64 / 1e9;
        assert!((1.25..1.30).contains(&g), "GMACs {g}");
    }

    #[test]
    fn validation_rejects_broken_shapes() {
        let mut m = deit_tiny();
        m.patch_size = 15;
        assert!(m.validate().is_err());
        let mut m = deit_tiny();
        m.selectors = vec![SelectorShape { block: 12, heads: 3, hidden1: 32, hidden2: 16, head_hidden: 1 }];
        assert!(m.validate().is_err());
        let mut m = deit_tiny();
        m.selectors = vec![SelectorShape { block: 3, heads: 5, hidden1: 32, hidden2: 16, head_hidden: 2 }];
        assert!(m.validate().is_err(), "192 is not divisible by 5");
        let mut m = deit_tiny();
        m.blocks[4].heads = 0;
        assert!(m.validate().is_err());
    }

    /// The error message of `m`, which must be invalid.
    fn invalid(m: &ModelShape) -> String {
        m.validate().expect_err("invalid shape").0
    }

    #[test]
    fn every_scalar_is_checked_and_named() {
        type Edit = fn(&mut ModelShape);
        let cases: [(Edit, &str); 19] = [
            (|m| m.ln_eps = -1.0, "ln_eps = -1"),
            (|m| m.ln_eps = 0.0, "ln_eps = 0"),
            (|m| m.ln_eps = f64::NAN, "ln_eps = NaN"),
            (|m| m.ln_eps = f64::INFINITY, "ln_eps = inf"),
            (|m| m.attn_scale = 0.0, "attn_scale = 0"),
            (|m| m.attn_scale = -0.125, "attn_scale = -0.125"),
            (|m| m.attn_scale = f64::NAN, "attn_scale = NaN"),
            (|m| m.attn_scale = f64::INFINITY, "attn_scale = inf"),
            (|m| m.input.pixel_max = 0, "pixel_max = 0"),
            (|m| m.input.pixel_max = 256, "pixel_max = 256"),
            (|m| m.input.pixel_scale = 0.0, "pixel_scale = 0"),
            (|m| m.input.pixel_scale = f64::NAN, "pixel_scale = NaN"),
            (|m| m.input.std[1] = 0.0, "input.std[1] = 0"),
            (|m| m.input.std[2] = f64::NEG_INFINITY, "input.std[2] = -inf"),
            (|m| m.input.mean[0] = f64::NAN, "input.mean[0] = NaN"),
            (|m| m.input.mean.truncate(2), "input.mean has 2"),
            (|m| m.num_classes = 0, "num_classes = 0"),
            (|m| m.blocks[2].mlp = 0, "block 2: mlp = 0"),
            (|m| m.in_chans = 0, "in_chans = 0"),
        ];
        for (edit, needle) in cases {
            let mut m = deit_tiny();
            edit(&mut m);
            let e = invalid(&m);
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
        let mut m = deit_tiny();
        m.ln_eps = 1e-12;
        m.input.pixel_max = 1;
        m.validate().unwrap();
    }

    #[test]
    fn sizes_that_would_overflow_are_refused() {
        let mut m = deit_tiny();
        m.blocks[0] = BlockShape { heads: 1 << 16, qk: 1 << 16, v: 1 << 16, mlp: 1 };
        assert!(invalid(&m).contains("block 0: QKV width"));
        let mut m = deit_tiny();
        m.blocks[0].qk = (1 << 16) + 1;
        assert!(invalid(&m).contains("block 0: qk = 65537"));
        let mut m = deit_tiny();
        m.blocks = vec![m.blocks[0]; 1025];
        assert!(invalid(&m).contains("blocks = 1025"));
        let mut m = deit_tiny();
        m.selectors = vec![SelectorShape { block: 3, heads: 3, hidden1: 1 << 15, hidden2: 16, head_hidden: 1 }];
        assert!(invalid(&m).contains("heads x hidden1 = 3 x 32768"));
        m.selectors[0].hidden1 = usize::MAX;
        assert!(invalid(&m).contains("hidden1"));
        let mut m = deit_tiny();
        m.in_chans = 3;
        m.patch_size = 224;
        m.img_size = 224;
        assert!(invalid(&m).contains("patch length"));
        let mut m = deit_tiny();
        m.selectors = vec![
            SelectorShape { block: 5, heads: 3, hidden1: 32, hidden2: 16, head_hidden: 1 },
            SelectorShape { block: 5, heads: 3, hidden1: 32, hidden2: 16, head_hidden: 1 },
        ];
        assert!(invalid(&m).contains("sorted by block"));
    }

    #[test]
    fn pruning_tokens_reduces_macs() {
        let m = deit_tiny();
        let dense = m.macs_dense();
        let pruned = m.macs(&[198, 198, 198, 120, 120, 120, 73, 73, 73, 27, 27, 27]);
        assert!(pruned < dense * 7 / 10);
    }
}

//! Sizes and scratchpad places every emit step shares (see the bank plan in the module
//! documentation of [`super`]).

use spec::{AccelConfig, ModelShape};

/// `v` rounded up to a multiple of `to`.
pub(super) fn pad(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

/// The model's sizes in words of the configuration, and where the shared tensors live.
pub(super) struct Layout {
    /// Array rows R (bytes per scratchpad word).
    pub r: usize,
    /// Array columns C.
    pub c: usize,
    /// Bytes per word in DRAM.
    pub word_bytes: usize,
    /// Tokens entering block 0 (`T`, class/distillation tokens included).
    pub tokens: usize,
    /// Prefix (class/distillation) tokens.
    pub prefix: usize,
    /// Embedding width E.
    pub embed: usize,
    /// Words per residual (and GEMM input) row: `ceil(E/R)`.
    pub e_w: usize,
    /// Words per attention score row: `ceil(T/R)`.
    pub t_w: usize,
    /// Classes.
    pub classes: usize,
    /// Words of the logits row: `ceil(classes/R)`.
    pub cls_w: usize,
    /// Word of the logits row in banks XL/XH (after the `T` residual rows and the selector's
    /// package scratch row).
    pub logits_at: usize,
    /// Word of block 0's token mask in bank O (after the widest attention output).
    pub masks_at: usize,
    /// Words per token-mask (and token-index) row: `ceil((T+1)/R)`.
    pub mask_w: usize,
    /// Transformer blocks.
    pub blocks: usize,
}

impl Layout {
    /// The layout of `sh` on `cfg`.
    pub fn new(sh: &ModelShape, cfg: &AccelConfig) -> Self {
        let (r, c) = (cfg.array_rows, cfg.array_cols);
        let t = sh.tokens();
        let e_w = sh.embed.div_ceil(r);
        let v_w_max = sh.blocks.iter().map(|bs| (bs.heads * pad(bs.v, c)).div_ceil(r)).max().unwrap_or(0);
        Layout {
            r,
            c,
            word_bytes: cfg.word_bytes(),
            tokens: t,
            prefix: sh.prefix_tokens(),
            embed: sh.embed,
            e_w,
            t_w: t.div_ceil(r),
            classes: sh.num_classes,
            cls_w: sh.num_classes.div_ceil(r),
            logits_at: (t + 1) * e_w,
            masks_at: t * v_w_max,
            mask_w: (t + 1).div_ceil(r),
            blocks: sh.blocks.len(),
        }
    }

    /// Words that hold `n` bytes.
    pub fn words(&self, n: usize) -> usize {
        n.div_ceil(self.r)
    }

    /// Word of block `b`'s token mask in bank O.
    pub fn mask_at(&self, b: usize) -> usize {
        self.masks_at + b * self.mask_w
    }

    /// Word of the token-index rows (low, high byte plane) and the live count in bank O, after
    /// every block's mask.
    pub fn indices_at(&self) -> usize {
        self.mask_at(self.blocks)
    }
}
